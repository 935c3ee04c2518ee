"""Reading typed values out of a JSON body or a query string, with a clear 422.

The Zammad-compatible endpoints take free-form JSON (names in place of ids, unknown
fields ignored and named in a header), so they read the body as a dict and check
each field here instead of through one fixed schema.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Schema
from pydantic import BaseModel, ConfigDict

from vorgang.core.errors import InvalidInput

from .common import json_body


class ZammadOut(BaseModel):
    """A response object; fields added by ``expand=true`` pass through.

    A plain pydantic model, not a ninja ``Schema``: Schema reads its input through
    attribute access, which drops the extra keys.
    """

    model_config = ConfigDict(extra="allow")


class ErrorOut(Schema):
    error: str
    error_human: str


ERRORS: dict[int, type[BaseModel]] = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut}


def text(data: dict[str, Any], key: str) -> str | None:
    """A string field, or None when absent (JSON null counts as absent)."""
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInput(_("%(field)s must be text.") % {"field": key})
    return value


def boolean(data: dict[str, Any], key: str) -> bool | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, bool):
        raise InvalidInput(_("%(field)s must be true or false.") % {"field": key})
    return value


def integer(value: Any, key: str) -> int:
    """A whole number given as a number or as digits in a string."""
    if isinstance(value, bool):
        raise InvalidInput(_("%(field)s must be a whole number.") % {"field": key})
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    raise InvalidInput(_("%(field)s must be a whole number.") % {"field": key})


def required_integer(data: dict[str, Any], key: str) -> int:
    if data.get(key) in (None, ""):
        raise InvalidInput(_("%(field)s is missing.") % {"field": key})
    return integer(data[key], key)


def required_text(data: dict[str, Any], key: str) -> str:
    value = text(data, key)
    if value is None or not value.strip():
        raise InvalidInput(_("%(field)s is missing.") % {"field": key})
    return value


def params(request: HttpRequest) -> dict[str, Any]:
    """JSON body fields, falling back to form fields and query parameters.

    Zammad reads ``params`` from any of these; older clients and scripts send tags and
    links as form or query parameters rather than as JSON.
    """
    if request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        body: dict[str, Any] = {key: request.POST.get(key) for key in request.POST}
    else:
        body = json_body(request)
    merged: dict[str, Any] = {key: request.GET.get(key) for key in request.GET}
    merged.update(body)
    return merged


def limit(request: HttpRequest, default: int, maximum: int) -> int:
    raw = request.GET.get("limit")
    if raw in (None, ""):
        return default
    value = integer(raw, "limit")
    if value < 1:
        raise InvalidInput(_("limit must be 1 or more."))
    return min(value, maximum)
