"""Header values: decoding, addresses, dates.

Values are decoded from bytes (8-bit headers: UTF-8, else the message's charset
or a detection), unfolded, and their RFC 2047 encoded words decoded. Address
lists are parsed with the stdlib's RFC 5322 parser (``policy.default``); when it
reports a defect (a missing angle bracket, a space in an address, a trailing dot)
a tolerant splitter takes over that keeps what the sender wrote instead of
guessing.
"""

from __future__ import annotations

import email.utils
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email import errors as email_errors
from email import policy

from .charsets import WESTERN, codec_name, decode_bytes, detect, looks_western
from .encoded_words import decode_words, iter_word_spans
from .mime import unfold

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_LINEBREAKS = re.compile(r"\r\n|\r|\n")
_ASCII_SPACE = re.compile(r"[ \t\r\n]+")
_EMAIL_LIKE = re.compile(r".+@.+")
_MSG_ID = re.compile(r"<[^<>\s]+>")
_SPECIALS = set('()<>[]:;@\\,."')
#: longer address headers skip the stdlib parser (slow on huge lists)
_STDLIB_ADDRESS_LIMIT = 16_384
#: defects after which the stdlib's reading of an address list is trusted
_HARMLESS_DEFECTS = (email_errors.ObsoleteHeaderDefect,)


class HeaderMap(Mapping[str, str]):
    """Decoded header fields in message order, looked up case-insensitively.

    ``headers["precedence"]`` gives the first value of a field; ``get_all``
    gives every value (Received, or a repeated X-Loop).
    """

    __slots__ = ("_first", "_items", "_names")

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        self._items: tuple[tuple[str, str], ...] = tuple(items)
        self._first: dict[str, str] = {}
        self._names: dict[str, str] = {}
        for name, value in self._items:
            key = name.lower()
            if key not in self._first:
                self._first[key] = value
                self._names[key] = name

    def __getitem__(self, name: str) -> str:
        return self._first[name.lower()]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._first

    def __iter__(self) -> Iterator[str]:
        return iter(self._names.values())

    def __len__(self) -> int:
        return len(self._first)

    def get_all(self, name: str) -> list[str]:
        key = name.lower()
        return [value for field_name, value in self._items if field_name.lower() == key]

    def raw_items(self) -> list[tuple[str, str]]:
        """Every field as (name as written, decoded value), in message order."""
        return list(self._items)

    def __repr__(self) -> str:
        return f"HeaderMap({list(self._items)!r})"


def header_charset(values: Iterable[bytes], declared: list[str]) -> str | None:
    """The charset to read raw 8-bit header bytes of one message with.

    Headers should be ASCII; real mail puts raw UTF-8, Latin-1, GBK or
    Shift_JIS there (also into file names). All 8-bit values that are not
    UTF-8 are considered together, since more text gives a better guess: if
    they look Latin, a declared Western charset or Windows-1252; otherwise a
    declared non-Western charset that decodes them, or a detection.
    """
    samples = []
    for value in values:
        if value.isascii():
            continue
        try:
            value.decode("utf-8")
        except UnicodeDecodeError:
            samples.append(unfold(value))
    if not samples:
        return None
    joined = b"\n".join(samples)
    western = looks_western(joined)
    for label in declared:
        codec = codec_name(label)
        if not codec or (codec in WESTERN) != western:
            continue
        try:
            joined.decode(codec)
        except (UnicodeDecodeError, LookupError):
            continue
        return codec
    if western:
        return "cp1252"
    hints = tuple(c for c in (codec_name(label) for label in declared) if c)
    return detect(joined, hints)


def header_text(value: bytes, charset: str | None) -> str:
    """Raw header bytes to text (unfolded), encoded words left alone."""
    data = unfold(value).strip()
    if data.isascii():
        return data.decode("ascii")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    return decode_bytes(data, charset, prefer_declared=True)


def clean(text: str) -> str:
    """Drop control characters; line breaks (from encoded words) become spaces."""
    return _CONTROL.sub("", _LINEBREAKS.sub(" ", text))


def decode_unstructured(value: bytes, charset: str | None) -> str:
    """A decoded unstructured value (Subject, Comments, ...)."""
    return clean(decode_words(header_text(value, charset)))


# -- addresses -----------------------------------------------------------------


@dataclass(frozen=True)
class Address:
    display_name: str
    address: str

    def __str__(self) -> str:
        if not self.display_name:
            return self.address
        name = self.display_name
        if any(char in _SPECIALS or not char.isascii() for char in name):
            name = '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
        if not self.address:
            return name
        return f"{name} <{self.address}>"


