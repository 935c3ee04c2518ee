"""``parse(raw)``: bytes of one e-mail to a :class:`ParsedMessage`.

The rules follow Zammad's ``Channel::EmailParser`` (its corpus of real-world
mail is the conformance test), with deliberate differences where Zammad is
wrong (see the conformance test's KNOWN_DIFFERENCES). In short:

* Body: the first HTML part (not an attachment) sanitised; else, if the text
  parts come with inline images, HTML made of the text parts and ``<img
  src="cid:...">``; else the text/plain parts concatenated; else the single
  part's text; else ``no visible content``.
* Attachments: the original HTML body as ``message.html``, then every leaf
  part that is not body text, named by Content-Disposition filename,
  Content-Location, ``<subject>.eml`` for a message/rfc822, Content-Type name,
  Content-ID, a name from the type, ``file``; duplicates numbered.
* Never raises: a failure anywhere gives the placeholder body and the raw
  message as an attachment.
"""

from __future__ import annotations

import dataclasses
import logging
import mimetypes
import re

from . import html as html_mod
from .bounce import bounce_info
from .charsets import decode_bytes
from .encoded_words import decode_words
from .headers import (
    Address,
    HeaderMap,
    bare_address,
    clean,
    decode_unstructured,
    header_charset,
    header_text,
    message_ids,
    parse_addresses,
    parse_date,
    sender_from,
)
from .mime import Entity, parse_entity, split_headers
from .model import ParsedAttachment, ParsedMessage
from .uu import extract_blocks

log = logging.getLogger(__name__)

NO_VISIBLE_CONTENT = html_mod.NO_VISIBLE_CONTENT

#: hard ceiling for ``max_depth`` (each level is one stack frame)
_DEPTH_CEILING = 200

#: names for parts without one, by mime type: (extension, base name)
_TYPE_NAMES: dict[str, tuple[str, str]] = {
    "message/delivery-status": ("txt", "delivery-status"),
    "text/plain": ("txt", "document"),
    "text/html": ("html", "document"),
    "video/quicktime": ("mov", "video"),
    "image/jpeg": ("jpg", "image"),
    "image/jpg": ("jpg", "image"),
    "image/png": ("png", "image"),
    "image/gif": ("gif", "image"),
    "image/webp": ("webp", "image"),
    "image/bmp": ("bmp", "image"),
    "image/tiff": ("tif", "image"),
    "application/pdf": ("pdf", "document"),
    "text/calendar": ("ics", "invitation"),
    "text/csv": ("csv", "document"),
    "video/mp4": ("mp4", "video"),
    "audio/mpeg": ("mp3", "audio"),
}

_CID_WITH_EXTENSION = re.compile(r"^(.+?\..{2,6})@.+")
_CID_LOCAL = re.compile(r"^(.+?)@.+")
_FIRST_DOT = re.compile(r"^(.*?)\.(.+)$", re.DOTALL)


def parse(raw: bytes, *, max_depth: int = 30) -> ParsedMessage:
    """Parse one message. Never raises on bad mail.

    ``max_depth`` bounds the nesting of multiparts; deeper structure is kept
    whole as an ``.eml`` attachment.
    """
    if not isinstance(raw, bytes | bytearray | memoryview):
        raise TypeError("parse() takes the raw message as bytes")
    data = bytes(raw)
    depth = max(1, min(int(max_depth), _DEPTH_CEILING))
    try:
        return _Parser(data, depth).run()
    except Exception as exc:  # the promise: bad mail never raises
        log.warning("mail parser fell back to the raw message: %s", type(exc).__name__)
        return _fallback(data, type(exc).__name__)


# -- the fallback ----------------------------------------------------------------


