"""Reading Zammad-style request bodies: JSON with base64 attachments, loose types.

Zammad clients send ids as numbers or strings, booleans as ``true`` or ``"true"`` and
tags as a list or a comma-separated string; these helpers accept what Zammad accepts
and answer anything else with a 422 that names the field. Bodies that may carry
attachments are read here with their own limit (the mail size limit in base64), not
with ``DATA_UPLOAD_MAX_MEMORY_SIZE``, which would refuse any real scan.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _

from vorgang.core.errors import InvalidInput, ServiceError
from vorgang.tickets.services import AttachmentInput

MAX_ATTACHMENTS = 100
MAX_FILENAME = 255


class TooLarge(ServiceError):
    """The request or its attachments exceed a size limit."""

    status = 413


def mail_max_bytes() -> int:
    return int(getattr(settings, "VORGANG_MAIL_MAX_BYTES", 25 * 1024 * 1024))


def body_limit() -> int:
    """The largest body taken where attachments may come: all of them in base64, plus 1 MB."""
    return math.ceil(mail_max_bytes() / 3) * 4 + 1024 * 1024


def human_size(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MB"
    if size >= 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size} B"


def read_json(request: Any, limit: int | None = None) -> dict[str, Any]:
    """The body as a JSON object; 413 over ``limit`` bytes, 422 when it is not JSON."""
    limit = body_limit() if limit is None else limit
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise InvalidInput(_("The Content-Length header is not a number.")) from None
    if declared > limit:
        _drain(request)
        raise TooLarge(
            _("The request is too large (%(size)s); at most %(limit)s are taken.")
            % {"size": human_size(declared), "limit": human_size(limit)}
        )
    raw = request.read(limit + 1)
    if len(raw) > limit:
        _drain(request)
        raise TooLarge(
            _("The request is too large; at most %(limit)s are taken.")
            % {"limit": human_size(limit)}
        )
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            _("The request body is not valid JSON (line %(line)s, column %(column)s: %(msg)s).")
            % {"line": exc.lineno, "column": exc.colno, "msg": exc.msg}
        ) from None
    except UnicodeDecodeError:
        raise InvalidInput(_("The request body is not UTF-8 text.")) from None
    if not isinstance(data, dict):
        raise InvalidInput(_("The request body must be a JSON object."))
    return data


def _drain(request: Any) -> None:
    """Read and drop the rest of the body, so the connection can carry the next request."""
    try:
        while request.read(1 << 16):
            pass
    except Exception:  # a broken stream: nothing more to keep alive
        return


# --- loose values ----------------------------------------------------------------------------


def text(data: Mapping[str, Any], name: str, default: str = "", *, max_len: int = 0) -> str:
    value = data.get(name, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise InvalidInput(_("%(field)s must be text.") % {"field": name})
    result = str(value)
    if max_len and len(result) > max_len:
        raise InvalidInput(
            _("%(field)s is too long (at most %(max)s characters).")
            % {"field": name, "max": max_len}
        )
    return result


def flag(data: Mapping[str, Any], name: str, default: bool = False) -> bool:
    value = data.get(name, default)
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in {"true", "false", "1", "0", ""}:
        return value.strip().lower() in {"true", "1"}
    raise InvalidInput(_("%(field)s must be true or false.") % {"field": name})


def whole_number(value: Any, name: str) -> int:
    """An id given as a number or as digits in a string."""
    if isinstance(value, bool):
        raise InvalidInput(_("%(field)s must be a whole number.") % {"field": name})
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    raise InvalidInput(_("%(field)s must be a whole number.") % {"field": name})


def name_list(value: Any, name: str) -> list[str]:
    """A list of names, or one comma-separated string of them (Zammad's ``tags``)."""
    if value is None:
        return []
    if isinstance(value, str):
        items: list[Any] = value.split(",")
    elif isinstance(value, list):
        items = value
    else:
        raise InvalidInput(
            _("%(field)s must be a list or a comma-separated text.") % {"field": name}
        )
    names: list[str] = []
    for item in items:
        if not isinstance(item, str | int) or isinstance(item, bool):
            raise InvalidInput(_("%(field)s may only hold names.") % {"field": name})
        cleaned = " ".join(str(item).split())
        if cleaned and cleaned not in names:
            names.append(cleaned)
    return names


# --- attachments ------------------------------------------------------------------------------


def attachments(value: Any, where: str = "attachments") -> list[AttachmentInput]:
    """``[{filename, data (base64), mime-type}]`` decoded; 422 naming the bad one, 413 too big."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidInput(_("%(field)s must be a list.") % {"field": where})
    if len(value) > MAX_ATTACHMENTS:
        raise InvalidInput(
            _("At most %(count)s attachments per message.") % {"count": MAX_ATTACHMENTS}
        )
    limit = mail_max_bytes()
    total = 0
    decoded: list[AttachmentInput] = []
    for index, item in enumerate(value):
        field = f"{where}.{index}"
        if not isinstance(item, dict):
            raise InvalidInput(_("%(field)s must be an object.") % {"field": field})
        filename = item.get("filename")
        if not isinstance(filename, str) or not filename.strip():
            raise InvalidInput(_("%(field)s needs a filename.") % {"field": field})
        encoded = item.get("data")
        if not isinstance(encoded, str):
            raise InvalidInput(
                _("%(field)s needs its content as base64 text in data.") % {"field": field}
            )
        mime = item.get("mime-type", item.get("mime_type", item.get("content_type")))
        if mime is not None and not isinstance(mime, str):
            raise InvalidInput(_("%(field)s.mime-type must be text.") % {"field": field})
        compact = "".join(encoded.split())
        total += len(compact) * 3 // 4
        if total > limit:
            raise TooLarge(
                _("The attachments are too large: together at most %(limit)s.")
                % {"limit": human_size(limit)}
            )
        try:
            content = base64.b64decode(compact, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidInput(
                _("%(field)s.data is not valid base64.") % {"field": field}
            ) from None
        decoded.append(
            AttachmentInput(
                filename=filename.strip()[:MAX_FILENAME],
                content=content,
                content_type=_mime(mime),
            )
        )
    return decoded


def _mime(value: str | None) -> str:
    """A plausible ``type/subtype``; anything else becomes application/octet-stream."""
    value = (value or "").split(";")[0].strip().lower()
    kind, slash, sub = value.partition("/")
    if not slash or not kind or not sub or any(c.isspace() for c in value) or len(value) > 100:
        return "application/octet-stream"
    return value
