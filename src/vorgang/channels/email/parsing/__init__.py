"""E-mail parsing: raw RFC 5322 bytes to a :class:`ParsedMessage`.

A pure library (no Django): the LMTP handler, the IMAP poller and the pipe
command call :func:`parse` on the raw bytes they stored in the journal.

>>> parsed = parse(b"From: Anna <anna@example.org>\\nSubject: Hallo\\n\\nText\\n")
>>> parsed.from_email, parsed.subject, parsed.body
('anna@example.org', 'Hallo', 'Text\\n')
"""

from .headers import HeaderMap
from .html import NO_VISIBLE_CONTENT, sanitize_html, text_to_html, visible_text
from .model import BounceInfo, ParsedAttachment, ParsedMessage, to_json_dict
from .parser import parse

__all__ = [
    "NO_VISIBLE_CONTENT",
    "BounceInfo",
    "HeaderMap",
    "ParsedAttachment",
    "ParsedMessage",
    "parse",
    "sanitize_html",
    "text_to_html",
    "to_json_dict",
    "visible_text",
]
