"""Notifications from case events (run after the change has committed).

- a case gets an owner other than the person who assigned it: the new owner;
- the citizen writes on a case with an owner: the owner (not for the first message,
  which opened the case);
- an agent's internal note mentions colleagues (@login or @"First Last"): each of them
  who may read the case.
Each writes at most a row, so it runs here rather than in a background task.
"""

from __future__ import annotations

from vorgang.accounts.models import User
from vorgang.tickets import events
from vorgang.tickets.models import Article, ArticleKind, SenderKind, Ticket

from . import mentions
from .models import NotificationKind
from .services import notify


def _ticket(ticket_id: int) -> Ticket | None:
    return Ticket.objects.select_related("owner").filter(pk=ticket_id).first()


@events.subscribe(events.TICKET_CREATED)
def owner_of_new_case(event: events.Event) -> None:
    # Most new cases (all from mail intake) have no owner yet; the event names one.
    if not event.changes.get("owner"):
        return
    ticket = _ticket(event.ticket_id)
    if ticket is not None and ticket.owner is not None:
        notify(ticket.owner, ticket, NotificationKind.ASSIGNED, event.actor_id)


@events.subscribe(events.TICKET_UPDATED)
def new_owner(event: events.Event) -> None:
    change = event.changes.get("owner")
    if not isinstance(change, (list, tuple)) or len(change) != 2 or change[1] is None:
        return
    ticket = _ticket(event.ticket_id)
    if ticket is None or ticket.owner_id != change[1]:
        return  # reassigned again since; the later event tells the later owner
    owner = User.objects.filter(pk=change[1]).first()
    if owner is not None:
        notify(owner, ticket, NotificationKind.ASSIGNED, event.actor_id)


@events.subscribe(events.ARTICLE_CREATED)
def citizen_replied(event: events.Event) -> None:
    about = event.changes
    if event.article_id is None or about.get("sender", SenderKind.CITIZEN) != SenderKind.CITIZEN:
        return
    if about.get("internal") or about.get("opens_case"):
        return  # the event says so (a note, or the message that opened the case): no query
    # Most citizen mail goes to cases nobody owns yet: one query by primary key settles it.
    owner_id = Ticket.objects.filter(pk=event.ticket_id).values_list("owner_id", flat=True).first()
    if owner_id is None:
        return
    article = (
        Article.objects.filter(pk=event.article_id, sender=SenderKind.CITIZEN, internal=False)
        .select_related("ticket__owner")
        .first()
    )
    if article is None or article.ticket.owner is None:
        return
    first = Article.objects.filter(ticket_id=article.ticket_id).order_by("created_at", "pk")
    if first.values_list("pk", flat=True).first() == article.pk:
        return  # the message that opened the case, not a reply
    notify(
        article.ticket.owner,
        article.ticket,
        NotificationKind.CITIZEN_REPLIED,
        event.actor_id,
        email=not _portal_mails_owner(article),
    )


def _portal_mails_owner(article: Article) -> bool:
    """Whether the case page mails the owner about this message itself.

    It does (portal.mail.notify_owner) for messages written on the case page and for
    answers that settle a request for information; a second mail about the same
    message would only be noise. The portal's subscriber may run before or after this
    one, so a request still open or answered since the message counts alike.
    """
    if article.kind == ArticleKind.PORTAL:
        return True
    from vorgang.portal.models import InformationRequest

    requests = InformationRequest.objects.filter(ticket_id=article.ticket_id)
    return requests.open().exists() or requests.filter(answered_at__gte=article.created_at).exists()


@events.subscribe(events.ARTICLE_CREATED)
def mentioned(event: events.Event) -> None:
    """An agent's internal note that names colleagues with @login or @"First Last"."""
    if event.article_id is None or event.actor_id is None:
        return
    if not event.changes.get("internal") or event.changes.get("sender") != SenderKind.AGENT:
        return
    article = (
        Article.objects.filter(pk=event.article_id, internal=True, sender=SenderKind.AGENT)
        .select_related("ticket__department", "created_by")
        .first()
    )
    if article is None or article.created_by is None:
        return
    for user in mentions.find(article.body, article.ticket):
        notify(user, article.ticket, NotificationKind.MENTION, event.actor_id)
