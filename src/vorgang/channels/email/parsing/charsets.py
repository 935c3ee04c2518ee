"""Turning bytes of unknown or wrongly declared charset into text.

Real-world mail declares charsets that Python does not know (``unicode-1-1-utf-7``,
``ks_c_5601-1987``), declares the wrong one (UTF-8 bytes labelled ``iso-8859-1``,
Shift_JIS labelled ``iso-2022-jp``) or none at all (raw 8-bit headers). The
functions here never raise: they try the declared charset, UTF-8, a detection
by ``charset-normalizer`` where the bytes look like a multi-byte or non-Latin
script, and finally Windows-1252 / Latin-1, which decode any byte string.
"""

from __future__ import annotations

import codecs
import functools
import re

import charset_normalizer

#: Labels that Python's codec registry does not resolve (or resolves to a
#: narrower charset than senders mean). Keys are lower-case.
_ALIASES: dict[str, str] = {
    "unicode-1-1-utf-7": "utf-7",
    "unicode-2-0-utf-7": "utf-7",
    "x-unicode20utf7": "utf-7",
    "utf7": "utf-7",
    "unicode-1-1-utf-8": "utf-8",
    "unicode-2-0-utf-8": "utf-8",
    "x-unicode20utf8": "utf-8",
    "utf8mb4": "utf-8",
    "unicode": "utf-16",
    # WHATWG: these labels mean windows-1252 on the real web and in real mail.
    "us-ascii": "cp1252",
    "ascii": "cp1252",
    "ansi_x3.4-1968": "cp1252",
    "iso-8859-1": "cp1252",
    "iso8859-1": "cp1252",
    "iso_8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "l1": "cp1252",
    "x-user-defined": "cp1252",
    "iso-8859-8-i": "iso8859-8",
    "iso-8859-6-i": "iso8859-6",
    "iso-8859-11": "cp874",
    "tis-620": "cp874",
    "windows-874": "cp874",
    "ks_c_5601-1987": "cp949",
    "ks_c_5601": "cp949",
    "ksc5601": "cp949",
    "euc-kr": "cp949",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "cp936": "gb18030",
    "euc-cn": "gb18030",
    "x-euc-cn": "gb18030",
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "sjis": "cp932",
    "x-sjis": "cp932",
    "ms_kanji": "cp932",
    "windows-31j": "cp932",
    "big5": "big5hkscs",
    "x-mac-roman": "mac_roman",
    "macintosh": "mac_roman",
    "x-mac-ce": "mac_latin2",
    "x-mac-cyrillic": "mac_cyrillic",
}

#: Charsets whose bytes are all 7-bit or otherwise look like valid UTF-8 by
#: accident; for these the declared charset wins over a UTF-8 guess.
_STATEFUL_OR_WIDE = ("iso2022", "utf_7", "utf_16", "utf_32", "hz")

#: Fallback chain when a declared ISO-2022-JP body uses vendor extensions.
_ISO2022_JP_CHAIN = ("iso2022_jp", "iso2022_jp_ext", "iso2022_jp_2", "iso2022_jp_2004")

_HIGH_RUN = re.compile(rb"[\x80-\xff]+")

#: tie-break order for detection results of equal quality
_PREFERENCE = [
    "utf_8",
    "cp1252",
    "iso8859_15",
    "cp1250",
    "iso8859_2",
    "cp1251",
    "koi8_r",
    "gb18030",
    "cp932",
    "shift_jis",
    "euc_jp",
    "big5",
    "cp949",
    "euc_kr",
]

_FAMILIES: dict[str, tuple[str, ...]] = {
    "iso2022_jp": ("cp932", "shift_jis", "euc_jp"),
    "cp932": ("cp932", "shift_jis", "euc_jp"),
    "shift_jis": ("cp932", "shift_jis", "euc_jp"),
    "euc_jp": ("euc_jp", "cp932", "shift_jis"),
    "gb18030": ("gb18030", "gb2312", "gbk"),
    "big5hkscs": ("big5", "big5hkscs", "cp950"),
    "cp949": ("cp949", "euc_kr"),
    "cp1251": ("cp1251", "koi8_r"),
    "koi8_r": ("koi8_r", "cp1251"),
}