def _fallback(raw: bytes, reason: str) -> ParsedMessage:
    headers: HeaderMap = HeaderMap()
    subject = ""
    try:
        fields, _body = split_headers(raw)
        headers = HeaderMap((name, decode_unstructured(value, None)) for name, value in fields)
        subject = headers.get("subject", "")
    except Exception:  # even the header split failed: keep the bytes only
        headers = HeaderMap()
    return ParsedMessage(
        from_=headers.get("from", ""),
        from_email="",
        from_display_name="",
        to=headers.get("to", ""),
        cc=headers.get("cc", ""),
        reply_to=headers.get("reply-to", ""),
        to_addresses=[],
        cc_addresses=[],
        subject=subject,
        date=None,
        message_id="",
        in_reply_to="",
        references=[],
        headers=headers,
        content_type="text/plain",
        body=NO_VISIBLE_CONTENT,
        attachments=[ParsedAttachment("message.eml", "message/rfc822", raw)],
        defects=(f"parser-failed:{reason}",),
    )


# -- the parser ------------------------------------------------------------------


def _all_parts(entity: Entity) -> list[Entity]:
    """Every descendant (not the entity itself), depth first, in order."""
    parts = list(entity.walk())
    return parts[1:]


class _Parser:
    def __init__(self, raw: bytes, max_depth: int) -> None:
        self.raw = raw
        self.root = parse_entity(raw, max_depth=max_depth)
        self.parts = _all_parts(self.root)
        self.defects: list[str] = []
        entities = [self.root, *self.parts]
        declared = [c for c in (e.charset for e in entities[:50]) if c]
        self.charset = header_charset(
            (value for entity in entities[:200] for _name, value in entity.headers), declared
        )
        #: generated Content-IDs for inline images that had none
        self.generated_cids: dict[int, str] = {}
        self._attachment_cache: dict[int, bool] = {}
        self.parents: dict[int, Entity] = {
            id(child): entity for entity in entities for child in entity.children
        }
        multipart = self.root.is_multipart
        #: the first HTML / plain text part that is not an attachment (mail gem's
        #: html_part / text_part; only looked for below a multipart root)
        self.html_part = self.first_part("text/html") if multipart else None
        self.text_part = self.first_part("text/plain") if multipart else None

    # -- helpers ----------------------------------------------------------------

    def text(self, entity: Entity, name: str) -> str:
        value = entity.header_bytes(name)
        return "" if value is None else header_text(value, self.charset)

    def unstructured(self, entity: Entity, name: str) -> str:
        value = entity.header_bytes(name)
        return "" if value is None else decode_unstructured(value, self.charset)

    def param_text(self, entity: Entity, name: str, header: str = "content-type") -> str | None:
        """A decoded parameter: RFC 2231 charset, raw 8-bit bytes, RFC 2047 words."""
        raw = entity.param_raw(name, header)
        if raw is None:
            return None
        charset, data = raw
        if charset is not None:
            value = decode_bytes(data, charset, prefer_declared=True)
        else:
            value = header_text(data, self.charset)
        return clean(decode_words(value)).strip()

    def is_attachment(self, entity: Entity) -> bool:
        """A part with a file name, or one explicitly marked as attachment."""
        key = id(entity)
        known = self._attachment_cache.get(key)
        if known is None:
            known = entity.disposition == "attachment" or bool(
                entity.param("filename", "content-disposition")
                or entity.param("name", "content-disposition")
                or entity.param("name", "content-type")
                or entity.param("filename", "content-type")
                or entity.header_str("Content-Location")
            )
            self._attachment_cache[key] = known
        return known

    def is_inline_image(self, entity: Entity) -> bool:
        return entity.disposition == "inline" and entity.content_type.startswith("image/")

    def first_part(self, mime_type: str) -> Entity | None:
        for part in self.parts:
            if (
                not part.is_multipart
                and part.content_type == mime_type
                and not self.is_attachment(part)
            ):
                return part
        return None

    @staticmethod
    def present(entity: Entity | None) -> bool:
        return entity is not None and bool(entity.text_payload.strip())

    # -- run -------------------------------------------------------------------

    def run(self) -> ParsedMessage:
        root = self.root
        headers = HeaderMap(
            (name, decode_unstructured(value, self.charset)) for name, value in root.headers
        )

        from_values = [
            header_text(value, self.charset)
            for name, value in root.headers
            if name.lower() == "from"
        ]
        from_text = next(
            (v for v in from_values if "@" in decode_words(v)),
            from_values[0] if from_values else "",
        )
        to_text = self.text(root, "To")
        cc_text = self.text(root, "Cc")
        reply_text = self.text(root, "Reply-To")
        _from_list, from_display = self.address_field(from_text)
        to_list, to_display = self.address_field(to_text)
        cc_list, cc_display = self.address_field(cc_text)
        reply_list, reply_display = self.address_field(reply_text)

        sender = sender_from(
            [*from_values, reply_text, self.text(root, "Return-Path"), self.text(root, "Sender")]
        )

        message_id = next(iter(message_ids(self.unstructured(root, "Message-ID"))), "")
        in_reply_to = next(iter(message_ids(self.unstructured(root, "In-Reply-To"))), "")
        references = message_ids(self.unstructured(root, "References"))

        content_type, body, extra = self.body()
        attachments = self.attachments(extra)
        if content_type == "text/html":
            attachments = [self._mark_inline(attachment, body) for attachment in attachments]

        bounce = bounce_info(root, self.parts)
        return ParsedMessage(
            from_=from_display,
            from_email=sender.email,
            from_display_name=sender.display_name,
            to=to_display if "@" in to_display else "",
            cc=cc_display if "@" in cc_display else "",
            reply_to=reply_display,
            to_addresses=[bare_address(a.address) for a in to_list if a.address],
            cc_addresses=[bare_address(a.address) for a in cc_list if a.address],
            reply_to_addresses=[bare_address(a.address) for a in reply_list if a.address],
            subject=self.unstructured(root, "Subject"),
            date=parse_date(self.unstructured(root, "Date")),
            message_id=message_id,
            in_reply_to=in_reply_to,
            references=references,
            headers=headers,
            content_type=content_type,
            body=body,
            attachments=attachments,
            is_bounce=bounce is not None,
            bounce=bounce,
            defects=tuple(self.defects),
        )

    @staticmethod
    def _mark_inline(attachment: ParsedAttachment, body: str) -> ParsedAttachment:
        if not attachment.content_id or attachment.original_body:
            return attachment
        cid = re.escape(attachment.content_id)
        if re.search(r"""src=["']cid:""" + cid + r"""["']""", body, re.IGNORECASE):
            return dataclasses.replace(attachment, inline=True)
        return attachment

    def address_field(self, text: str) -> tuple[list[Address], str]:
        if not text:
            return [], ""
        addresses, parsed_cleanly = parse_addresses(text)
        if parsed_cleanly and addresses:
            return addresses, ", ".join(str(address) for address in addresses)
        return addresses, " ".join(clean(decode_words(text)).split())

    # -- body ------------------------------------------------------------------

    def body(self) -> tuple[str, str, list[ParsedAttachment]]:
        """(content type, body, attachments found inside the body text)."""
        root = self.root
        extra: list[ParsedAttachment] = []
        content_type = "text/plain"
        body = ""
        if self.html_part is not None and self.present(self.html_part):
            content_type = "text/html"
            body = "".join(self.html_pieces(sanitized=True))
        elif self.text_part is not None and any(self.is_inline_image(p) for p in self.parts):
            content_type = "text/html"
            pieces: list[str] = []
            for part in self.parts:
                if part.is_multipart:
                    continue
                if part.content_type == "text/plain" and not self.is_attachment(part):
                    text, found = extract_blocks(part.text_payload)
                    extra.extend(self.uu_attachments(found))
                    pieces.append(html_mod.text_to_html(text))
                elif self.is_inline_image(part):
                    pieces.append(f"<img src='cid:{self.cid_for(part)}'>")
            body = "".join(pieces)
        elif self.text_part is not None:
            pieces = []
            for part in self.parts:
                if part.is_multipart:
                    continue
                if part.content_type == "text/plain" and not self.is_attachment(part):
                    text, found = extract_blocks(part.text_payload)
                    extra.extend(self.uu_attachments(found))
                    pieces.append(text)
            body = "".join(pieces)
        elif not root.is_multipart and root.content_type in ("text/plain", "text/html"):
            if root.content_type == "text/html":
                if self.present(root):
                    content_type = "text/html"
                    body = html_mod.sanitize_html(root.text_payload)
            else:
                text, found = extract_blocks(root.text_payload)
                extra.extend(self.uu_attachments(found))
                body = text
        if content_type == "text/html" and not html_mod.has_visible_content(body):
            body = ""
        if not body.strip():
            return "text/plain", NO_VISIBLE_CONTENT, extra
        return content_type, body, extra

    def html_body_parts(self) -> list[Entity]:
        """The parts that make up an HTML body, in order.

        Usually the one HTML part. When it sits directly in a multipart/mixed
        (Apple Mail: text, photo, more text), its HTML and text siblings and
        inline images follow it in the body instead of hiding as attachments.
        """
        html_part = self.html_part
        if html_part is None:
            return []
        parent = self.parents.get(id(html_part))
        if parent is None or parent.content_type != "multipart/mixed":
            return [html_part]
        siblings = parent.children
        start = next(i for i, child in enumerate(siblings) if child is html_part)
        chosen = [html_part]
        for child in siblings[start + 1 :]:
            if child.is_multipart:
                continue
            is_text = child.content_type in ("text/html", "text/plain")
            if (is_text and not self.is_attachment(child)) or self.is_inline_image(child):
                chosen.append(child)
        return chosen

    def html_pieces(self, *, sanitized: bool) -> list[str]:
        pieces: list[str] = []
        for part in self.html_body_parts():
            if part.content_type == "text/html":
                text = part.text_payload
                pieces.append(html_mod.sanitize_html(text) if sanitized else text)
            elif part.content_type == "text/plain":
                pieces.append(html_mod.text_to_html(part.text_payload))
            else:
                pieces.append(f"<img src='cid:{self.cid_for(part)}'>")
        return pieces

    def cid_for(self, part: Entity) -> str:
        if part.content_id:
            return part.content_id
        key = id(part)
        if key not in self.generated_cids:
            self.generated_cids[key] = f"inline-{len(self.generated_cids) + 1}@vorgang.invalid"
        return self.generated_cids[key]

    @staticmethod
    def uu_attachments(found: list[tuple[str, bytes]]) -> list[ParsedAttachment]:
        result = []
        for name, content in found:
            guessed = mimetypes.guess_type(name)[0] or "application/octet-stream"
            result.append(ParsedAttachment(name or "file", guessed, content))
        return result

    # -- attachments -------------------------------------------------------------

    def attachments(self, extra: list[ParsedAttachment]) -> list[ParsedAttachment]:
        root = self.root
        collected: list[ParsedAttachment] = []
        names: set[str] = set()

        def add(attachment: ParsedAttachment) -> None:
            unique = _unique_name(attachment.filename, names)
            names.add(unique)
            if unique != attachment.filename:
                attachment = dataclasses.replace(attachment, filename=unique)
            collected.append(attachment)

        html_present = self.html_part is not None and self.present(self.html_part)
        body_parts = {id(part) for part in self.html_body_parts()} if html_present else set()
        if html_present and self.html_part is not None:
            # the original HTML, since the body shown is sanitised (as Zammad keeps it)
            add(
                ParsedAttachment(
                    filename=self.explicit_filename(self.html_part) or "message.html",
                    content_type="text/html",
                    content="".join(self.html_pieces(sanitized=False)).encode("utf-8"),
                    original_body=True,
                )
            )
        elif not root.is_multipart and root.content_type == "text/html":
            add(
                ParsedAttachment(
                    filename=self.explicit_filename(root) or "message.html",
                    content_type="text/html",
                    content=root.text_payload.encode("utf-8"),
                    original_body=True,
                )
            )
        elif not root.is_multipart and root.declared_type and root.content_type != "text/plain":
            # a message that is one non-text part (a scan, a calendar invitation)
            add(self.part_attachment(root))

        for part in self.parts:
            if part.children:
                continue
            in_body = part is self.html_part or part is self.text_part or id(part) in body_parts
            if in_body and not self.is_inline_image(part):
                continue  # body text; inline images stay listed (the body points at them)
            if part.truncated:
                add(self.truncated_attachment(part))
                continue
            if part.content_type == "text/plain" and not self.is_attachment(part):
                continue
            add(self.part_attachment(part))

        for attachment in extra:
            add(attachment)
        return collected

    def explicit_filename(self, entity: Entity) -> str:
        for name, header in (
            ("filename", "content-disposition"),
            ("name", "content-disposition"),
            ("name", "content-type"),
            ("filename", "content-type"),
        ):
            value = self.param_text(entity, name, header)
            if value:
                return _basename(value)
        return ""

    def truncated_attachment(self, entity: Entity) -> ParsedAttachment:
        self.defects.append("nesting-too-deep")
        return ParsedAttachment("nested-parts.eml", "message/rfc822", entity.raw)

    def part_attachment(self, entity: Entity) -> ParsedAttachment:
        content_type = entity.declared_type or (
            "message/rfc822" if entity.in_digest else "application/octet-stream"
        )
        return ParsedAttachment(
            filename=self.derive_filename(entity),
            content_type=content_type,
            content=entity.payload,
            content_id=entity.content_id or self.generated_cids.get(id(entity), ""),
            description=self.unstructured(entity, "Content-Description").strip(),
        )

    def derive_filename(self, entity: Entity) -> str:
        """The file name, in Zammad's order of sources."""
        name: str | None = None
        for param, header in (("filename", "content-disposition"), ("name", "content-disposition")):
            value = self.param_text(entity, param, header)
            if value:
                name = value
                break
        if not name:
            location = self.unstructured(entity, "Content-Location").strip()
            if location:
                name = location
        description = self.unstructured(entity, "Content-Description").strip()
        if not name and entity.content_type == "message/rfc822":
            nested_subject = ""
            nested_headers, _ = split_headers(entity.payload)
            for key, raw_value in nested_headers:
                if key.lower() == "subject":
                    nested_subject = decode_unstructured(raw_value, self.charset).strip()
                    break
            if nested_subject:
                name = f"{nested_subject}.eml"
            elif description:
                name = f"{description}.eml"
            else:
                name = "Mail.eml"
        if not name:
            for param in ("name", "filename"):
                value = self.param_text(entity, param)
                if value:
                    name = value
                    break
        if name:
            name = _basename(name)
        cid = entity.content_id
        if not name and cid:
            match = _CID_WITH_EXTENSION.match(cid)
            if match:
                name = match.group(1)
        if not name:
            known = _TYPE_NAMES.get(entity.declared_type)
            if known:
                extension, base = known
                name = f"{description}.{extension}" if description else f"{base}.{extension}"
        if not name and cid:
            match = _CID_LOCAL.match(cid)
            if match:
                name = match.group(1)
        return name or "file"


def _basename(name: str) -> str:
    """Drop directory parts ('C:\\\\Users\\\\x\\\\a.pdf', '../a.pdf') and whitespace."""
    name = name.strip()
    for separator in ("/", "\\"):
        if separator in name:
            tail = name.rsplit(separator, 1)[1].strip()
            if tail:
                name = tail
    return name.strip()


def _unique_name(name: str, taken: set[str]) -> str:
    """'a.pdf', 'a1.pdf', 'a2.pdf' (the number goes before the first dot, as Zammad does)."""
    if name not in taken:
        return name
    match = _FIRST_DOT.match(name)
    stem, extension = (match.group(1), match.group(2)) if match else (name, "")
    for number in range(1, 10_000):
        candidate = f"{stem}{number}.{extension}" if extension else f"{stem}{number}"
        if candidate not in taken:
            return candidate
    return f"{stem}-{len(taken)}.{extension}" if extension else f"{stem}-{len(taken)}"
