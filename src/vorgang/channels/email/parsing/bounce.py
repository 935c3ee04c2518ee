"""Delivery status notifications (RFC 3464 ``multipart/report``)."""

from __future__ import annotations

import re

from .mime import Entity, split_headers, unfold
from .model import BounceInfo

_STATUS = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
_MSG_ID = re.compile(rb"<[^<>\s]+>")


def _fields(block: bytes) -> list[dict[str, str]]:
    """The per-message and per-recipient field groups of a delivery-status body."""
    groups: list[dict[str, str]] = []
    for chunk in re.split(rb"(?:\r?\n){2,}", block.strip()):
        headers, _ = split_headers(chunk + b"\n\n")
        if headers:
            groups.append(
                {
                    name.lower(): unfold(value).decode("utf-8", "replace").strip()
                    for name, value in headers
                }
            )
    return groups


def _address(value: str) -> str:
    # 'rfc822; someone@example.org' -> 'someone@example.org'
    if ";" in value:
        value = value.split(";", 1)[1]
    return value.strip().strip("<>").strip()


def bounce_info(root: Entity, parts: list[Entity]) -> BounceInfo | None:
    """Bounce details if the message is a DSN, else None."""
    report = root.content_type == "multipart/report" and (
        (root.param("report-type") or "").lower() in ("delivery-status", "")
    )
    status_parts = [
        p
        for p in parts
        if p.content_type in ("message/delivery-status", "message/global-delivery-status")
    ]
    if not report and not status_parts:
        return None
    status = action = diagnostic = ""
    recipients: list[str] = []
    for part in status_parts[:1]:
        for group in _fields(part.payload)[1:] or _fields(part.payload):
            recipient = group.get("final-recipient") or group.get("original-recipient")
            if not recipient:
                continue
            recipients.append(_address(recipient))
            if not status:
                found = _STATUS.search(group.get("status", ""))
                status = found.group(0) if found else ""
                action = group.get("action", "").lower()
                diagnostic = group.get("diagnostic-code", "")
    original = ""
    for part in parts:
        if part.content_type in ("message/rfc822", "text/rfc822-headers", "message/global"):
            headers, _ = split_headers(part.payload)
            for name, value in headers:
                if name.lower() == "message-id":
                    found_id = _MSG_ID.search(unfold(value))
                    if found_id:
                        original = found_id.group(0).decode("ascii", "replace")
                    break
            if original:
                break
    permanent = status.startswith("5") or (not status and action == "failed")
    return BounceInfo(
        status=status,
        action=action,
        permanent=permanent,
        recipients=tuple(recipients),
        diagnostic=diagnostic,
        original_message_id=original,
    )
