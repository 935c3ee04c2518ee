"""Bounces (delivery status notifications, RFC 3464): back to the case they are about.

``apply(ctx)`` runs when the parser found a DSN. It finds our outbound article
by the returned message's Message-ID (``BounceInfo.original_message_id``, else
the Message-ID in the returned message or headers), else the case by the
``[Vorgang#<number>]`` tag in the returned subject (or the DSN's own subject).
A matched bounce goes into THAT case; one we cannot match becomes a new case in
the recipient department, tagged ``unzustellbar``. Either way it is an internal
system article (the citizen never sees it), it never reopens the case, never
applies the follow-up policy and never gets an automatic answer.

``record(ctx, article)`` runs in ``intake.deliver`` after the article was
written (same transaction): on a permanent failure of a matched outbound article
it marks the article ``failed`` with the diagnostic (through
``tickets.services.record_delivery``) and the citizen's address undeliverable
(``mark_undeliverable``). A temporary failure (4.x.x, ``delayed``) or a success
report only adds the article. An unmatched bounce marks nothing, since anyone
could send one.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from django.db.models import Q
from django.utils.translation import gettext as _

from vorgang.accounts.models import Role, User
from vorgang.channels import addressing
from vorgang.channels.email.parsing import BounceInfo, ParsedMessage, parse
from vorgang.tickets import locks, services
from vorgang.tickets.models import Article, ArticleKind, SenderKind, Ticket

from . import follow_up
from .base import IntakeContext

log = logging.getLogger(__name__)

TAG_UNMATCHED = "unzustellbar"
#: returned parts the original message's headers are read from
RETURNED_TYPES = ("message/rfc822", "text/rfc822-headers", "message/global")
MAX_RETURNED = 5


def apply(ctx: IntakeContext) -> None:
    info = ctx.parsed.bounce
    if info is None or ctx.ignore_reason:
        return
    ctx.bounce = info
    ctx.bounce_permanent = info.permanent
    ctx.auto_generated = True
    ctx.suppress_auto_response = True
    ctx.reopen = False
    if "bounce" not in ctx.loop_reasons:
        ctx.loop_reasons.append("bounce")

    returned = _returned_messages(ctx.parsed)
    message_ids = [info.original_message_id, *(r.message_id for r in returned)]
    article = _outbound_by_message_id(ctx, [m for m in message_ids if m])
    if article is not None:
        ctx.bounced_article = article
        ctx.ticket = follow_up.follow_merges(article.ticket)
        ctx.follow_up_by = "bounce"
        if ctx.department is None:
            ctx.department = ctx.ticket.department
        return
    if ctx.department is not None:
        subjects = [r.subject for r in returned] + [ctx.parsed.subject]
        for subject in subjects:
            ticket = follow_up.case_by_subject(ctx.department.tenant_id, subject or "")
            if ticket is not None:
                ctx.ticket = ticket
                ctx.follow_up_by = "bounce"
                ctx.bounced_article = _latest_outbound(ticket, list(info.recipients))
                return
    if TAG_UNMATCHED not in ctx.tags:
        ctx.tags.append(TAG_UNMATCHED)


def _returned_messages(parsed: ParsedMessage) -> list[ParsedMessage]:
    """The returned message (or its headers) that the DSN carries, parsed."""
    found = []
    for attachment in parsed.attachments:
        if attachment.content_type in RETURNED_TYPES and attachment.content:
            content = attachment.content
            if attachment.content_type == "text/rfc822-headers":
                content = content.rstrip(b"\r\n") + b"\r\n\r\n"
            found.append(parse(content))
            if len(found) >= MAX_RETURNED:
                break
    return found


_OUTBOUND = Q(kind=ArticleKind.EMAIL, sender__in=[SenderKind.AGENT, SenderKind.SYSTEM]) & Q(
    internal=False
)


def _outbound_by_message_id(ctx: IntakeContext, message_ids: list[str]) -> Article | None:
    """Our article with one of these Message-IDs; an outbound one (agent, system) first.

    Within the recipient department's tenant; when no department could be found
    from the recipient (a DSN to a bounce address), by the Message-ID alone.
    """
    if not message_ids:
        return None
    found = Article.objects.filter(message_id__in=message_ids).select_related(
        "ticket", "ticket__state", "ticket__department"
    )
    if ctx.department is not None:
        found = found.filter(ticket__tenant_id=ctx.department.tenant_id)
    return found.filter(_OUTBOUND).order_by("-pk").first() or found.order_by("-pk").first()


def _latest_outbound(ticket: Ticket, recipients: list[str]) -> Article | None:
    """The case's newest outbound e-mail to one of the failed recipients."""
    found = Article.objects.filter(_OUTBOUND, ticket=ticket).select_related("ticket")
    wanted = [addressing.normalise(r) for r in recipients if "@" in r]
    if wanted:
        condition = Q()
        for address in wanted:
            condition |= Q(to__icontains=address)
        found = found.filter(condition)
    return found.order_by("-pk").first()


