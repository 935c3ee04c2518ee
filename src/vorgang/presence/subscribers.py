"""A sent reply or saved note ends the author's draft of it.

The desk's reply and note views do not need to know drafts exist: the article the
service creates is the sign that the text left the form.
"""

from __future__ import annotations

from vorgang.tickets import events
from vorgang.tickets.models import ArticleKind, SenderKind

from . import drafts
from .models import DraftKind


@events.subscribe(events.ARTICLE_CREATED)
def drop_sent_draft(event: events.Event) -> None:
    if event.actor_id is None or event.changes.get("sender") != SenderKind.AGENT:
        return
    kind = event.changes.get("kind")
    if event.changes.get("internal") and kind == ArticleKind.NOTE:
        drafts.delete(event.actor_id, event.ticket_id, DraftKind.NOTE)
    elif not event.changes.get("internal") and kind == ArticleKind.EMAIL:
        drafts.delete(event.actor_id, event.ticket_id, DraftKind.REPLY)
