"""Showing message bodies to citizens: always as escaped text, never as HTML."""

from __future__ import annotations

import html
import re

from django.utils.html import strip_tags

_BLOCK_END = re.compile(
    r"<\s*(?:br|hr|/p|/div|/li|/tr|/h[1-6]|/blockquote|/table|/ul|/ol)\b[^>]*>", re.IGNORECASE
)
_INVISIBLE = re.compile(r"<(style|script|head|title)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_BLANK_LINES = re.compile(r"\n[ \t]*(?:\n[ \t]*){2,}")


def html_to_text(body: str) -> str:
    """A readable plain-text version of an HTML body (the template escapes it again)."""
    text = _INVISIBLE.sub("", body)
    text = _BLOCK_END.sub("\n", text)
    text = html.unescape(strip_tags(text))
    text = "\n".join(line.rstrip() for line in text.splitlines())
    return _BLANK_LINES.sub("\n\n", text).strip()
