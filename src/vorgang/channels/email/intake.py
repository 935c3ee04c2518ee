"""Processing one journal entry: parse, run the filters, write through tickets.services.

Idempotent: the entry is locked, and the case/article and the entry's new status
are written in one transaction, so a crash leaves either both or neither; a
second run of a processed entry does nothing. An exception marks the entry
``failed`` with the reason and never touches other entries.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import timedelta

from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef
from django.utils.translation import gettext as _

from vorgang.accounts.models import FollowUpPolicy
from vorgang.channels import addressing, journal
from vorgang.channels.models import InboundMessage, InboundStatus
from vorgang.core import batchcache, clock, instances
from vorgang.search import deferral, indexing
from vorgang.search.models import SearchDocument
from vorgang.tickets import locks, services
from vorgang.tickets.models import Article, ArticleKind, SenderKind, StateKind, Ticket

from . import confirmations, outbound
from .filters import bounce, loop_guard, run
from .filters.base import IntakeContext
from .parsing import ParsedMessage, parse

log = logging.getLogger(__name__)

DONE = (InboundStatus.PROCESSED, InboundStatus.DUPLICATE)
NO_SUBJECT = "(ohne Betreff)"


# A drain claims this many entries at a time (a SIGKILL leaves at most these stale), and
# hands the worker back after DRAIN_LIMIT so that an agent's reply (as urgent, and queued
# before the next drain) does not wait behind a flood; automatic mail does (ADR 0007).
BATCH_SIZE = 20
DRAIN_LIMIT = 500


def drain(batch_size: int = BATCH_SIZE, limit: int = DRAIN_LIMIT) -> tuple[int, bool]:
    """Process received entries in batches: (how many, whether some are left for later).

    One task per batch instead of one per message, and lookups (departments by
    address, states) made once per batch: that is what lets the worker keep up
    with the listener. Each entry still gets its own transaction, so one bad
    message fails alone.
    """
    done = 0
    while done < limit:
        ids = claim(min(batch_size, limit - done))
        if not ids:
            return done, False
        # Events run after each message's commit; the search index is written once per
        # touched case at the end of the batch (search.deferral).
        with batchcache.batch(), deferral.deferred(), confirmations.batched():
            # The rows as claimed, in one query; each is read again under its lock.
            claimed = InboundMessage.objects.select_related("raw").in_bulk(ids)
            for pk in ids:
                process(pk, claimed=True, entry=claimed.get(pk))
        done += len(ids)
    return done, InboundMessage.objects.filter(status=InboundStatus.RECEIVED).exists()


def claim(limit: int) -> list[int]:
    """Mark up to ``limit`` received entries as processing (oldest first) and return them.

    On PostgreSQL, rows another worker holds are skipped, so several workers can
    drain at once; SQLite has one writer anyway.
    """
    with transaction.atomic():
        ids = list(
            InboundMessage.objects.select_for_update(skip_locked=True)
            .filter(status=InboundStatus.RECEIVED)
            .order_by("pk")
            .values_list("pk", flat=True)[:limit]
        )
        if ids:
            InboundMessage.objects.filter(pk__in=ids).update(
                status=InboundStatus.PROCESSING, started_at=clock.now(), attempts=F("attempts") + 1
            )
    return ids


def process(inbound_id: int, *, claimed: bool = False, entry: InboundMessage | None = None) -> str:
    """Process one entry; returns its final status. ``claimed``: ``claim`` marked it
    (``entry``: its row as read right after, with ``raw``; a batch reads them at once)."""
    if claimed:
        if entry is None:
            entry = InboundMessage.objects.select_related("raw").filter(pk=inbound_id).first()
    else:
        entry = _claim_one(inbound_id)
    if entry is None:
        return "missing"
    if entry.status in DONE:
        return str(entry.status)
    try:
        raw = entry.raw.read()
        parsed = parse(raw)
        # The attachments' bytes on disk (fsynced) before the transaction, as the
        # listener does with the message: the disk flush does not hold the write lock.
        placed = [journal.write_raw(a.content) for a in parsed.attachments]
        # All or nothing (an error fails the message as a whole, see below): so the
        # services lock each case once and need no savepoints (tickets.locks).
        with transaction.atomic(), locks.scope():
            _lock_copies(entry.raw_id)
            # The row's status under its lock, and in the same statement whether an
            # earlier copy was processed already (the idempotency check by content and
            # Message-ID). Nothing else of a journal row changes after it was accepted.
            relocked = _relock(inbound_id)
            if relocked is None:
                return "missing"
            entry.status, earlier = relocked
            if entry.status in DONE:
                return str(entry.status)
            duplicate = _earlier_copy(earlier)
            if duplicate is not None:
                _finish(entry, InboundStatus.DUPLICATE, duplicate.ticket, duplicate.article)
                return InboundStatus.DUPLICATE
            ctx = run(IntakeContext(inbound=entry, parsed=parsed, placed=placed))
            article = deliver(ctx, raw)
            if ctx.new_case and article is not None and ctx.delivered_ticket is not None:
                # Inside the same transaction: no case without its confirmation, or
                # the other way round. The loop guard decides whether it may go out.
                outbound.queue_confirmation(
                    ctx.delivered_ticket, article, allowed=loop_guard.may_auto_respond(ctx)
                )
            _finish(
                entry,
                InboundStatus.PROCESSED,
                article.ticket if article else None,
                article,
                note="; ".join([ctx.ignore_reason, *ctx.notes]).strip("; "),
            )
            return InboundStatus.PROCESSED
    except Exception as exc:
        # The reason is kept for admins; the log gets no citizen data, only the type.
        log.warning("inbound %s failed: %s", inbound_id, type(exc).__name__)
        with transaction.atomic():
            InboundMessage.objects.filter(pk=inbound_id).update(
                status=InboundStatus.FAILED, error=f"{type(exc).__name__}: {exc}"[:4000]
            )
        return InboundStatus.FAILED


# The first key of the transaction-level advisory locks of ``_lock_copies`` ("VG" + 1).
_COPIES_LOCK_CLASS = 0x56470001


def _lock_copies(raw_id: int) -> None:
    """On PostgreSQL, wait until no other transaction processes a copy of these bytes.

    Several workers drain at once on PostgreSQL; two copies of one message (an MTA's
    second delivery) in two workers would each find no processed earlier copy (neither
    has committed) and both become articles. Holding a lock on the bytes until the
    commit makes the second look after the first has committed: it finds the copy and
    is a duplicate. SQLite needs none: a writing transaction there starts only after
    the previous one committed, and sees it.
    """
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        # Two int4 keys; unrelated messages that share the second only wait briefly.
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_COPIES_LOCK_CLASS, raw_id % 2**31])


def _claim_one(inbound_id: int) -> InboundMessage | None:
    """Mark one entry as processing (unless it is done), counting the attempt first: a
    crash during processing leaves the entry ``processing`` for the recovery job."""
    with transaction.atomic():
        entry = InboundMessage.objects.select_for_update().filter(pk=inbound_id).first()
        if entry is None or entry.status in DONE:
            return entry
        entry.status = InboundStatus.PROCESSING
        entry.started_at = clock.now()
        entry.attempts += 1
        entry.save(update_fields=["status", "started_at", "attempts"])
    return entry


# The status of one entry and, in the same statement, the id of an earlier processed
# copy (the same bytes to the same recipient: an MTA's second delivery) or NULL; on
# PostgreSQL with the row locked (SQLite's write lock covers it). Written out: the ORM's
# locked read with this as an annotation cost about 1 ms of CPU to build per message.
# No ORDER BY in the subquery: sorted by date the planner walks every processed entry
# (status index) instead of the few with these bytes (raw index).
_RELOCK_SQL = (
    'SELECT m.status, (SELECT e.id FROM "channels_inboundmessage" e'
    " WHERE e.raw_id = m.raw_id AND e.message_id = m.message_id"
    " AND e.recipient = m.recipient AND e.status = %s AND e.id <> m.id LIMIT 1)"
    ' FROM "channels_inboundmessage" m WHERE m.id = %s'
)


def _relock(inbound_id: int) -> tuple[str, int | None] | None:
    """(status, id of an earlier processed copy or None) of the entry, read under its lock."""
    sql = _RELOCK_SQL
    if connection.features.has_select_for_update:
        sql += " FOR UPDATE"
    with connection.cursor() as cursor:
        cursor.execute(sql, [InboundStatus.PROCESSED, inbound_id])
        row = cursor.fetchone()
    return None if row is None else (str(row[0]), row[1])


def _earlier_copy(earlier: int | None) -> InboundMessage | None:
    """The earlier processed copy with id ``earlier`` (as ``_relock`` found it), if any."""
    # Nearly always there is none; the full row (with its case) only when there is one.
    if earlier is None:
        return None
    return InboundMessage.objects.select_related("ticket", "article").get(pk=earlier)


def _finish(
    entry: InboundMessage,
    status: str,
    ticket: Ticket | None,
    article: Article | None,
    note: str = "",
) -> None:
    entry.status = status
    entry.ticket = ticket
    entry.article = article
    entry.error = ""
    entry.note = note[:2000]
    entry.processed_at = clock.now()
    if ticket is not None and entry.department_id is None:
        entry.department_id = ticket.department_id
        entry.tenant_id = ticket.tenant_id
    # As save(update_fields=...), with the UPDATE written out (core.instances).
    instances.update(
        entry,
        ["status", "ticket", "article", "error", "note", "processed_at", "department", "tenant"],
    )


class NoDepartment(Exception):
    """No recipient belongs to an active department; an admin must route or retry it."""


def _text(value: str) -> str:
    """Text as the database takes it: PostgreSQL refuses NUL characters in text."""
    return value.replace("\x00", "") if "\x00" in value else value


def case_title(subject: str) -> str:
    return " ".join(_text(subject or "").split()) or NO_SUBJECT


def article_input(parsed: ParsedMessage, raw: bytes, ctx: IntakeContext) -> services.ArticleInput:
    return services.ArticleInput(
        body=_text(parsed.body),
        kind=ArticleKind.EMAIL,
        sender=SenderKind.CITIZEN if ctx.citizen else SenderKind.SYSTEM,
        content_type=parsed.content_type,
        subject=_text(parsed.subject),
        from_addr=_text(parsed.from_),
        to=_text(parsed.to),
        cc=_text(parsed.cc),
        message_id=_text(parsed.message_id),
        in_reply_to=_text(parsed.in_reply_to),
        references=_text(" ".join(parsed.references)),
        attachments=[
            services.AttachmentInput(
                _text(a.filename),
                a.content,
                _text(a.content_type),
                _text(a.content_id),
                placed=ctx.placed[i] if i < len(ctx.placed) else "",
            )
            for i, a in enumerate(parsed.attachments)
        ],
        raw=raw,
        raw_blob=ctx.inbound.raw,  # stored by the listener already: no second hash and lookup
        notice="\n".join(ctx.notes),
    )


def deliver(ctx: IntakeContext, raw: bytes) -> Article | None:
    """Write the message as a new case or an article of ``ctx.ticket``; None when ignored.

    Out-of-office replies and bounces join their case as they are: no reopening,
    no follow-up policy (a closed case stays closed and gets no new sibling).
    """
    if ctx.ignore_reason:
        return None
    if ctx.department is None:
        raise NoDepartment("no recipient address belongs to an active department")
    data = article_input(ctx.parsed, raw, ctx)
    if ctx.bounce is not None:
        data = bounce.article_input(ctx, data)
    ticket = ctx.ticket
    if ticket is not None and ctx.bounce is None:
        _flag_unexpected_sender(ctx, ticket)
        data = replace(data, notice="\n".join(ctx.notes))
        if not ctx.auto_reply:
            ticket = _apply_follow_up_policy(ctx, ticket)
    if ticket is None:
        ticket = services.create_ticket(
            None,
            department=ctx.department,
            title=case_title(ctx.parsed.subject),
            citizen=ctx.citizen,
            priority=ctx.priority,
            tags=ctx.tags,
            article=data,
        )
        if ctx.new_case_linked_to is not None:
            services.link(None, ticket, ctx.new_case_linked_to)
        article = ticket.first_article  # create_ticket hands the article back on the case
        ctx.new_case = True
    else:
        article = services.add_article(None, ticket, data)
        for tag in ctx.tags:
            services.tag(None, ticket, tag)
        if (
            ctx.reopen
            and not ctx.auto_reply
            and ticket.state.kind not in (StateKind.OPEN, StateKind.NEW)
        ):
            services.change_state(None, ticket, "open")
    ctx.delivered_ticket = ticket
    if article is not None and ctx.bounce is not None:
        bounce.record(ctx, article)
    return article


def _flag_unexpected_sender(ctx: IntakeContext, ticket: Ticket) -> None:
    """Note when the sender is neither the case's citizen nor someone the case has copied."""
    sender = addressing.normalise(ctx.parsed.from_email or "")
    if not sender:
        return
    known = {addressing.normalise(ticket.citizen.email)} if ticket.citizen else set()
    if sender in known:
        return
    with connection.cursor() as cursor:  # written out: the ORM built it for ~0.5 ms
        cursor.execute(_RECIPIENTS_SQL, [ticket.pk])
        recipients = cursor.fetchall()
    for to_line, cc_line in recipients:
        known.update(addressing.parse_list(cc_line))
        known.update(addressing.parse_list(to_line))
    if sender not in known:
        ctx.notes.append(unexpected_sender_notice())


