"""Loop and auto-reply guard: which mail must never get an automatic answer.

``apply(ctx)`` marks the context:

* ``auto_generated``: the message was written by a machine (``Auto-Submitted``
  other than ``no``, ``Precedence: bulk/junk/list``, ``X-Loop``, mailing-list
  headers, ``X-Autoreply``/``X-Autorespond``, a mailer-daemon or postmaster
  sender, the null return path ``<>``, one of our own addresses);
* ``suppress_auto_response``: never send automatic mail back (all of the above,
  plus ``X-Auto-Response-Suppress`` and no-reply senders);
* ``auto_reply``: an out-of-office or similar answer; ``intake.deliver`` adds it
  to the case without reopening it (and without applying the follow-up policy);
* ``own_loop``: the message carries our own ``X-Loop`` value, so it is mail that
  Vorgang sent and that came back.

``may_auto_respond(ctx)`` is what the sender of automatic mail (the case
confirmation) asks before it sends: the marks above, the citizen's
``email_undeliverable``, and the rate limits.

How outbound code must mark its automatic mail, so that the rate limits see it
(``channels.automatic`` records every such article as it is written) and other
systems recognise it:

* the article is created with ``kind="email"``, ``sender="system"``,
  ``internal=False``, ``to`` = the recipient's bare address (``"a@example.org"``)
  or ``"Name <a@example.org>"``;
* the message carries ``Auto-Submitted: auto-replied`` (RFC 3834),
  ``X-Loop: <own_loop_value()>``, ``Precedence: bulk`` and
  ``X-Auto-Response-Suppress: All``, and is sent with the null return path only
  if bounces are not wanted (we want them: send from the department address).
"""

from __future__ import annotations

import re
from datetime import timedelta

from django.conf import settings

from vorgang.channels import addressing, automatic
from vorgang.core import clock
from vorgang.tickets.models import Ticket

from .base import IntakeContext

#: local parts (without "-", "_", "." and a "+tag") of addresses that are machines
SYSTEM_LOCAL_PARTS = frozenset({"mailerdaemon", "postmaster", "noreply", "donotreply"})
#: of those, the ones that send bounces and reports (not just "do not answer")
MACHINE_LOCAL_PARTS = frozenset({"mailerdaemon", "postmaster"})

SUPPRESS_VALUES = frozenset({"all", "autoreply", "oof", "dr", "rn", "nrn"})
BULK_PRECEDENCE = frozenset({"bulk", "junk", "list"})

#: subjects of out-of-office answers (German and English clients)
OUT_OF_OFFICE = re.compile(
    r"\b(?:out[ -]of[ -]office|abwesenheitsnotiz|automatische\s+antwort|automatic\s+reply"
    r"|auto[ -]?reply|abwesend)\b",
    re.IGNORECASE,
)

DEFAULT_LIMIT_PER_HOUR = 10
DEFAULT_LIMIT_PER_CASE = 3  # per day


def own_loop_value() -> str:
    """The ``X-Loop`` value Vorgang puts on its own mail (setting ``VORGANG_X_LOOP``)."""
    return str(getattr(settings, "VORGANG_X_LOOP", "Vorgang") or "Vorgang")


def local_part_key(address: str) -> str:
    local = addressing.normalise(address).rpartition("@")[0]
    local = local.partition("+")[0]
    return re.sub(r"[-_.]", "", local)


def is_system_address(address: str) -> bool:
    """mailer-daemon, postmaster, no-reply, noreply, donotreply (any domain, any case)."""
    return "@" in address and local_part_key(address) in SYSTEM_LOCAL_PARTS


def _mark(ctx: IntakeContext, reason: str, *, generated: bool = True) -> None:
    ctx.suppress_auto_response = True
    if generated:
        ctx.auto_generated = True
    if reason not in ctx.loop_reasons:
        ctx.loop_reasons.append(reason)


_TOKEN = re.compile(r"\s*([A-Za-z0-9_.-]+)")


def _first_token(value: str) -> str:
    """``auto-replied; owner-email=...`` or ``No (comment)`` → the keyword, lower-case."""
    found = _TOKEN.match(value)
    return found.group(1).lower() if found else ""


