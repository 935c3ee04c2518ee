"""Is this a reply to an existing case? Token first, then our Message-IDs, then the subject.

1. the reply token in the recipient address (``department+<token>@...``);
2. a Message-ID of one of the case's articles in In-Reply-To or References
   (newest reference first);
3. ``[<tag>#<number>]`` in the subject, the tag from ``settings.VORGANG_SUBJECT_TAG``.

Every lookup stays inside the tenant of the recipient department, so a token,
Message-ID or number of another tenant's case opens a new case instead; a case
that was merged leads to the case it was merged into. A token that matches no
case falls through to the Message-IDs and the subject. Bounces are threaded by
the ``bounce`` filter, not here.
"""

from __future__ import annotations

import re

from django.conf import settings
from django.db import connection

from vorgang.tickets import joined
from vorgang.tickets.models import Article, Ticket

from .base import IntakeContext

MAX_REFERENCES = 50
MAX_MERGE_HOPS = 20


def subject_pattern() -> re.Pattern[str]:
    tag = re.escape(getattr(settings, "VORGANG_SUBJECT_TAG", "Vorgang"))
    return re.compile(rf"\[{tag}#\s*([A-Za-z0-9-]+)\]", re.IGNORECASE)


def case_by_subject(tenant_id: int, subject: str) -> Ticket | None:
    """The tenant's case named by ``[Vorgang#<number>]`` in ``subject`` (merges followed)."""
    for found in subject_pattern().finditer(subject[:2000]):
        ticket = joined.one("t.tenant_id = %s AND t.number = %s", [tenant_id, found.group(1)])
        if ticket is not None:
            return follow_merges(ticket)
    return None


def apply(ctx: IntakeContext) -> None:
    if ctx.department is None or ctx.ignore_reason or ctx.bounce is not None:
        return
    if ctx.ticket is not None:
        return
    tenant_id = ctx.department.tenant_id

    # Each lookup written out (tickets.joined; numbers and tokens are unique): the ORM's
    # query with three joins cost about 1 ms of Python a message.
    if ctx.reply_token:
        ticket = joined.one("t.tenant_id = %s AND t.reply_token = %s", [tenant_id, ctx.reply_token])
        if ticket is not None:
            ctx.ticket, ctx.follow_up_by = follow_merges(ticket), "token"
            return

    referenced = [ctx.parsed.in_reply_to, *reversed(ctx.parsed.references)]
    referenced = [ref for ref in referenced if ref][:MAX_REFERENCES]
    if referenced:
        ticket_id = _newest_case_by_message_id(tenant_id, referenced)
        ticket = joined.one("t.id = %s", [ticket_id]) if ticket_id is not None else None
        if ticket is not None:
            ctx.ticket, ctx.follow_up_by = follow_merges(ticket), "message_id"
            return

    ticket = case_by_subject(tenant_id, ctx.parsed.subject or "")
    if ticket is not None:
        ctx.ticket, ctx.follow_up_by = ticket, "subject"


def _newest_case_by_message_id(tenant_id: int, message_ids: list[str]) -> int | None:
    """The case of the newest article of the tenant with one of these Message-IDs.

    All matches (a handful), the newest picked here: with ORDER BY id DESC LIMIT 1 a
    planner may walk the articles by id instead of the Message-ID index.
    """
    quote = connection.ops.quote_name
    sql = (
        f"SELECT a.{quote('id')}, a.{quote('ticket_id')} "  # noqa: S608
        f"FROM {quote(Article._meta.db_table)} a INNER JOIN {quote(Ticket._meta.db_table)} t "
        f"ON t.{quote('id')} = a.{quote('ticket_id')} "
        f"WHERE a.{quote('message_id')} IN ({', '.join(['%s'] * len(message_ids))}) "
        f"AND t.{quote('tenant_id')} = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*message_ids, tenant_id])
        found = cursor.fetchall()
    return max(found)[1] if found else None


def follow_merges(ticket: Ticket) -> Ticket:
    """The case that ``ticket`` was (perhaps repeatedly) merged into, within its tenant."""
    seen: set[int] = set()
    while ticket.merged_into_id and ticket.pk not in seen and len(seen) < MAX_MERGE_HOPS:
        seen.add(ticket.pk)
        target = joined.one(
            "t.id = %s AND t.tenant_id = %s", [ticket.merged_into_id, ticket.tenant_id]
        )
        if target is None:
            break
        ticket = target
    return ticket
