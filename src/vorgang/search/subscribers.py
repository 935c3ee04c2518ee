"""Keep the index current: every domain event of a case re-indexes that case.

Also a citizen's name or e-mail change (their cases are found by it) and a deleted
case (its document goes; on SQLite the FTS5 row needs removing by hand).
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from vorgang.accounts.models import User
from vorgang.tickets import events
from vorgang.tickets.models import Ticket

from . import deferral, indexing

# Saves of a user that do not change what is indexed (every login updates last_login).
_IRRELEVANT = frozenset({"last_login", "password"})


@events.subscribe(
    events.TICKET_CREATED, events.TICKET_UPDATED, events.ARTICLE_CREATED, events.TICKET_MERGED
)
def reindex_case(event: events.Event) -> None:
    if event.name == events.ARTICLE_CREATED and event.changes.get("opens_case"):
        # The first article of a new case: the case's own event, emitted after it in the
        # same transaction and so delivered right after it, indexes both at once.
        return
    # In a batch (mail intake) the case is indexed once at the batch's end. A new case
    # is indexed at once on every engine (see indexing).
    new = event.name == events.TICKET_CREATED
    if not deferral.defer(event.ticket_id, new=new):
        indexing.refresh(event.ticket_id, new=new)


@receiver(post_save, sender=User, dispatch_uid="search.citizen_changed")
def citizen_changed(sender: type[User], instance: User, created: bool, **kwargs: Any) -> None:
    update_fields = kwargs.get("update_fields")
    if created or not instance.is_citizen:
        return
    if update_fields is not None and set(update_fields) <= _IRRELEVANT:
        return
    user_id = instance.pk

    def later() -> None:
        ids = list(Ticket.objects.filter(citizen_id=user_id).values_list("pk", flat=True))
        indexing.refresh_many(ids)

    transaction.on_commit(later)


@receiver(post_delete, sender=Ticket, dispatch_uid="search.case_deleted")
def case_deleted(sender: type[Ticket], instance: Ticket, **kwargs: Any) -> None:
    from .backends import current

    ticket_id = instance.pk
    transaction.on_commit(lambda: current().delete([ticket_id]))
