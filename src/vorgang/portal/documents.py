"""The documents a service asks for, read from ``OnlineService.documents``, and upload checks.

A service lists its documents as JSON objects. This module reads the usual
spellings so that the catalogue's format can grow without breaking the case page::

    {"key": "passport", "name_de": "Reisepass", "name_en": "Passport",
     "description_de": "...", "description_en": "...",
     "accept": ["application/pdf", ".jpg"], "max_size": 10485760}

(``key`` may also be ``id`` or ``slug``; ``name`` may be a string or
``{"de": ..., "en": ...}``; ``accept`` may be ``types``, ``file_types`` or
``mime_types``, a list or a comma-separated string; ``max_size``/``max_bytes`` in
bytes or ``max_size_mb``/``max_mb`` in megabytes.)
"""

from __future__ import annotations

import mimetypes
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.utils.translation import get_language
from django.utils.translation import gettext as _

MB = 1024 * 1024

# What an extension or a MIME type in ``accept`` stands for, for the check and the hint.
_KNOWN: dict[str, tuple[str, ...]] = {
    "application/pdf": (".pdf",),
    "image/jpeg": (".jpg", ".jpeg"),
    "image/png": (".png",),
    "image/gif": (".gif",),
    "image/tiff": (".tif", ".tiff"),
    "image/heic": (".heic",),
    "image/webp": (".webp",),
}
# The first bytes of the file types we can recognise; a file whose name says PDF must be one.
_MAGIC: dict[str, tuple[bytes, ...]] = {
    ".pdf": (b"%PDF-",),
    ".png": (b"\x89PNG\r\n\x1a\n",),
    ".jpg": (b"\xff\xd8\xff",),
    ".jpeg": (b"\xff\xd8\xff",),
    ".gif": (b"GIF87a", b"GIF89a"),
    ".tif": (b"II*\x00", b"MM\x00*"),
    ".tiff": (b"II*\x00", b"MM\x00*"),
}


def max_upload_bytes() -> int:
    """The limit for all files of one message together (and for a document without its own)."""
    return int(getattr(settings, "VORGANG_PORTAL_MAX_UPLOAD_BYTES", 25 * MB))


def _text(value: Any, language: str) -> str:
    if isinstance(value, dict):
        chosen = value.get(language) or value.get("de") or value.get("en") or ""
        return str(chosen)
    return "" if value is None else str(value)


def _localised(item: dict[str, Any], name: str, language: str) -> str:
    other = "en" if language == "de" else "de"
    for key in (f"{name}_{language}", name, f"{name}_{other}"):
        if item.get(key):
            return _text(item[key], language)
    return ""


def _extensions(accept: Iterable[str]) -> tuple[str, ...]:
    found: list[str] = []
    for entry in accept:
        entry = entry.strip().lower()
        if not entry:
            continue
        if entry.startswith("."):
            candidates: tuple[str, ...] = (entry,)
        elif "/" in entry:
            candidates = _KNOWN.get(entry) or tuple(mimetypes.guess_all_extensions(entry))
        else:
            candidates = ("." + entry,)
        for ext in candidates:
            if ext not in found:
                found.append(ext)
    return tuple(found)


@dataclass(frozen=True)
class Document:
    key: str
    name: str
    description: str = ""
    extensions: tuple[str, ...] = field(default_factory=tuple)  # empty: any type
    max_bytes: int = 0  # 0: the general limit

    @property
    def limit(self) -> int:
        return min(self.max_bytes, max_upload_bytes()) if self.max_bytes else max_upload_bytes()

    @property
    def accept_attr(self) -> str:
        return ",".join(self.extensions)

    @property
    def types_label(self) -> str:
        return ", ".join(ext.lstrip(".").upper() for ext in self.extensions)


def _size(item: dict[str, Any]) -> int:
    for key in ("max_size", "max_bytes"):
        value = item.get(key)
        if isinstance(value, int | float) and value > 0:
            return int(value)
    for key in ("max_size_mb", "max_mb"):
        value = item.get(key)
        if isinstance(value, int | float) and value > 0:
            return int(value * MB)
    return 0


def _accept(item: dict[str, Any]) -> list[str]:
    for key in ("accept", "types", "file_types", "mime_types", "accepted_types"):
        value = item.get(key)
        if isinstance(value, str):
            return [v for v in value.split(",") if v.strip()]
        if isinstance(value, list):
            return [str(v) for v in value]
    return []


def service_documents(service: Any, language: str | None = None) -> list[Document]:
    """The documents a service names, in the given (else the active) language."""
    language = (language or get_language() or "de")[:2]
    raw = getattr(service, "documents", None) if service is not None else None
    if not isinstance(raw, list):
        return []
    found: list[Document] = []
    seen: set[str] = set()
    for index, item in enumerate(raw, start=1):
        if isinstance(item, str):
            item = {"key": item, "name": item}
        if not isinstance(item, dict):
            continue
        key = str(item.get("key") or item.get("id") or item.get("slug") or f"document-{index}")
        if key in seen:
            continue
        seen.add(key)
        found.append(
            Document(
                key=key[:100],
                name=_localised(item, "name", language)
                or _localised(item, "label", language)
                or key,
                description=_localised(item, "description", language),
                extensions=_extensions(_accept(item)),
                max_bytes=_size(item),
            )
        )
    return found


def megabytes(size: int) -> str:
    value = size / MB
    return f"{value:.0f} MB" if value >= 1 else f"{max(size // 1024, 1)} KB"


@dataclass(frozen=True)
class Upload:
    filename: str
    content: bytes
    content_type: str


def content_type_for(filename: str) -> str:
    """From the name, not from what the browser says (which the sender controls)."""
    return mimetypes.guess_type(filename)[0] or "application/octet-stream"


def check_file(upload: Upload, document: Document | None) -> str:
    """An error message for the citizen, or "" when the file may be taken."""
    name = os.path.basename(upload.filename.replace("\\", "/")) or "?"
    limit = document.limit if document is not None else max_upload_bytes()
    if not upload.content:
        return _("The file “%(name)s” is empty.") % {"name": name}
    if len(upload.content) > limit:
        return _("The file “%(name)s” is too large. It may have at most %(size)s.") % {
            "name": name,
            "size": megabytes(limit),
        }
    ext = os.path.splitext(name)[1].lower()
    if document is not None and document.extensions and ext not in document.extensions:
        return _(
            "The file “%(name)s” has a type we cannot accept here. Allowed are: %(types)s."
        ) % {"name": name, "types": document.types_label}
    magic = _MAGIC.get(ext)
    if magic is not None and not upload.content.startswith(magic):
        return _(
            "The file “%(name)s” is not a real %(type)s file. Please check the file and "
            "choose it again."
        ) % {"name": name, "type": ext.lstrip(".").upper()}
    return ""