def _quote_words(text: str) -> str:
    """Replace encoded words by their text, quoted so the address syntax survives."""
    spans = iter_word_spans(text)
    if not spans:
        return text
    out: list[str] = []
    pos = 0
    in_quote = False
    comment = 0
    escaped = False
    span_index = 0
    index = 0
    while index < len(text):
        if span_index < len(spans) and index == spans[span_index][0]:
            start, end, decoded = spans[span_index]
            out.append(text[pos:start])
            if in_quote:
                out.append(decoded.replace("\\", "\\\\").replace('"', '\\"'))
            elif comment:
                out.append(re.sub(r"([()\\])", r"\\\1", decoded))
            else:
                out.append('"' + decoded.replace("\\", "\\\\").replace('"', '\\"') + '"')
            pos = index = end
            span_index += 1
            continue
        char = text[index]
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif in_quote:
            if char == '"':
                in_quote = False
        elif char == '"' and not comment:
            in_quote = True
        elif char == "(":
            comment += 1
        elif char == ")" and comment:
            comment -= 1
        index += 1
    out.append(text[pos:])
    return "".join(out)


def _split_top_level(text: str) -> list[str]:
    """Split an address list on commas outside quotes, comments and brackets."""
    items: list[str] = []
    current: list[str] = []
    in_quote = False
    comment = 0
    angle = False
    escaped = False
    for char in text:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif in_quote:
            if char == '"':
                in_quote = False
        elif comment:
            if char == "(":
                comment += 1
            elif char == ")":
                comment -= 1
        elif char == '"':
            in_quote = True
        elif char == "(":
            comment = 1
        elif char == "<":
            angle = True
        elif char == ">":
            angle = False
        elif char in ",;" and not angle:
            items.append("".join(current))
            current = []
            continue
        current.append(char)
    items.append("".join(current))
    return items


def _unquote_phrase(phrase: str) -> str:
    out: list[str] = []
    escaped = False
    for char in phrase:
        if escaped:
            out.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char != '"':
            out.append(char)
    return " ".join("".join(out).split())


def _tolerant_addresses(text: str) -> list[Address]:
    """Address list of a broken header, mirroring what the sender wrote."""
    result: list[Address] = []
    for item in _split_top_level(text):
        outside: list[str] = []
        comments: list[str] = []
        current_comment: list[str] = []
        depth = 0
        in_quote = False
        escaped = False
        for char in item:
            if depth:
                if escaped:
                    current_comment.append(char)
                    escaped = False
                elif char == "\\":
                    escaped = True
                elif char == "(":
                    depth += 1
                    current_comment.append(char)
                elif char == ")":
                    depth -= 1
                    if depth:
                        current_comment.append(char)
                    else:
                        comments.append("".join(current_comment).strip())
                        current_comment = []
                else:
                    current_comment.append(char)
                continue
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_quote = not in_quote
            elif char == "(" and not in_quote:
                depth = 1
                continue
            outside.append(char)
        rest = "".join(outside).strip()
        # group syntax 'undisclosed-recipients:' (the ';' was split off)
        group = re.match(r'^[^"<@]*?:(?!//)', rest)
        if group:
            rest = rest[group.end() :].strip()
        if not rest and not comments:
            continue
        angle = _last_angle(rest)
        if angle is not None:
            phrase, address = rest[:angle], rest[angle + 1 :]
            address = address.split(">", 1)[0].strip()
            display = _unquote_phrase(phrase)
        else:
            address, display = rest, ""
        if not display and comments:
            display = " ".join(comments[0].split())
        if not address and not display:
            continue
        result.append(Address(display, address))
    return result


def _last_angle(text: str) -> int | None:
    in_quote = False
    escaped = False
    found = None
    for index, char in enumerate(text):
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == '"':
            in_quote = not in_quote
        elif char == "<" and not in_quote:
            found = index
    return found


def parse_addresses(text: str) -> tuple[list[Address], bool]:
    """Parse an address list (encoded words not yet decoded).

    Returns the addresses and whether the stdlib parser accepted the list
    (False: the tolerant splitter was used).
    """
    prepared = clean(_quote_words(text)).strip()
    if not prepared:
        return [], True
    if len(prepared) > _STDLIB_ADDRESS_LIMIT:
        return _tolerant_addresses(prepared), False
    simple = _simple_addresses(prepared)
    if simple is not None:
        return simple, True
    addresses = _stdlib_addresses(prepared)
    if addresses is not None:
        return addresses, True
    return _tolerant_addresses(prepared), False


