"""Helpers for the intake filter tests: build a message, run the filters, ingest."""

from __future__ import annotations

from pathlib import Path

from vorgang.channels import journal
from vorgang.channels.email.filters import FILTERS
from vorgang.channels.email.filters.base import IntakeContext
from vorgang.channels.email.intake import process
from vorgang.channels.email.parsing import parse
from vorgang.channels.models import InboundMessage

FIXTURES = Path(__file__).resolve().parent.parent / "email" / "fixtures" / "intake"
ADDRESS = "buergerbuero@stadt.example"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def mail(
    subject: str = "Frage zur Anmeldung",
    to: str = ADDRESS,
    sender: str = "Erika Mustermann <erika@example.org>",
    message_id: str = "<m1@example.org>",
    extra: str = "",
    body: str = "Guten Tag,\nwann kann ich kommen?\n",
) -> bytes:
    """A small plain-text message; ``extra`` is more header lines, each ending in CRLF."""
    headers = (
        f"From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: {message_id}\r\n"
        f"Date: Sat, 28 Nov 2026 10:00:00 +0100\r\n{extra}"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
    )
    return headers.encode() + body.encode()


def ingest(
    raw: bytes, recipient: str = ADDRESS, envelope_from: str = "erika@example.org"
) -> InboundMessage:
    """accept + process, as the LMTP listener and the worker do it."""
    entry = journal.accept(raw, channel="lmtp", recipient=recipient, envelope_from=envelope_from)
    process(entry.pk)
    entry.refresh_from_db()
    return entry


def run_filters(
    raw: bytes,
    *,
    upto: str = "follow_up",
    recipient: str = ADDRESS,
    envelope_from: str = "erika@example.org",
    channel: str = "lmtp",
) -> IntakeContext:
    """The context after the filters up to and including ``upto`` (nothing delivered)."""
    names = [name for name, _apply in FILTERS]
    assert upto in names, f"no filter {upto!r}"
    entry = journal.accept(raw, channel=channel, recipient=recipient, envelope_from=envelope_from)
    ctx = IntakeContext(inbound=entry, parsed=parse(raw))
    for _name, apply in FILTERS[: names.index(upto) + 1]:
        apply(ctx)
    return ctx
