"""Appending to a case's hash-chained history, and verifying the chains."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.db import connection

from vorgang.core import clock, instances

from . import locks
from .models import History, Ticket

GENESIS = "0" * 64


def record(
    ticket: Ticket,
    actor_id: int | None,
    action: str,
    field: str = "",
    old: Any = "",
    new: Any = "",
    *,
    save_head: bool = True,
) -> History:
    """Append one entry. The caller holds the ticket's row lock, which orders the chain.

    ``save_head=False``: the caller saves ``ticket.history_head`` itself, in the update
    of the case it makes anyway (one statement less per article).
    """
    entry = History(
        ticket=ticket,
        actor_id=actor_id,
        created_at=clock.now(),
        action=action,
        field=field,
        old_value=_text(old),
        new_value=_text(new),
    )
    append(ticket, [entry])
    if save_head and _BUFFER not in ticket.__dict__:  # a buffered chain's head is saved later
        Ticket.objects.filter(pk=ticket.pk).update(history_head=entry.hash)
    return entry


def start_chain(ticket: Ticket) -> None:
    """Begin the chain of a case created in the running transaction (it is empty, so
    nothing needs reading from the table) and keep its entries back until ``flush``.

    Until then ``append`` only collects: seq, prev_hash, hash and ``ticket.history_head``
    are worked out by ``chain`` (and by ``flush``, which inserts every entry in one
    statement). So the entries may still change (the "created" entry learns the case
    number, which is drawn last), and a new case writes "created", its attributes, tags
    and first article in one INSERT instead of several.
    """
    ticket.__dict__[_BUFFER] = []


def chain(ticket: Ticket) -> None:
    """Work out seq, prev_hash and hash of the entries collected since ``start_chain``, and
    ``ticket.history_head`` (not saved); again after an entry changed."""
    prev = GENESIS
    for seq, entry in enumerate(ticket.__dict__.get(_BUFFER) or [], start=1):
        entry.seq = seq
        entry.prev_hash = prev
        entry.hash = entry.compute_hash()
        prev = entry.hash
    if prev != GENESIS:
        ticket.history_head = prev


def flush(ticket: Ticket) -> None:
    """Chain the entries collected since ``start_chain`` and insert them in one statement;
    sets ``ticket.history_head`` (not saved)."""
    chain(ticket)
    entries: list[History] = ticket.__dict__.get(_BUFFER) or []
    _insert(entries)
    if entries:
        locks.set_tail(ticket.pk, entries[-1].seq, entries[-1].hash)
    ticket.__dict__[_BUFFER] = []


def end_chain(ticket: Ticket) -> None:
    """Forget the entries ``start_chain`` collected (the instance may outlive the
    transaction; then later entries are chained onto what the table holds).

    Entries not flushed are dropped: ``end_chain`` without ``flush`` only follows an
    error, which rolls the transaction back anyway.
    """
    ticket.__dict__.pop(_BUFFER, None)


_BUFFER = "_vorgang_history_buffer"


def append(ticket: Ticket, entries: list[History]) -> None:
    """Chain ``entries`` (unsaved, in order) onto the case's history and insert them at once
    (after ``start_chain``: collect them for ``flush``).

    Sets seq, prev_hash and hash of each, and ``ticket.history_head`` (not saved). The
    chain's end is read from the table.
    """
    if not entries:
        return
    buffer: list[History] | None = ticket.__dict__.get(_BUFFER)
    if buffer is not None:
        for entry in entries:
            entry.ticket = ticket
        buffer.extend(entries)
        return
    # The chain's end as this transaction wrote it (its row lock held since, locks.scope),
    # else from the table.
    last = locks.tail(ticket.pk) or _chain_end(ticket.pk)
    seq, prev = last if last else (0, GENESIS)
    for entry in entries:
        seq += 1
        entry.ticket = ticket
        entry.seq = seq
        entry.prev_hash = prev
        entry.hash = entry.compute_hash()
        prev = entry.hash
    _insert(entries)
    ticket.history_head = prev
    locks.set_tail(ticket.pk, seq, prev)


def _insert(entries: list[History]) -> None:
    """Insert the entries as ``save`` (one, with its signals) or ``bulk_create`` (several)
    did, with the statement written out (core.instances)."""
    if len(entries) == 1:
        instances.insert(entries[0])
    else:
        instances.insert_many(entries)


def _chain_end(ticket_id: int) -> tuple[int, str] | None:
    """(seq, hash) of the case's newest entry; by cursor, as building the ORM's query
    cost several times what the index lookup does."""
    with connection.cursor() as cursor:
        cursor.execute(_CHAIN_END_SQL, [ticket_id])
        row = cursor.fetchone()
    return (int(row[0]), str(row[1])) if row else None


_CHAIN_END_SQL = (
    f'SELECT "seq", "hash" FROM "{History._meta.db_table}" WHERE "ticket_id" = %s'  # noqa: S608
    ' ORDER BY "seq" DESC LIMIT 1'
)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return str(value)


@dataclass(frozen=True)
class Break:
    ticket_id: int
    seq: int
    history_id: int
    reason: str


def verify(batch_size: int = 2000) -> Iterator[Break]:
    """Yield the first broken entry of each case whose chain does not hold.

    Also checks each chain reaches the case's ``history_head``, so removing the
    newest entries (or all of them) is noticed too. The heads are read first:
    entries appended while this runs continue the chain past its head and are no
    break, and cases created meanwhile are left for the next run.
    """
    heads = dict(Ticket.objects.values_list("pk", "history_head").iterator(chunk_size=batch_size))
    seen: set[int] = set()
    current_ticket: int | None = None
    expected_prev = GENESIS
    expected_seq = 1
    broken = False
    head_reached = False
    last_entry: History | None = None

    def chain_end() -> Iterator[Break]:
        if last_entry is None or broken or current_ticket not in heads or head_reached:
            return
        yield Break(current_ticket or 0, expected_seq, last_entry.pk, "newer entries are missing")

    entries = History.objects.order_by("ticket_id", "seq").iterator(chunk_size=batch_size)
    for entry in entries:
        if entry.ticket_id != current_ticket:
            yield from chain_end()
            current_ticket, expected_prev, expected_seq, broken = entry.ticket_id, GENESIS, 1, False
            head_reached = False
            seen.add(entry.ticket_id)
        last_entry = entry
        if broken:
            continue
        reason = ""
        if entry.seq != expected_seq:
            reason = f"entry {expected_seq} is missing"
        elif entry.prev_hash != expected_prev:
            reason = "does not follow the previous entry"
        elif entry.compute_hash() != entry.hash:
            reason = "content does not match its hash"
        if reason:
            broken = True
            yield Break(entry.ticket_id, entry.seq, entry.pk, reason)
            continue
        expected_prev, expected_seq = entry.hash, entry.seq + 1
        head_reached = head_reached or entry.hash == heads.get(entry.ticket_id)
    yield from chain_end()
    for ticket_id, head in heads.items():
        if head and ticket_id not in seen:
            yield Break(ticket_id, 1, 0, "all entries are missing")
