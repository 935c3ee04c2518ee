"""A citizen's answer that arrives another way (e.g. by e-mail) also answers open requests."""

from __future__ import annotations

from django.db import transaction

from vorgang.core import clock
from vorgang.tickets import events


@events.subscribe(events.ARTICLE_CREATED)
def settle_on_citizen_reply(event: events.Event) -> None:
    from vorgang.tickets.models import Article, ArticleKind, SenderKind

    from .information import _notify_owner_later, settle_requests
    from .models import InformationRequest

    if event.article_id is None or event.changes.get("sender", SenderKind.CITIZEN) != (
        SenderKind.CITIZEN
    ):
        return
    article = (
        Article.objects.filter(pk=event.article_id, sender=SenderKind.CITIZEN, internal=False)
        .exclude(kind=ArticleKind.PORTAL)  # the case page settles its own answers
        .select_related("ticket")
        .first()
    )
    if (
        article is None
        or not InformationRequest.objects.filter(ticket=article.ticket).open().exists()
    ):
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
