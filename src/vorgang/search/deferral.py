"""Re-index each touched case once per batch of work, not once per event.

The mail worker stores a batch of messages in one go; a new case makes two events
(the case, its first article) and every reply one more. Re-indexing the whole case
for each of them (synchronously on SQLite) cost more than storing the message.
Inside ``with deferred():`` the subscriber only notes the case; the block's end
indexes each noted case once, in one ``refresh_many``. The block is short (one
batch, well under a second), so a case is still findable about when its message is
stored. Outside a block every event re-indexes at once, as before.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

log = logging.getLogger(__name__)

# The cases noted in the running block, each with whether it was created in it.
_pending: ContextVar[dict[int, bool] | None] = ContextVar("vorgang_search_deferred", default=None)


@contextmanager
def deferred() -> Iterator[None]:
    """Collect the cases to re-index until the block ends, then index them together."""
    if _pending.get() is not None:  # nested: the outer block indexes
        yield
        return
    noted: dict[int, bool] = {}
    token = _pending.set(noted)
    try:
        yield
    finally:
        _pending.reset(token)
        if noted:
            _flush(sorted(noted), {pk for pk, new in noted.items() if new})


def _flush(ticket_ids: list[int], new: set[int]) -> None:
    from . import indexing, tasks

    try:
        indexing.refresh_many(ticket_ids, new=new)
    except Exception:
        # The changes are committed; the worker gets a second chance, as in ``refresh``.
        log.exception("indexing %d cases failed; queued for the worker", len(ticket_ids))
        tasks.reindex_tickets.enqueue(ticket_ids)


def defer(ticket_id: int, *, new: bool = False) -> bool:
    """Note a case for the enclosing ``deferred`` block (``new``: created in it); False
    when there is none."""
    noted = _pending.get()
    if noted is None:
        return False
    noted[ticket_id] = noted.get(ticket_id, False) or new
    return True
