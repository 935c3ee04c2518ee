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
        ticket = (
            Ticket.objects.filter(tenant_id=tenant_id, number=found.group(1))
            .select_related("state", "department", "citizen")
            .first()
        )
        if ticket is not None:
            return follow_merges(ticket)
    return None


def apply(ctx: IntakeContext) -> None:
    if ctx.department is None or ctx.ignore_reason or ctx.bounce is not None:
        return
    if ctx.ticket is not None:
        return
    tenant_id = ctx.department.tenant_id

    if ctx.reply_token:
        ticket = (
            Ticket.objects.filter(tenant_id=tenant_id, reply_token=ctx.reply_token)
            .select_related("state", "department", "citizen")
            .first()
        )
        if ticket is not None:
            ctx.ticket, ctx.follow_up_by = follow_merges(ticket), "token"
            return

    referenced = [ctx.parsed.in_reply_to, *reversed(ctx.parsed.references)]
    referenced = [ref for ref in referenced if ref][:MAX_REFERENCES]
    if referenced:
        article = (
            Article.objects.filter(message_id__in=referenced, ticket__tenant_id=tenant_id)
            .select_related("ticket", "ticket__state", "ticket__department", "ticket__citizen")
            .order_by("-pk")
            .first()
        )
        if article is not None:
            ctx.ticket, ctx.follow_up_by = follow_merges(article.ticket), "message_id"
            return

    ticket = case_by_subject(tenant_id, ctx.parsed.subject or "")
    if ticket is not None:
        ctx.ticket, ctx.follow_up_by = ticket, "subject"


def follow_merges(ticket: Ticket) -> Ticket:
    """The case that ``ticket`` was (perhaps repeatedly) merged into, within its tenant."""
    seen: set[int] = set()
    while ticket.merged_into_id and ticket.pk not in seen and len(seen) < MAX_MERGE_HOPS:
        seen.add(ticket.pk)
        target = (
            Ticket.objects.select_related("state", "department", "citizen")
            .filter(pk=ticket.merged_into_id, tenant_id=ticket.tenant_id)
            .first()
        )
        if target is None:
            break
        ticket = target
    return ticket