_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_QUOTED = r'"[^"\\]*"'
_WORD = rf"(?:{_ATEXT}|{_QUOTED})"
_ADDR_SPEC = rf"{_ATEXT}(?:\.{_ATEXT})*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*"
#: one address in the forms nearly all mail uses: ``a@b.example`` or ``Name <a@b.example>``,
#: the name made of plain ASCII words and quoted strings without quotes or backslashes
#: inside, one or more spaces apart (``Erika "Müller"``); the name in group 1, the
#: address in group 2 or 3
_SIMPLE_ADDRESS = re.compile(
    rf"(?:({_WORD}(?:[ \t]+{_WORD})*)[ \t]*)?<({_ADDR_SPEC})>|({_ADDR_SPEC})"
)
_PHRASE_WORD = re.compile(rf'{_ATEXT}|"([^"\\]*)"')
_LIST_SEPARATOR = re.compile(r"[ \t]*,[ \t]*")


def _simple_addresses(text: str) -> list[Address] | None:
    """The addresses of a list made only of the simple forms, or None for anything else.

    What the stdlib's RFC 5322 parser answers for these forms (the words of the name
    joined by one space), at a fraction of its cost: it builds a full parse tree per
    header. Everything else (comments, groups, escapes, words without space between
    them, obsolete syntax, a comma inside quotes) still goes to the stdlib.
    """
    result = []
    for item in _LIST_SEPARATOR.split(text):
        found = _SIMPLE_ADDRESS.fullmatch(item)
        if found is None:
            return None
        phrase, bracketed, bare = found.groups()
        name = ""
        if phrase:
            words = _PHRASE_WORD.finditer(phrase)
            name = " ".join(w.group(1) if w.group(1) is not None else w.group(0) for w in words)
        result.append(Address(_ASCII_SPACE.sub(" ", name).strip(), bracketed or bare))
    return result


def _stdlib_addresses(text: str) -> list[Address] | None:
    """The RFC 5322 reading of ``text``, or None if the stdlib found it broken."""
    try:
        header = policy.default.header_factory("To", text)
        if any(not isinstance(d, _HARMLESS_DEFECTS) for d in header.defects):
            return None
        return [
            Address(_ASCII_SPACE.sub(" ", addr.display_name or "").strip(), addr.addr_spec)
            for addr in header.addresses
        ]
    except Exception:  # stdlib parser bugs on hostile input: the caller falls back
        return None


def bare_address(address: str) -> str:
    """'Hans@Example.DE' -> 'Hans@example.de' (the domain is case-insensitive)."""
    address = address.strip().strip("<>").strip()
    if "@" not in address:
        return address
    local, _, domain = address.rpartition("@")
    return f"{local}@{domain.lower()}"


def display_name_clean(name: str) -> str:
    """Zammad's display-name cleanup: no quotes, no surrounding single quotes."""
    name = name.replace('"', "").strip()
    if name.startswith("'"):
        name = name[1:]
    if name.endswith("'"):
        name = name[:-1]
    return name.strip()


@dataclass(frozen=True)
class Sender:
    email: str
    display_name: str


def sender_from(candidates: list[str]) -> Sender:
    """The sender address from the first field that looks like an e-mail.

    ``candidates`` are the raw (encoded-word) values of From, Reply-To,
    Return-Path and Sender in this order. The first one containing '@' wins,
    else the first non-empty one.
    """
    present = [value for value in candidates if clean(decode_words(value)).strip()]
    if not present:
        return Sender("", "")
    chosen = next(
        (value for value in present if _EMAIL_LIKE.search(decode_words(value))), present[0]
    )
    chosen = re.sub(r"\s*<>\s*$", "", chosen).strip()  # 'MAILER-DAEMON <>'

    addresses, _clean = parse_addresses(chosen)
    with_address = [a for a in addresses if a.address]
    preferred = [a for a in with_address if "@" in a.address] or with_address
    if preferred:
        first = preferred[0]
        display = first.display_name
        if not display:
            # 'me@example.org (Martin Smith)': the comment names the sender
            tolerant = [
                a
                for a in _tolerant_addresses(clean(_quote_words(chosen)))
                if a.address == first.address
            ]
            if tolerant:
                display = tolerant[0].display_name
        return Sender(first.address, display_name_clean(display))
    decoded = clean(decode_words(chosen)).strip()
    match = re.match(r"^(.+?)<((.+?)@(.+?))>", decoded)
    if match:
        return Sender(match.group(2), display_name_clean(match.group(1)))
    return Sender(decoded, display_name_clean(decoded))


# -- ids and dates -------------------------------------------------------------


def message_ids(value: str) -> list[str]:
    """All ``<id>`` tokens of Message-ID / In-Reply-To / References."""
    ids = _MSG_ID.findall(value)
    if ids:
        return ids
    bare = value.strip()
    if bare and " " not in bare:
        return [f"<{bare.strip('<>')}>"]
    return []


def parse_date(value: str) -> datetime | None:
    """An aware datetime from a Date header, or None if unreadable."""
    value = value.strip()
    if not value:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed is None:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed
