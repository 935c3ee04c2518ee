"""Writing the index: one case after a change, or all of them in batches.

After a change the case is re-indexed as a whole (documents are small and rebuilding
one is cheaper than working out what changed). In the embedded default (SQLite) that
happens right in the event subscriber, after the change committed, so a case is
findable the moment the request returns; on PostgreSQL a task does it (the worker is
where the work of a scaled-out installation belongs), except for a new case: its
document (one article) takes about 1 ms to write, less than queueing, claiming and
finishing a task (about 2.5 ms of the worker's CPU), and the case is findable when
its create returns. Text of new attachments is always extracted by a task: a PDF may
take seconds.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.db.models import QuerySet

from vorgang.tickets.models import Ticket

from . import documents, extract
from .backends import current

log = logging.getLogger(__name__)

BATCH_SIZE = 500


def synchronous() -> bool:
    """Index in the subscriber (default on SQLite) or in a task (default on PostgreSQL)."""
    configured = getattr(settings, "VORGANG_SEARCH_SYNC", None)
    if configured is None:
        return connection.vendor == "sqlite"
    return bool(configured)


def index(ticket_ids: Sequence[int], docs: list[documents.Document] | None = None) -> list[int]:
    """Write the documents of these cases (and drop those of deleted ones).

    Returns the ids of cases with attachments whose text is not extracted yet.
    """
    ids = sorted(set(ticket_ids))
    if docs is None:
        docs = documents.build(ids)
    found = {d.ticket_id for d in docs}
    gone = [pk for pk in ids if pk not in found]
    backend = current()
    with transaction.atomic():
        backend.write(docs)
        if gone:
            backend.delete(gone)
    return [d.ticket_id for d in docs if d.pending]


def index_with_attachments(ticket_id: int) -> None:
    """Extract missing attachment text of one case, then index it."""
    docs: list[documents.Document] | None = documents.build([ticket_id])
    pending = [item for d in docs or () for item in d.pending]
    if pending:
        extract.ensure(pending)
        docs = None  # built again below, with the text just extracted
    index([ticket_id], docs)  # most cases have nothing to extract: the documents as built


def refresh(ticket_id: int, *, new: bool = False) -> None:
    """Bring one case's document up to date after a change (called after commit);
    ``new``: the case was just created (indexed at once on every engine)."""
    from . import tasks

    if not (new or synchronous()):
        tasks.reindex_ticket.enqueue(ticket_id)
        return
    try:
        pending = index([ticket_id])
    except Exception:
        # The change itself is committed; the worker gets a second chance.
        log.exception("indexing case %s failed; queued for the worker", ticket_id)
        tasks.reindex_ticket.enqueue(ticket_id)
        return
    if pending:
        tasks.reindex_ticket.enqueue(ticket_id)


def refresh_many(ticket_ids: Sequence[int], *, new: Collection[int] = ()) -> None:
    """Several cases at once (e.g. all cases of a citizen whose name changed); those in
    ``new`` were just created (indexed at once on every engine, see the module)."""
    from . import tasks

    if not ticket_ids:
        return
    if new and not synchronous():
        fresh = [pk for pk in ticket_ids if pk in new]
        ticket_ids = [pk for pk in ticket_ids if pk not in new]
        for start in range(0, len(fresh), BATCH_SIZE):
            for pk in index(fresh[start : start + BATCH_SIZE]):
                tasks.reindex_ticket.enqueue(pk)
        if not ticket_ids:
            return
    if synchronous() and len(ticket_ids) <= BATCH_SIZE:
        for pk in index(ticket_ids):
            tasks.reindex_ticket.enqueue(pk)
        return
    for start in range(0, len(ticket_ids), BATCH_SIZE):
        tasks.reindex_tickets.enqueue(list(ticket_ids[start : start + BATCH_SIZE]))


@dataclass
class Progress:
    done: int
    total: int
    extracted: int


def reindex_all(
    *,
    batch_size: int = BATCH_SIZE,
    with_attachments: bool = True,
    ticket_filter: dict[str, object] | None = None,
    on_batch: Callable[[Progress], None] | None = None,
) -> Progress:
    """Rebuild every document in batches by id (memory stays at one batch).

    Each batch is its own short transaction, so web, worker and mail intake keep
    writing meanwhile; a case changed during the run is indexed by its event anyway.
    Documents of deleted cases are removed at the end.
    """
    base = Ticket.objects.filter(**(ticket_filter or {}))
    progress = Progress(done=0, total=base.count(), extracted=0)
    for batch in _batches(base, batch_size):
        docs = documents.build(batch)
        pending = [item for d in docs for item in d.pending]
        if with_attachments and pending:
            progress.extracted += extract.ensure(pending)
            docs = documents.build(batch)
        index(batch, docs)
        progress.done += len(batch)
        if on_batch is not None:
            on_batch(progress)
    if not ticket_filter:
        with transaction.atomic():
            current().prune()
    return progress


def _batches(base: QuerySet[Ticket], size: int) -> Iterator[list[int]]:
    last = 0
    while True:
        ids = list(base.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:size])
        if not ids:
            return
        yield ids
        last = ids[-1]
