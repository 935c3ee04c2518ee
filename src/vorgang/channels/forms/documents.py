"""The documents of a service as the form shows them, and the files the citizen chose.

The entries are those of ``vorgang.catalogue.validation`` (``key``, ``name_de``/``name_en``,
``description_de``/``description_en``, ``accept``, ``max_bytes``, ``required``). The
catalogue's ``submit`` checks types and sizes; the form only refuses files larger than
their document allows before reading them, so a huge upload is never held in memory.
"""

from __future__ import annotations

import mimetypes
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.http import HttpRequest

from vorgang.catalogue.validation import human_size

FILE_PREFIX = "document."

# Names people know for the usual types; anything else is named by its extension.
_TYPE_NAMES = {
    "application/pdf": "PDF",
    "image/jpeg": "JPEG",
    "image/png": "PNG",
    "image/gif": "GIF",
    "image/tiff": "TIFF",
    "image/heic": "HEIC",
    "image/webp": "WebP",
    "application/msword": "Word",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "Word",
    "application/vnd.oasis.opendocument.text": "ODT",
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".tif": "TIFF",
    ".tiff": "TIFF",
    ".docx": "Word",
    ".doc": "Word",
}


def type_names(accept: list[str]) -> str:
    names: list[str] = []
    for item in accept:
        item = item.strip().lower()
        name = _TYPE_NAMES.get(item)
        if name is None:
            if item.startswith("."):
                name = item[1:].upper()
            else:
                ext = mimetypes.guess_extension(item) or ""
                name = ext[1:].upper() if ext else item
        if name not in names:
            names.append(name)
    return ", ".join(names)


@dataclass
class DocumentField:
    key: str
    label: str
    help: str
    accept_list: list[str]
    max_bytes: int
    required: bool
    language: str
    errors: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return FILE_PREFIX + self.key

    @property
    def id(self) -> str:
        return "doc-" + self.key

    @property
    def error_id(self) -> str:
        return self.id + "-error"

    @property
    def focus_id(self) -> str:
        return self.id

    @property
    def accept(self) -> str:
        return ",".join(self.accept_list)

    @property
    def types(self) -> str:
        return type_names(self.accept_list)

    @property
    def max_words(self) -> str:
        return human_size(self.max_bytes, self.language) if self.max_bytes else ""


def document_fields(service: Any, language: str) -> list[DocumentField]:
    lang = "en" if language.startswith("en") else "de"
    entries = service.documents if isinstance(service.documents, list) else []
    found = []
    for entry in entries:
        if not isinstance(entry, Mapping) or not isinstance(entry.get("key"), str):
            continue
        accept = entry.get("accept")
        max_bytes = entry.get("max_bytes")
        found.append(
            DocumentField(
                key=entry["key"],
                label=str(entry.get(f"name_{lang}") or entry.get("name_de") or entry["key"]),
                help=str(entry.get(f"description_{lang}") or entry.get("description_de") or ""),
                accept_list=[str(a) for a in accept] if isinstance(accept, list) else [],
                max_bytes=max_bytes if isinstance(max_bytes, int) and max_bytes > 0 else 0,
                required=entry.get("required") is True,
                language=lang,
            )
        )
    return found


@dataclass(frozen=True)
class ChosenFile:
    document_key: str
    upload: UploadedFile

    @property
    def filename(self) -> str:
        return os.path.basename((self.upload.name or "").replace("\\", "/")) or "file"

    @property
    def size(self) -> int:
        return int(self.upload.size or 0)


def chosen_files(request: HttpRequest, documents: list[DocumentField]) -> list[ChosenFile]:
    """The files chosen for the service's documents (other file fields are ignored)."""
    found = []
    for doc in documents:
        for upload in request.FILES.getlist(doc.name):
            found.append(ChosenFile(doc.key, upload))
    return found
