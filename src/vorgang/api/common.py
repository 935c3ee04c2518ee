"""Shapes shared by every API module: Zammad's timestamps, paging, errors, ignored fields.

Zammad clients depend on these details (``zammad-py`` pages until it gets ``[]``;
timestamps are UTC with milliseconds and ``Z``), so they are written once here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse

from vorgang.core.errors import InvalidInput

DEFAULT_PER_PAGE = 100
MAX_PER_PAGE = 500
IGNORED_FIELDS_HEADER = "X-Vorgang-Ignored-Fields"


def ts(value: datetime | None) -> str | None:
    """UTC with milliseconds and Z, as Zammad writes timestamps."""
    if value is None:
        return None
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def page_args(request: HttpRequest) -> tuple[int, int]:
    """``page`` (from 1) and ``per_page`` (1..MAX_PER_PAGE) from the query string."""
    try:
        page = int(request.GET.get("page", "1"))
        per_page = int(request.GET.get("per_page", str(DEFAULT_PER_PAGE)))
    except ValueError:
        raise InvalidInput("page and per_page must be whole numbers.") from None
    if page < 1 or per_page < 1:
        raise InvalidInput("page and per_page must be 1 or more.")
    return page, min(per_page, MAX_PER_PAGE)


def paginate(request: HttpRequest, items: QuerySet[Any] | Sequence[Any]) -> list[Any]:
    """One page of ``items``; past the end an empty list, as Zammad answers."""
    page, per_page = page_args(request)
    start = (page - 1) * per_page
    return list(items[start : start + per_page])


def want_expand(request: HttpRequest) -> bool:
    return request.GET.get("expand", "").lower() in {"1", "true", "yes"}


def error_response(status: int, error: str, human: str | None = None) -> JsonResponse:
    """Zammad's error body: ``{"error": ..., "error_human": ...}``."""
    return JsonResponse({"error": error, "error_human": human or error}, status=status)


def json_body(request: HttpRequest) -> dict[str, Any]:
    """The request body as a JSON object, or a 422 that says what is wrong with it."""
    import json

    if not request.body:
        return {}
    try:
        data = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput("The request body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise InvalidInput("The request body must be a JSON object.")
    return data


# Header-safe: printable ASCII except the separator and the escape character itself.
_HEADER_SAFE = "".join(chr(c) for c in range(0x20, 0x7F) if chr(c) not in ",%")
MAX_IGNORED_NAMES = 50
MAX_IGNORED_NAME = 100


def mark_ignored(response: HttpResponse, fields: Iterable[str]) -> HttpResponse:
    """Name the fields the API did not know (Zammad ignores them silently; we say so).

    The names come from the client, so anything outside printable ASCII (and ``,``
    and ``%``) is percent-encoded as UTF-8: a header cannot carry a newline or ``ü``.
    At most 50 names of at most 100 characters; ``...`` says that more were left out.
    """
    names = sorted({quote(name[:MAX_IGNORED_NAME], safe=_HEADER_SAFE) for name in fields})
    if len(names) > MAX_IGNORED_NAMES:
        names = [*names[:MAX_IGNORED_NAMES], "..."]
    if names:
        response[IGNORED_FIELDS_HEADER] = ", ".join(names)
    return response
