"""uuencode: ``Content-Transfer-Encoding: x-uuencode`` parts and ``begin 644 name``
blocks inside plain-text bodies (old Outlook Express and Unix ``mail``)."""

from __future__ import annotations

import binascii
import bisect
import re

_BEGIN = re.compile(
    rb"^begin(?:-base64)?[ \t]+([0-7]{3,4})[ \t]+([^\r\n]+?)[ \t]*(?:\r\n|\n|\r)", re.MULTILINE
)
_BEGIN_TEXT = re.compile(r"^begin[ \t]+[0-7]{3,4}[ \t]+([^\n]+?)[ \t]*\n", re.MULTILINE)
_END_TEXT = re.compile(r"^end[ \t]*$", re.MULTILINE)
_LINES = re.compile(rb"\r\n|\n|\r")


def _decode_line(line: bytes) -> bytes:
    if not line:
        return b""
    length = (line[0] - 32) & 63
    try:
        return binascii.a2b_uu(line)
    except (binascii.Error, ValueError):
        pass
    # Some encoders strip trailing spaces; pad the line to its declared length.
    needed = 1 + (length + 2) // 3 * 4
    padded = line[:needed].ljust(needed, b" ")
    try:
        return binascii.a2b_uu(padded)[:length]
    except (binascii.Error, ValueError):
        return b""


def _decode_lines(lines: list[bytes]) -> tuple[bytes, int]:
    """Decode uuencoded lines up to ``end``; returns data and lines consumed."""
    out = bytearray()
    consumed = 0
    for line in lines:
        consumed += 1
        stripped = line.rstrip(b"\r\n")
        if stripped.strip() == b"end":
            break
        if not stripped.strip():
            continue
        if stripped in (b"`", b" "):
            continue
        out += _decode_line(stripped)
    return bytes(out), consumed


def uudecode(data: bytes) -> list[tuple[str, bytes]]:
    """Decode a uuencoded body: every ``begin`` block, or the whole body if none."""
    found: list[tuple[str, bytes]] = []
    for match in _BEGIN.finditer(data):
        rest = _LINES.split(data[match.end() :])
        content, _ = _decode_lines(rest)
        found.append((match.group(2).decode("utf-8", "replace"), content))
    if found:
        return found
    content, _ = _decode_lines(_LINES.split(data))
    return [("", content)]


def extract_blocks(text: str) -> tuple[str, list[tuple[str, bytes]]]:
    """Cut ``begin 644 name`` ... ``end`` blocks out of a plain-text body.

    Returns the remaining text and the decoded files. A block counts only if it
    decodes to data and is terminated by ``end``, so prose that merely starts a
    line with 'begin 600 ...' stays untouched.
    """
    if "begin " not in text:
        return text, []
    ends = [m.start() for m in _END_TEXT.finditer(text)]
    if not ends:
        return text, []
    files: list[tuple[str, bytes]] = []
    pieces: list[str] = []
    pos = 0
    for match in _BEGIN_TEXT.finditer(text):
        if match.start() < pos:
            continue
        following = bisect.bisect_left(ends, match.end())
        if following == len(ends):
            break
        end_start = ends[following]
        end_match = _END_TEXT.match(text, end_start)
        assert end_match is not None
        block = text[match.end() : end_start]
        try:
            raw = block.encode("ascii")
        except UnicodeEncodeError:
            continue
        content, _ = _decode_lines(_LINES.split(raw))
        if not content:
            continue
        pieces.append(text[pos : match.start()])
        files.append((match.group(1), content))
        pos = end_match.end()
        if text.startswith("\n", pos):
            pos += 1
    if not files:
        return text, []
    pieces.append(text[pos:])
    return "".join(pieces), files