#: single-byte codecs of Western Europe (their bytes never fail to decode)
WESTERN = {
    "cp1252",
    "latin_1",
    "iso8859_15",
    "iso8859_1",
    "cp1250",
    "iso8859_2",
    "cp850",
    "mac_roman",
}


@functools.lru_cache(maxsize=256)
def codec_name(label: str | None) -> str | None:
    """The Python codec for a MIME charset label, or None if unknown."""
    if not label:
        return None
    name = label.strip().strip("\"'").strip().lower()
    if "*" in name:  # RFC 2231 language suffix: utf-8*de
        name = name.split("*", 1)[0]
    if not name:
        return None
    name = _ALIASES.get(name, name)
    try:
        return codecs.lookup(name).name
    except (LookupError, ValueError):
        pass
    # 'cp-850', 'windows 1252', 'iso 8859-15'
    squashed = re.sub(r"[\s_]+", "-", name)
    candidates = [squashed, squashed.replace("-", ""), squashed.replace("-", "_")]
    for prefix in ("x-", "iso-", "cs"):
        if squashed.startswith(prefix) and not squashed.startswith("iso-8859"):
            candidates.append(squashed[len(prefix) :])
    for candidate in candidates:
        candidate = _ALIASES.get(candidate, candidate)
        try:
            return codecs.lookup(candidate).name
        except (LookupError, ValueError):
            continue
    return None


def _is_stateful_or_wide(codec: str) -> bool:
    return codec.replace("-", "_").startswith(_STATEFUL_OR_WIDE)


def _try(data: bytes, codec: str) -> str | None:
    if codec == "iso2022_jp":
        text = _decode_iso2022jp(data)
        if text is not None:
            return text
    chain = _ISO2022_JP_CHAIN if codec == "iso2022_jp" else (codec,)
    for name in chain:
        try:
            return data.decode(name)
        except (UnicodeDecodeError, LookupError, ValueError):
            continue
    return None


def looks_western(data: bytes) -> bool:
    """True if the 8-bit bytes look like a Latin single-byte text.

    Western text has its non-ASCII letters mostly alone between ASCII letters
    ('Grüße', 'Priorität'); CJK double-byte and Cyrillic/Greek single-byte text
    has long runs of 8-bit bytes. Detection on a handful of bytes is unreliable
    (it guesses Arabic or CJK code pages for 'äöüß'), so short or Latin-looking
    input that Windows-1252 can decode is taken as Windows-1252.
    """
    try:
        data.decode("cp1252")
    except UnicodeDecodeError:
        return False
    runs = [len(m.group(0)) for m in _HIGH_RUN.finditer(data)]
    if not runs or sum(runs) < 8:
        return True
    return max(runs) <= 2 or sum(1 for r in runs if r >= 3) * 4 < len(runs)


def _utf8_sequences(data: bytes) -> tuple[int, int]:
    """(valid multi-byte UTF-8 sequences, bytes that are not valid UTF-8)."""
    valid = invalid = 0
    for match in _HIGH_RUN.finditer(data):
        chunk = match.group(0)
        text = chunk.decode("utf-8", "replace")
        bad = text.count("\ufffd")
        invalid += bad
        valid += len(text) - bad
    return valid, invalid


def _decode_mixed(data: bytes) -> str:
    """UTF-8, with every invalid byte read as Windows-1252 (mixed-up text)."""
    return data.decode("utf-8", "vorgang-cp1252-fallback")


def _cp1252_fallback(error: UnicodeError) -> tuple[str, int]:
    if not isinstance(error, UnicodeDecodeError):
        raise error
    chunk = error.object[error.start : error.end]
    return chunk.decode("cp1252", "replace") if isinstance(chunk, bytes) else "\ufffd", error.end


codecs.register_error("vorgang-cp1252-fallback", _cp1252_fallback)


_JIS_ESCAPE = re.compile(rb"\x1b(\(B|\(J|\(I|\$@|\$B)")


