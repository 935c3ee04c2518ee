"""The parser's result types."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .headers import HeaderMap


@dataclass(frozen=True)
class ParsedAttachment:
    """One attachment, with its decoded content."""

    filename: str
    #: lower-case mime type without parameters, e.g. "application/pdf"
    content_type: str
    content: bytes
    #: Content-ID without the angle brackets ("" if none)
    content_id: str = ""
    #: referenced from the HTML body via ``cid:`` (shown in the text, not listed)
    inline: bool = False
    #: Content-Description, if the part had one
    description: str = ""
    #: the original HTML body, kept because the body shown is sanitised
    original_body: bool = False

    @property
    def size(self) -> int:
        return len(self.content)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


@dataclass(frozen=True)
class BounceInfo:
    """What a delivery status notification (RFC 3464) says."""

    #: enhanced status code of the first failed recipient, e.g. "5.1.1"
    status: str = ""
    #: "failed", "delayed", "delivered", "relayed", "expanded" (first recipient)
    action: str = ""
    #: a 5.x.x status or action "failed": the address will not work
    permanent: bool = False
    #: the failed recipients (Final-Recipient, else Original-Recipient)
    recipients: tuple[str, ...] = ()
    diagnostic: str = ""
    #: Message-ID of the message that bounced (from the returned message or headers)
    original_message_id: str = ""

    @property
    def temporary(self) -> bool:
        return not self.permanent and (self.status.startswith("4") or self.action == "delayed")


@dataclass(frozen=True)
class ParsedMessage:
    """A parsed e-mail. Addresses are bare ``local@domain`` strings."""

    from_: str
    from_email: str
    from_display_name: str
    to: str
    cc: str
    reply_to: str
    to_addresses: list[str]
    cc_addresses: list[str]
    subject: str
    date: datetime | None
    #: ids keep their angle brackets, e.g. "<abc@example.org>"
    message_id: str
    in_reply_to: str
    references: list[str]
    headers: Mapping[str, str]
    content_type: str
    body: str
    attachments: list[ParsedAttachment]
    is_bounce: bool = False
    bounce: BounceInfo | None = None
    reply_to_addresses: list[str] = field(default_factory=list)
    #: problems met while parsing (never personal data), for the admin log
    defects: tuple[str, ...] = ()

    @property
    def header_map(self) -> HeaderMap:
        headers = self.headers
        return headers if isinstance(headers, HeaderMap) else HeaderMap(headers.items())


def to_json_dict(parsed: ParsedMessage) -> dict[str, Any]:
    """The Zammad-style summary of a parse result (JSON-serialisable)."""
    return {
        "from": parsed.from_,
        "from_email": parsed.from_email,
        "from_display_name": parsed.from_display_name,
        "to": parsed.to,
        "cc": parsed.cc,
        "reply_to": parsed.reply_to,
        "subject": parsed.subject,
        "content_type": parsed.content_type,
        "body": parsed.body,
        "attachments": [
            {
                "filename": attachment.filename,
                "content_type": attachment.content_type,
                "size": attachment.size,
                "sha256": attachment.sha256,
                "content_id": attachment.content_id,
            }
            for attachment in parsed.attachments
        ],
    }
