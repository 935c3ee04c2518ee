"""The MIME structure of a message, kept as exact byte spans.

Header blocks are split by the rules of RFC 5322 (tolerating a missing blank
line, broken folding and an mbox ``From`` line); parameters of Content-Type and
Content-Disposition are read with the stdlib (``email.message.Message`` with
the tolerant compat32 parsing, which also collapses RFC 2231 continuations).
Multipart bodies are split on their boundary here, over bytes, so every part
keeps its exact original bytes: an attached ``message/rfc822`` is stored byte
for byte, and a part with an unknown Content-Transfer-Encoding is kept raw.

Nesting is bounded by ``max_depth``; a multipart nested deeper is kept whole
as a leaf (the parser turns it into an ``.eml`` attachment), so no input can
cause deep recursion.
"""

from __future__ import annotations

import binascii
import email.message
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property

from .encoded_words import decode_b64
from .uu import uudecode

_LINE = re.compile(rb"([^\r\n]*)(\r\n|\n|\r)?")
_HEADER_NAME = re.compile(rb"([\x21-\x39\x3b-\x7e]+)[ \t]*:")
_PARAMETER_LINE = re.compile(rb"^[A-Za-z0-9._-]+\*?[0-9]*\*?=")
_UNFOLD = re.compile(rb"\r\n|\r|\n")
_TO_LF = re.compile(rb"\r\n?")
_TO_CRLF = re.compile(rb"\r\n|\r|\n")
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9_:.-]+)""", re.IGNORECASE)
_MIME_TYPE = re.compile(r"^\s*([a-z0-9!#$&^_.+-]+)\s*/\s*([a-z0-9!#$&^_.+-]+)", re.IGNORECASE)


def split_headers(raw: bytes) -> tuple[list[tuple[str, bytes]], bytes]:
    """Split an entity into its header fields and its body.

    Returns ``[(name, raw folded value), ...]`` and the body bytes. The header
    block ends at the first empty line, as in every mail library. Real mail
    breaks the rules inside that block, so:

    * a block without any ``Name: value`` line is no header block: it is body;
    * one or two junk lines before the fields (a forwarding banner) are ignored;
    * an unindented line between fields is a continuation of the field above
      (mailers that fold without indenting, e.g. ``boundary=...``);
    * lines after the last field that are not parameters start the body
      (a missing empty line between header and body).
    """
    lines: list[tuple[bytes, int]] = []  # (content, offset after the line)
    pos = 0
    size = len(raw)
    body_start = size
    first = True
    while pos < size:
        match = _LINE.match(raw, pos)
        assert match is not None  # the pattern matches the empty string
        content, eol = match.group(1), match.group(2)
        if not content and eol:
            body_start = match.end()
            break
        if first and content.startswith(b"From ") and not _HEADER_NAME.match(content):
            first = False
            pos = match.end()
            continue  # mbox separator line
        first = False
        lines.append((content, match.end()))
        pos = match.end()
        if not eol:
            break
    field_lines = [
        index
        for index, (content, _end) in enumerate(lines)
        if content[:1] not in (b" ", b"\t") and _HEADER_NAME.match(content)
    ]
    # no field, or prose with a colon somewhere: the whole block is body
    if not field_lines or (field_lines[0] > 0 and (field_lines[0] > 2 or len(field_lines) < 2)):
        return [], raw[_after_mbox_line(raw) :]
    last_field = field_lines[-1]
    end_index = last_field + 1
    while end_index < len(lines):
        content = lines[end_index][0]
        if content[:1] in (b" ", b"\t") or _PARAMETER_LINE.match(content):
            end_index += 1
            continue
        body_start = lines[end_index - 1][1]  # missing empty line: the body starts here
        break
    names: list[str] = []
    values: list[list[bytes]] = []
    for content, _end in lines[:end_index]:
        if content[:1] in (b" ", b"\t"):
            if values:
                values[-1].append(content)
            continue
        name_match = _HEADER_NAME.match(content)
        if name_match:
            names.append(name_match.group(1).decode("ascii"))
            values.append([content[name_match.end() :].lstrip(b" \t")])
        elif values:
            values[-1].append(b" " + content)
    fields = [(name, b"\n".join(parts).rstrip()) for name, parts in zip(names, values, strict=True)]
    return fields, raw[body_start:]


def _after_mbox_line(raw: bytes) -> int:
    if raw.startswith(b"From "):
        match = _LINE.match(raw, 0)
        if match is not None:
            return match.end()
    return 0


def unfold(value: bytes) -> bytes:
    """Remove the line breaks of a folded header value (RFC 5322 2.2.3)."""
    return _UNFOLD.sub(b"", value)


def to_lf(data: bytes) -> bytes:
    return _TO_LF.sub(b"\n", data)


def to_crlf(data: bytes) -> bytes:
    return _TO_CRLF.sub(b"\r\n", data)


def _rfc2231_bytes(text: str) -> bytes:
    """Bytes of an RFC 2231 value as returned by ``email.utils.decode_params``."""
    out = bytearray()
    for char in text:
        code = ord(char)
        if 0xDC80 <= code <= 0xDCFF:
            out.append(code - 0xDC00)
        elif code < 256:
            out.append(code)
        else:
            out.extend(char.encode("utf-8"))
    return bytes(out)


@dataclass(eq=False)  # identity: entities are compared with ``is``
class Entity:
    """One MIME entity (the message itself or a part), with its exact bytes."""

    headers: list[tuple[str, bytes]]
    body: bytes
    raw: bytes
    depth: int = 0
    children: list[Entity] = field(default_factory=list)
    #: a multipart whose children were not parsed because of ``max_depth``
    truncated: bool = False
    #: a multipart whose boundary was missing or never found
    broken_multipart: bool = False
    #: a direct child of a multipart/digest
    in_digest: bool = False
    _param_cache: dict[str, dict[str, tuple[str, str] | str]] = field(
        default_factory=dict, repr=False
    )

    # -- header access -------------------------------------------------------

    def header_bytes(self, name: str) -> bytes | None:
        lowered = name.lower()
        for key, value in self.headers:
            if key.lower() == lowered:
                return value
        return None

    def header_str(self, name: str) -> str:
        """The unfolded raw value as str (8-bit bytes as Latin-1 code points)."""
        value = self.header_bytes(name)
        return "" if value is None else unfold(value).decode("latin-1").strip()

    def _params(self, header: str) -> dict[str, tuple[str, str] | str]:
        """Parameters of Content-Type / Content-Disposition, parsed once.

        compat32 parameter parsing: tolerant, and collapses RFC 2231
        continuations (``filename*0*=...; filename*1*=...``).
        """
        cache = self._param_cache
        if header not in cache:
            params: dict[str, tuple[str, str] | str] = {}
            value = self.header_str(header)
            if value:
                message = email.message.Message()
                message[header] = value
                try:
                    found = message.get_params(header=header) or []
                except Exception:  # stdlib parameter parsing on hostile input
                    found = []
                for index, (name, item) in enumerate(found):
                    if index == 0 and item == "":
                        continue  # the type itself ('attachment', 'text/plain')
                    key = name.lower()
                    if key in params:
                        continue
                    if isinstance(item, tuple):
                        charset, _language, text = item
                        params[key] = (charset or "us-ascii", text)
                    elif isinstance(item, str):
                        params[key] = item
            cache[header] = params
        return cache[header]

    def _param(self, name: str, header: str) -> tuple[str, str] | str | None:
        return self._params(header.lower()).get(name.lower())

    def param_raw(self, name: str, header: str = "content-type") -> tuple[str | None, bytes] | None:
        """A parameter as (declared RFC 2231 charset or None, raw bytes)."""
        value = self._param(name, header)
        if value is None:
            return None
        if isinstance(value, tuple):
            charset, text = value
            # stdlib joined the continuations and percent-decoded into Latin-1 code points
            return charset, _rfc2231_bytes(text)
        return None, _rfc2231_bytes(value)

    def param(self, name: str, header: str = "content-type") -> str | None:
        """A parameter value as str (for boundary, charset and other ASCII values)."""
        from .charsets import decode_bytes

        raw = self.param_raw(name, header)
        if raw is None:
            return None
        charset, data = raw
        if charset is None:
            return data.decode("latin-1")
        return decode_bytes(data, charset, prefer_declared=True)

    # -- MIME properties ----------------------------------------------------

    @cached_property
    def declared_type(self) -> str:
        """The declared mime type, lower case; '' if absent or unreadable."""
        match = _MIME_TYPE.match(self.header_str("Content-Type"))
        if not match:
            return ""
        return f"{match.group(1)}/{match.group(2)}".lower()

    @cached_property
    def content_type(self) -> str:
        """The effective mime type (RFC 2045: text/plain if absent or invalid;
        message/rfc822 inside a multipart/digest, RFC 2046 5.1.5)."""
        declared = self.declared_type
        if not declared:
            return "message/rfc822" if self.in_digest else "text/plain"
        if self.broken_multipart:
            return "text/plain"
        return declared

    @property
    def maintype(self) -> str:
        return self.content_type.split("/", 1)[0]

    @property
    def is_multipart(self) -> bool:
        return bool(self.children) or self.truncated

    @cached_property
    def charset(self) -> str | None:
        value = self.param("charset")
        return value.strip() if value else None

    @cached_property
    def disposition(self) -> str:
        value = self.header_str("Content-Disposition")
        return value.split(";", 1)[0].strip().lower() if value else ""

    @cached_property
    def transfer_encoding(self) -> str:
        return self.header_str("Content-Transfer-Encoding").strip().strip("\"'").lower()

    @cached_property
    def content_id(self) -> str:
        value = self.header_str("Content-ID") or self.header_str("Content-Id")
        value = value.strip()
        if value.startswith("<"):
            value = value[1:]
        if value.endswith(">"):
            value = value[:-1]
        return value.strip()

    # -- payload ------------------------------------------------------------

    @cached_property
    def payload(self) -> bytes:
        """The body with its Content-Transfer-Encoding undone.

        Line endings follow what the mail gem (and so Zammad) produces, so that
        content hashes agree: 7bit/absent give LF; 8bit, binary and the hard
        line breaks of quoted-printable give CRLF (the canonical form on the
        wire); base64 and uuencode give the exact bytes. An unknown
        encoding (e.g. ``Content-Transfer-Encoding: UTF-8``) leaves the body raw.
        """
        if self.truncated:
            return self.body
        cte = self.transfer_encoding
        body = self.body
        if cte == "base64":
            return decode_b64(body)
        if cte == "quoted-printable":
            try:
                return binascii.a2b_qp(to_crlf(body))
            except (binascii.Error, ValueError):
                return to_crlf(body)
        if cte in ("x-uuencode", "uuencode", "x-uue", "uue"):
            decoded = uudecode(body)
            return decoded[0][1] if decoded else b""
        if cte in ("8bit", "binary"):
            return to_crlf(body)
        if cte in ("", "7bit"):
            return to_lf(body)
        return body

    @cached_property
    def text_payload(self) -> str:
        """The payload decoded to text, LF line endings, no NUL characters."""
        from .charsets import decode_bytes

        charset = self.charset
        if charset is None and self.content_type == "text/html":
            meta = _META_CHARSET.search(self.payload[:4096])
            charset = meta.group(1).decode("ascii") if meta else None
        text = decode_bytes(self.payload, charset)
        return text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")

    def walk(self) -> Iterator[Entity]:
        """This entity and all descendants, depth first, in document order."""
        stack: list[Entity] = [self]
        while stack:
            entity = stack.pop()
            yield entity
            stack.extend(reversed(entity.children))


def _split_multipart(body: bytes, boundary: bytes) -> list[bytes] | None:
    """The parts of a multipart body; None if no delimiter line was found.

    A delimiter is ``--boundary`` at the start of a line, optionally followed by
    ``--`` (the close delimiter) and transport padding. The line break before a
    delimiter belongs to the delimiter (RFC 2046 5.1.1). A missing close
    delimiter ends the last part at the end of the body; a close delimiter
    followed by junk still closes.
    """
    marker = b"--" + boundary
    size = len(body)
    parts: list[bytes] = []
    start: int | None = None
    found = False
    pos = 0
    while True:
        index = body.find(marker, pos)
        if index < 0:
            break
        if index > 0 and body[index - 1] not in (0x0A, 0x0D):
            pos = index + 1
            continue
        after = index + len(marker)
        close = body.startswith(b"--", after)
        cursor = after + 2 if close else after
        while cursor < size and body[cursor] in (0x20, 0x09):
            cursor += 1
        if cursor < size and body[cursor] not in (0x0A, 0x0D) and not close:
            pos = index + 1  # '--boundary-more': a longer boundary, not ours
            continue
        if body.startswith(b"\r\n", cursor):
            line_end = cursor + 2
        elif cursor < size and body[cursor] in (0x0A, 0x0D):
            line_end = cursor + 1
        else:
            line_end = cursor if close else size
        found = True
        if start is not None:
            end = index
            if end > start and body[end - 1] == 0x0A:
                end -= 1
                if end > start and body[end - 1] == 0x0D:
                    end -= 1
            elif end > start and body[end - 1] == 0x0D:
                end -= 1
            parts.append(body[start:end])
        if close:
            start = None
            break
        start = line_end
        pos = line_end
    if start is not None:
        parts.append(body[start:])
    return parts if found else None


def parse_entity(raw: bytes, *, depth: int = 0, max_depth: int = 30) -> Entity:
    """Parse ``raw`` into an :class:`Entity` tree (never raises on bad input)."""
    headers, body = split_headers(raw)
    entity = Entity(headers=headers, body=body, raw=raw, depth=depth)
    if entity.declared_type.startswith("multipart/"):
        boundary = entity.param("boundary")
        boundary_bytes = boundary.encode("latin-1", "replace") if boundary else b""
        if not boundary_bytes:
            entity.broken_multipart = True
        elif depth >= max_depth:
            entity.truncated = True
        else:
            parts = _split_multipart(body, boundary_bytes)
            if parts is None:
                entity.broken_multipart = True
            else:
                entity.children = [
                    parse_entity(part, depth=depth + 1, max_depth=max_depth) for part in parts
                ]
                if entity.declared_type == "multipart/digest":
                    for child in entity.children:
                        child.in_digest = True
    return entity