def _decode_iso2022jp(data: bytes) -> str | None:
    """ISO-2022-JP with the vendor extensions real mail uses (CP50221).

    Python's codecs reject the NEC row-13 characters (circled digits) that
    Japanese mail is full of; converting JIS X 0208 to Shift_JIS and decoding
    as CP932 accepts them. Returns None for escape sequences of other charsets.
    """
    if re.search(rb"\x1b(?!\(B|\(J|\(I|\$@|\$B)", data):
        return None
    out = bytearray()
    mode = b"(B"
    pos = 0
    for match in _JIS_ESCAPE.finditer(data):
        out += _jis_chunk(data[pos : match.start()], mode)
        mode = match.group(1)
        pos = match.end()
    out += _jis_chunk(data[pos:], mode)
    return bytes(out).decode("cp932", "replace")


def _jis_chunk(chunk: bytes, mode: bytes) -> bytes:
    if mode in (b"(B", b"(J"):
        return chunk
    if mode == b"(I":
        return bytes(b + 0x80 if 0x21 <= b <= 0x5F else b for b in chunk)
    out = bytearray()
    index = 0
    while index < len(chunk):
        first = chunk[index]
        if first in (0x0A, 0x0D) or index + 1 >= len(chunk):
            out.append(first)
            index += 1
            continue
        second = chunk[index + 1]
        if not (0x21 <= first <= 0x7E and 0x21 <= second <= 0x7E):
            out.append(first)
            index += 1
            continue
        lead = ((first + 1) >> 1) + (0x70 if first <= 0x5E else 0xB0)
        # odd rows use the low half of the trail byte range, even rows the high half
        trail = second + (0x1F if second <= 0x5F else 0x20) if first % 2 else second + 0x7E
        out += bytes((lead, trail))
        index += 2
    return bytes(out)


def detect(data: bytes, hints: tuple[str, ...] = ()) -> str | None:
    """Best-guess codec for undeclared 8-bit bytes (None if nothing fits).

    ``hints`` are codecs declared elsewhere in the message; their language
    family wins a tie (ISO-2022-JP declared makes Shift_JIS likelier than GBK).
    """
    if looks_western(data):
        return "cp1252"
    # detect on the lines that carry 8-bit bytes: long ASCII stretches (markup,
    # quoted headers) drown the signal of a short CJK line otherwise
    lines = [line for line in data.splitlines() if not line.isascii()]
    sample = b"\n".join(lines)[:65536] or data[:65536]
    try:
        matches = list(charset_normalizer.from_bytes(sample))
    except Exception:  # the detector is third-party code: never let it break parsing
        return None
    matches = [m for m in matches if not m.encoding.startswith(("utf_16", "utf_32"))]
    if not matches:
        return None
    # on short samples several charsets tie; prefer the more common ones
    best_chaos = min(m.chaos for m in matches)
    tied = [m for m in matches if m.chaos <= best_chaos + 0.01]
    preference = [c for hint in hints for c in _FAMILIES.get(hint, (hint,))] + _PREFERENCE
    tied.sort(
        key=lambda m: preference.index(m.encoding) if m.encoding in preference else len(preference)
    )
    return codec_name(tied[0].encoding)


def decode_bytes(data: bytes, declared: str | None = None, *, prefer_declared: bool = False) -> str:
    """Decode ``data`` to text; never raises.

    Order: pure ASCII as is; a stateful/wide declared charset (ISO-2022-*, UTF-7,
    UTF-16) first; then UTF-8 if the bytes are valid UTF-8 (mislabelled UTF-8 is
    the most common charset error in mail); then the declared charset; then a
    detection; finally Windows-1252 and Latin-1. With ``prefer_declared`` (used
    for RFC 2047 words, whose label is explicit) the declared charset is tried
    before UTF-8.
    """
    codec = codec_name(declared)
    if codec and _is_stateful_or_wide(codec):
        text = _try(data, codec)
        if text is not None:
            return text
    if data.isascii():
        return data.decode("ascii")
    if codec and prefer_declared:
        text = _try(data, codec)
        if text is not None:
            return text
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    if codec is None or not _is_stateful_or_wide(codec):
        # mostly UTF-8 with some stray Latin-1 bytes: keep both readable
        valid, invalid = _utf8_sequences(data)
        if valid and valid >= invalid:
            return _decode_mixed(data)
    if codec and not prefer_declared:
        text = _try(data, codec)
        if text is not None:
            return text
    guessed = detect(data, (codec,) if codec else ())
    if guessed:
        text = _try(data, guessed)
        if text is not None:
            return text
    text = _try(data, "cp1252")
    if text is not None:
        return text
    return data.decode("latin-1")
