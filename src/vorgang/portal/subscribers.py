"""A citizen's answer that arrives another way (e.g. by e-mail) also answers open requests."""

from __future__ import annotations

from django.db import transaction

from vorgang.core import clock, lookups
from vorgang.tickets import events


@events.subscribe(events.ARTICLE_CREATED)
def settle_on_citizen_reply(event: events.Event) -> None:
    from vorgang.tickets.models import Article, ArticleKind, SenderKind

    from .information import _notify_owner_later, settle_requests
    from .models import InformationRequest

    about = event.changes
    if event.article_id is None or about.get("sender", SenderKind.CITIZEN) != SenderKind.CITIZEN:
        return
    # What the event says about the article settles most cases without a query: only a
    # public citizen message that did not come from the case page (it settles its own).
    if about.get("internal") or about.get("kind") == ArticleKind.PORTAL:
        return
    if about.get("opens_case"):
        return  # the first message of a new case: nothing can have been asked yet
    # Nearly every case has no open request: ask that (one indexed query by case) before
    # the article and its case are loaded.
    # Written out (as ``.open()`` says: neither answered nor closed); the ORM built the
    # query for several times what the index lookup costs.
    if not lookups.exists(
        InformationRequest,
        "ticket_id = %s AND answered_at IS NULL AND NOT closed",
        [event.ticket_id],
    ):
        return
    article = (
        Article.objects.filter(pk=event.article_id, sender=SenderKind.CITIZEN, internal=False)
        .exclude(kind=ArticleKind.PORTAL)  # the case page settles its own answers
        .select_related("ticket")
        .first()
    )
    if article is None:
        return
    with transaction.atomic():
        if settle_requests(article.ticket, clock.now()):
            ticket_id = article.ticket_id
            transaction.on_commit(lambda: _notify_owner_later(ticket_id, "message"))


@events.subscribe(events.ARTICLE_DELIVERED)
def keep_case_link_alive(event: events.Event) -> None:
    """Every message we send the citizen extends their case page link."""
    from .links import refresh

    refresh(event.ticket_id)