def apply(ctx: IntakeContext) -> None:
    auto_submitted = _first_token(ctx.header("Auto-Submitted"))
    if auto_submitted and auto_submitted != "no":
        _mark(ctx, "auto-submitted")
        if auto_submitted == "auto-replied":
            ctx.auto_reply = True

    precedence = _first_token(ctx.header("Precedence"))
    if precedence in BULK_PRECEDENCE:
        _mark(ctx, "precedence")
    elif precedence == "auto_reply":
        _mark(ctx, "precedence")
        ctx.auto_reply = True

    loops = ctx.headers("X-Loop")
    if loops:
        _mark(ctx, "x-loop")
        ours = own_loop_value().lower()
        if any(ours in value.lower() for value in loops):
            ctx.own_loop = True
            _mark(ctx, "own-x-loop")

    if ctx.header("List-Id") or ctx.header("List-Unsubscribe"):
        _mark(ctx, "list")

    suppress = {v.strip().lower() for v in ctx.header("X-Auto-Response-Suppress").split(",")}
    if suppress & SUPPRESS_VALUES:
        _mark(ctx, "x-auto-response-suppress", generated=False)

    if ctx.header("X-Autoreply") or ctx.header("X-Autorespond"):
        _mark(ctx, "x-autoreply")
        ctx.auto_reply = True

    if OUT_OF_OFFICE.search(ctx.parsed.subject or ""):
        _mark(ctx, "out-of-office-subject")
        ctx.auto_reply = True

    _check_addresses(ctx)

    # The null reverse path: aiosmtpd records ``MAIL FROM:<>`` as "<>"; the final MTA
    # writes it as ``Return-Path: <>`` (IMAP, pipe).
    if "<>" in (ctx.header("Return-Path").strip(), ctx.inbound.envelope_from.strip()):
        _mark(ctx, "null-return-path")


def _check_addresses(ctx: IntakeContext) -> None:
    sender = addressing.normalise(ctx.parsed.from_email or "")
    if sender and "@" in sender:
        key = local_part_key(sender)
        if key in SYSTEM_LOCAL_PARTS:
            _mark(ctx, "system-sender", generated=key in MACHINE_LOCAL_PARTS)
    answer_to = [sender, *ctx.parsed.reply_to_addresses]
    for address in answer_to:
        if address and "@" in address and addressing.resolve(address) is not None:
            # Mail from (or answered to) one of our own addresses: answering it loops.
            _mark(ctx, "own-address")
            break


# --- may we send automatic mail? ------------------------------------------------------


def limit_per_hour() -> int:
    return int(getattr(settings, "VORGANG_AUTO_REPLY_LIMIT_PER_HOUR", DEFAULT_LIMIT_PER_HOUR))


def limit_per_case() -> int:
    return int(getattr(settings, "VORGANG_AUTO_REPLY_LIMIT_PER_CASE", DEFAULT_LIMIT_PER_CASE))


def automatic_mails(address: str, *, since: timedelta, ticket: Ticket | None = None) -> int:
    """Automatic mails (system e-mail articles) sent to ``address`` within ``since``
    (on ``ticket`` only, if given); the record goes back ``automatic.KEEP_FOR``."""
    start = clock.now() - since
    hour, case = automatic.counts(
        address, hour_since=start, case_since=start, ticket_id=ticket.pk if ticket else None
    )
    return case if ticket is not None else hour


def within_rate_limits(address: str, ticket: Ticket | None = None) -> bool:
    """At most N automatic mails per address and hour, and M per address, case and day.

    Both counts come from one query over the record of automatic mail sent
    (``channels.automatic``), not from the articles.
    """
    now = clock.now()
    hour, case = automatic.counts(
        address,
        hour_since=now - timedelta(hours=1),
        case_since=now - timedelta(days=1),
        ticket_id=ticket.pk if ticket is not None else None,
    )
    if hour >= limit_per_hour():
        return False
    return ticket is None or case < limit_per_case()


def may_auto_respond(
    ctx: IntakeContext, *, address: str | None = None, ticket: Ticket | None = None
) -> bool:
    """May Vorgang send an automatic mail (e.g. the confirmation) in answer to this message?

    ``address`` defaults to the citizen's address, else the sender's; ``ticket`` to
    the case the message was delivered to. Call it after ``intake.deliver``.
    """
    if ctx.ignore_reason or ctx.bounce is not None:
        return False
    if ctx.auto_generated or ctx.auto_reply or ctx.suppress_auto_response or ctx.own_loop:
        return False
    if address is None:
        address = ctx.citizen.email if ctx.citizen is not None else ctx.parsed.from_email
    address = addressing.normalise(address or "")
    if not address or "@" not in address or is_system_address(address):
        return False
    citizen = ctx.citizen
    if (
        citizen is not None
        and citizen.email_undeliverable
        and addressing.normalise(citizen.email) == address
    ):
        return False
    if addressing.resolve(address) is not None:
        return False
    return within_rate_limits(address, ticket or ctx.delivered_ticket or ctx.ticket)