# The addresses of the case's newest 200 articles.
_RECIPIENTS_SQL = (
    f'SELECT "to", "cc" FROM "{Article._meta.db_table}" WHERE "ticket_id" = %s'  # noqa: S608
    ' ORDER BY "id" DESC LIMIT 200'
)


def unexpected_sender_notice() -> str:
    return _(
        "The sender is neither the citizen of this case nor copied on it: please check "
        "whether the message really belongs to this case."
    )


def _apply_follow_up_policy(ctx: IntakeContext, ticket: Ticket) -> Ticket | None:
    """A reply to a closed case reopens it, or opens a new linked case, as the department says."""
    if ticket.state.kind not in (StateKind.CLOSED, StateKind.MERGED):
        return ticket
    department = ticket.department
    policy = department.follow_up_policy
    if policy == FollowUpPolicy.REOPEN:
        return ticket
    if policy == FollowUpPolicy.NEW_AFTER_DAYS and ticket.closed_at is not None:
        age = clock.now() - ticket.closed_at
        if age.days < department.follow_up_days:
            return ticket
    ctx.new_case_linked_to = ticket
    ctx.department = department
    return None


# How far back ``index_missed`` looks: well beyond a worker's restart.
MISSED_INDEX_WINDOW = timedelta(minutes=15)


def index_missed() -> int:
    """Index the cases of recently processed mail that the search index missed.

    A batch indexes its cases when it ends (``search.deferral``); a worker killed
    before that leaves them stored but not findable. The scheduler runs this every
    minute, so they are findable again within a minute of the restart. It looks only
    at the journal's last minutes (an index on status and time), never at all cases.
    """
    fresh = SearchDocument.objects.filter(
        ticket_id=OuterRef("ticket_id"), indexed_at__gte=OuterRef("processed_at")
    )
    missed = list(
        InboundMessage.objects.filter(
            status=InboundStatus.PROCESSED,
            received_at__gte=clock.now() - MISSED_INDEX_WINDOW,
            ticket__isnull=False,
        )
        .exclude(Exists(fresh))
        .values_list("ticket_id", flat=True)
        .distinct()
    )
    if missed:
        log.info("indexing %d cases of processed mail the search index missed", len(missed))
        indexing.refresh_many(sorted(missed))
    return len(missed)
