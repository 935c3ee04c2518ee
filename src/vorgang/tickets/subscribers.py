"""Event subscribers of the tickets app.

Kept small: each hands its work to a background task by id (see tasks.py).
"""

from __future__ import annotations

from . import events
from .tasks import deliver_article


@events.subscribe(events.ARTICLE_CREATED)
def queue_outbound_mail(event: events.Event) -> None:
    """Hand e-mail articles written by agents to the worker for delivery."""
    from .models import Article, ArticleKind, DeliveryStatus, SenderKind

    if (
        event.article_id is None
        or event.changes.get("kind", ArticleKind.EMAIL) != ArticleKind.EMAIL
        # The event says who wrote it: citizens' and system mail is never sent from here.
        or event.changes.get("sender", SenderKind.AGENT) != SenderKind.AGENT
    ):
        return
    queued = Article.objects.filter(
        pk=event.article_id,
        kind=ArticleKind.EMAIL,
        sender=SenderKind.AGENT,
        internal=False,
        delivery_status=DeliveryStatus.QUEUED,
    ).exists()
    if queued:
        deliver_article.enqueue(event.article_id)
