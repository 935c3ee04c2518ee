"""Background tasks of search; each takes ids and is safe to run twice."""

from __future__ import annotations

from django_tasks import task


@task()
def reindex_ticket(ticket_id: int) -> str:
    """Extract any new attachment text of the case, then index it."""
    from . import indexing

    indexing.index_with_attachments(ticket_id)
    return "indexed"


@task()
def reindex_tickets(ticket_ids: list[int]) -> int:
    from . import indexing

    for pk in indexing.index(ticket_ids):
        indexing.index_with_attachments(pk)
    return len(ticket_ids)


@task()
def reindex_citizen(user_id: int) -> int:
    """Re-index a citizen's cases after their name or e-mail address changed."""
    from vorgang.tickets.models import Ticket

    from . import indexing

    ids = list(Ticket.objects.filter(citizen_id=user_id).values_list("pk", flat=True))
    for start in range(0, len(ids), indexing.BATCH_SIZE):
        indexing.index(ids[start : start + indexing.BATCH_SIZE])
    return len(ids)