# --- after the article is written -------------------------------------------------------


def notice(ctx: IntakeContext) -> str:
    """What happened, for the agent (plain language, no jargon)."""
    info = ctx.bounce or BounceInfo()
    recipients = ", ".join(info.recipients) or _("(unknown)")
    reason = " ".join(info.diagnostic.split()) or info.status or _("no reason given")
    if ctx.ticket is None:
        text = _(
            "A mail server reports that a message could not be delivered, but it is not "
            "clear which case it belongs to. Recipient: %(recipients)s. Reason: %(reason)s"
        )
    elif info.permanent and ctx.bounced_article is not None:
        text = _(
            "Our message could not be delivered to %(recipients)s and will not arrive. "
            "Reason given by the mail server: %(reason)s. The address is marked as "
            "undeliverable; please contact the citizen another way (phone, letter) or "
            "ask for a new e-mail address."
        )
    elif info.permanent:
        text = _(
            "A message of this case could not be delivered to %(recipients)s and will not "
            "arrive. Reason given by the mail server: %(reason)s"
        )
    elif info.temporary:
        text = _(
            "Our message to %(recipients)s has not been delivered yet; the mail server "
            "keeps trying. Nothing needs to be done for now. Reason: %(reason)s"
        )
    else:
        text = _("A mail server sent a delivery report for %(recipients)s: %(reason)s")
    return text % {"recipients": recipients, "reason": reason}


def record(ctx: IntakeContext, article: Article) -> None:
    """Mark the outbound article failed and the address undeliverable on a permanent failure."""
    info = ctx.bounce
    outbound = ctx.bounced_article
    if info is None or not info.permanent or outbound is None:
        return
    reason = " ".join(info.diagnostic.split()) or info.status or "permanent failure"
    services.record_delivery(outbound.pk, sent=False, error=reason)
    # record_delivery writes the case's history past history.append: lock and read it
    # anew if the intake's transaction touches that case again (tickets.locks).
    locks.forget(outbound.ticket_id)
    marked = mark_undeliverable(outbound.ticket.tenant_id, failed_addresses(info, outbound), reason)
    log.info(
        "bounce article %s: outbound %s failed, %d address(es) marked",
        article.pk,
        outbound.pk,
        marked,
    )


def failed_addresses(info: BounceInfo, outbound: Article) -> list[str]:
    """The addresses of our article that the report says failed.

    Only addresses the article was sent to count, so a forged report cannot mark
    anyone else. When the report names none of them (a forwarding address
    failed further on), the article's address counts if it had exactly one.
    """
    sent_to = addressing.parse_list(outbound.to) + addressing.parse_list(outbound.cc)
    reported = {addressing.normalise(address) for address in info.recipients}
    failed = [address for address in sent_to if address in reported]
    if failed:
        return failed
    return sent_to if len(sent_to) == 1 else []


def mark_undeliverable(tenant_id: int, addresses: list[str], reason: str) -> int:
    """Mark the tenant's citizens with these addresses undeliverable; returns how many.

    Users are not tickets: a direct update is the write path for this flag.
    """
    wanted = [addressing.normalise(a) for a in addresses if a and "@" in a]
    if not wanted:
        return 0
    condition = Q()
    for address in wanted:
        condition |= Q(email__iexact=address)
    return User.objects.filter(condition, tenant_id=tenant_id, role=Role.CITIZEN).update(
        email_undeliverable=True, email_undeliverable_reason=reason[:2000]
    )


def article_input(ctx: IntakeContext, base: services.ArticleInput) -> services.ArticleInput:
    """The bounce as an internal system e-mail article, with the explanation as notice."""
    notes = [notice(ctx), *ctx.notes]
    return replace(
        base,
        kind=ArticleKind.EMAIL,
        sender=SenderKind.SYSTEM,
        internal=True,
        notice="\n".join(n for n in notes if n),
    )
