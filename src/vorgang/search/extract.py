"""Text from attachments (PDF, plain text), extracted once per blob and kept.

Bounded on every side, because attachments come from anyone who can send a mail:
at most ``MAX_INPUT_BYTES`` are read, ``MAX_PAGES`` pages, ``MAX_CHARS`` characters
kept, and extraction stops after ``MAX_SECONDS`` (checked between pages; pypdf is
pure Python, so a single pathological page can still overrun a little). Failures
are logged with the blob id and the exception type only, never the content or the
file name (both may carry citizen data).
"""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Iterable

from charset_normalizer import from_bytes

from vorgang.tickets.models import Blob

from . import text
from .models import AttachmentText

log = logging.getLogger(__name__)
# pypdf warns about every malformed object it repairs; that is noise, not news.
logging.getLogger("pypdf").setLevel(logging.ERROR)

MAX_INPUT_BYTES = 25 * 1024 * 1024
MAX_PAGES = 200
MAX_CHARS = 1_000_000
MAX_SECONDS = 10.0
# How far into the file the "%PDF-" header may start (as Acrobat allows).
_PDF_HEADER_WINDOW = 1024

_TEXT_TYPES = ("text/plain", "text/csv", "text/markdown", "text/html")


def kind_of(content_type: str, filename: str) -> str | None:
    """``pdf``, ``text``, ``html`` or None (not extracted) for an attachment."""
    ctype = (content_type or "").split(";")[0].strip().lower()
    name = (filename or "").lower()
    if ctype == "application/pdf" or name.endswith(".pdf"):
        return "pdf"
    if ctype == "text/html" or name.endswith((".html", ".htm")):
        return "html"
    if ctype in _TEXT_TYPES or name.endswith((".txt", ".csv", ".md")):
        return "text"
    return None


def extract(content: bytes, kind: str) -> tuple[str, str]:
    """(text, error): the text of ``content``, or "" and a short reason."""
    if len(content) > MAX_INPUT_BYTES:
        return "", "too large"
    try:
        if kind == "pdf":
            return _pdf(content)
        decoded = _decode(content[: MAX_CHARS * 4])
        if kind == "html":
            decoded = text.html_to_text(decoded)
        return decoded[:MAX_CHARS], ""
    except Exception as exc:  # a broken file must not stop indexing
        return "", type(exc).__name__[:200]


def _decode(content: bytes) -> str:
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        best = from_bytes(content).best()
        return str(best) if best is not None else content.decode("latin-1")


def _pdf(content: bytes) -> tuple[str, str]:
    from pypdf import PdfReader

    # A PDF starts with "%PDF-" (readers allow some bytes before it). Without it the
    # file is something else under a PDF name, and pypdf would scan it for objects
    # anyway: some 20 ms for 200 KB of random bytes, for no text.
    if b"%PDF-" not in content[:_PDF_HEADER_WINDOW]:
        return "", "not a PDF"
    deadline = time.monotonic() + MAX_SECONDS
    reader = PdfReader(io.BytesIO(content))
    if reader.is_encrypted:
        return "", "encrypted"
    parts: list[str] = []
    size = 0
    for number, page in enumerate(reader.pages):
        if number >= MAX_PAGES or size >= MAX_CHARS:
            break
        if time.monotonic() > deadline:
            return "".join(parts)[:MAX_CHARS], "timeout"
        page_text = page.extract_text() or ""
        parts.append(page_text)
        parts.append("\n")
        size += len(page_text) + 1
    return "".join(parts)[:MAX_CHARS], ""


def ensure(attachments: Iterable[tuple[int, str, str]]) -> int:
    """Extract the text of every (blob id, content type, file name) not extracted yet.

    Returns how many blobs were extracted. Safe to run twice and in parallel: a blob
    extracted meanwhile by another process is simply kept.
    """
    wanted: dict[int, str] = {}
    for blob_id, content_type, filename in attachments:
        kind = kind_of(content_type, filename)
        if kind is not None:
            wanted.setdefault(blob_id, kind)
    if not wanted:
        return 0
    done = set(AttachmentText.objects.filter(blob_id__in=wanted).values_list("blob_id", flat=True))
    count = 0
    for blob in Blob.objects.filter(pk__in=[b for b in wanted if b not in done]):
        started = time.monotonic()
        try:
            content = blob.read() if blob.size <= MAX_INPUT_BYTES else b""
            found, error = extract(content, wanted[blob.pk]) if content else ("", "too large")
        except OSError as exc:  # the stored file is missing or unreadable
            found, error = "", type(exc).__name__
        if error:
            log.warning(
                "attachment text of blob %s: %s after %.1f s",
                blob.pk,
                error,
                time.monotonic() - started,
            )
        AttachmentText.objects.update_or_create(
            blob_id=blob.pk, defaults={"text": found.replace("\x00", " "), "error": error}
        )
        count += 1
    return count
