"""RFC 2047 encoded words, decoded tolerantly.

The stdlib's ``email.header.decode_header`` gives up on the encoded words that
real mail contains: spaces inside a Q-encoded word, base64 without padding,
unknown charsets, a multi-byte character split across two words. This decoder
accepts all of them and joins adjacent words of one charset before decoding,
so a character split across words comes out whole.
"""

from __future__ import annotations

import binascii
import re

from .charsets import decode_bytes

_EW = re.compile(r"=\?([^?\s]*)\?([QqBb])\?([^?]*)\?=")
_Q_ESCAPE = re.compile(rb"=([0-9A-Fa-f]{2})")
_B64_JUNK = re.compile(rb"[^A-Za-z0-9+/]")


def decode_q(text: str) -> bytes:
    """Decode the Q encoding (RFC 2047 4.2): '_' is a space, '=XX' a byte."""
    data = text.encode("ascii", "surrogateescape").replace(b"_", b" ")
    return _Q_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), data)


def decode_b64(text: str | bytes) -> bytes:
    """Decode base64, ignoring junk characters and repairing missing padding."""
    data = text.encode("ascii", "surrogateescape") if isinstance(text, str) else text
    if b"=" not in data.rstrip().rstrip(b"="):
        # fast path: one chunk; non-strict a2b_base64 skips line breaks and junk
        try:
            return binascii.a2b_base64(data)
        except (binascii.Error, ValueError):
            pass  # bad padding: repair below
    pieces = []
    # Some mailers concatenate separately padded base64 chunks; decode each one.
    for chunk in re.split(rb"=+", data):
        clean = _B64_JUNK.sub(b"", chunk)
        if len(clean) % 4 == 1:
            clean = clean[:-1]
        if not clean:
            continue
        clean += b"=" * (-len(clean) % 4)
        try:
            pieces.append(binascii.a2b_base64(clean))
        except (binascii.Error, ValueError):
            continue
    return b"".join(pieces)


def _charset_of(label: str) -> str:
    return label.split("*", 1)[0].strip().lower()


def decode_words(text: str) -> str:
    """Replace every encoded word in ``text`` by its decoded text.

    Whitespace between two adjacent encoded words is dropped (RFC 2047 6.2);
    adjacent words of the same charset are decoded together.
    """
    if "=?" not in text:
        return text
    out: list[str] = []
    pending_charset: str | None = None
    pending: list[bytes] = []
    last_end = 0

    def flush() -> None:
        nonlocal pending_charset
        if pending_charset is not None:
            out.append(decode_bytes(b"".join(pending), pending_charset, prefer_declared=True))
        pending.clear()
        pending_charset = None

    for match in _EW.finditer(text):
        between = text[last_end : match.start()]
        if between and not (pending_charset is not None and between.strip(" \t\r\n") == ""):
            flush()
            out.append(between)
        charset = _charset_of(match.group(1))
        encoding = match.group(2).upper()
        payload = match.group(3)
        data = decode_b64(payload) if encoding == "B" else decode_q(payload)
        if pending_charset is not None and charset != pending_charset:
            flush()
        pending_charset = charset
        pending.append(data)
        last_end = match.end()
    flush()
    out.append(text[last_end:])
    return "".join(out)


def iter_word_spans(text: str) -> list[tuple[int, int, str]]:
    """Spans of runs of adjacent encoded words with their decoded text.

    Used by the address parser, which must quote decoded display names.
    """
    spans: list[tuple[int, int, str]] = []
    run_start = -1
    run_end = -1
    for match in _EW.finditer(text):
        if run_start >= 0 and text[run_end : match.start()].strip(" \t") == "":
            run_end = match.end()
            continue
        if run_start >= 0:
            spans.append((run_start, run_end, decode_words(text[run_start:run_end])))
        run_start, run_end = match.start(), match.end()
    if run_start >= 0:
        spans.append((run_start, run_end, decode_words(text[run_start:run_end])))
    return spans
