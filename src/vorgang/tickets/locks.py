"""The cases one all-or-nothing transaction holds locked, so that it locks and reads each once.

The mail intake writes a message in one transaction: a new case, then its confirmation
article (``add_article`` on the case created a moment before), or an article, tags and a
state change on a case it follows up. Each of those services locks the case again with
``SELECT ... FOR UPDATE`` and reads the end of its history chain again, although the
transaction has held the row since the first lock and wrote every change since.

Inside ``with scope():`` (opened by the caller inside its transaction) ``services._lock``
remembers the instance it locked (``create_ticket`` the case it inserted), and a later
lock of the same case in the same transaction gets that instance back without a query;
``history.append`` remembers the chain's end it wrote. The scope also says that the
caller lets any error roll the whole transaction back (it never catches one inside),
so the services need no savepoints there.

What is remembered is valid only while nothing of the transaction was undone: an entry
keeps the connection's list of commit callbacks as it was when the entry was made, and
Django replaces that list on every commit, rollback and rollback to a savepoint. A
different list means the entry is forgotten and the case is locked and read anew.
Writers that change a case's row or history past ``services`` and ``history`` in such a
transaction call ``forget``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import transaction

if TYPE_CHECKING:
    from .models import Ticket

_active: ContextVar[dict[int, _Held] | None] = ContextVar("vorgang_held_cases", default=None)


@dataclass
class _Held:
    ticket: Ticket
    callbacks: list[Any]  # the connection's ``run_on_commit`` when the lock was taken
    tail: tuple[int, str] | None = None  # (seq, hash) of the newest history entry


@contextmanager
def scope() -> Iterator[None]:
    """Remember the cases locked until the block ends; open it inside the transaction,
    and let every error inside roll the whole transaction back."""
    token = _active.set({})
    try:
        yield
    finally:
        _active.reset(token)


def active() -> bool:
    """Whether a scope is open inside a transaction (then no savepoints are needed)."""
    return _active.get() is not None and transaction.get_connection().in_atomic_block


def _entry(pk: int) -> _Held | None:
    held = _active.get()
    if not held:
        return None
    entry = held.get(pk)
    if entry is None:
        return None
    connection = transaction.get_connection()
    if not connection.in_atomic_block or connection.run_on_commit is not entry.callbacks:
        del held[pk]  # committed, rolled back, or a savepoint was rolled back: read anew
        return None
    return entry


def held(pk: int) -> Ticket | None:
    """The instance of case ``pk`` locked earlier in this transaction, if any."""
    entry = _entry(pk)
    return entry.ticket if entry is not None else None


def hold(ticket: Ticket, tail: tuple[int, str] | None = None) -> None:
    """Remember ``ticket`` as locked (or inserted) by the running transaction."""
    held = _active.get()
    if held is None:
        return
    connection = transaction.get_connection()
    if connection.in_atomic_block:
        held[ticket.pk] = _Held(ticket, connection.run_on_commit, tail)


def tail(pk: int) -> tuple[int, str] | None:
    """(seq, hash) of the newest history entry of case ``pk``, as this transaction wrote it."""
    entry = _entry(pk)
    return entry.tail if entry is not None else None


def set_tail(pk: int, seq: int, hash_: str) -> None:
    entry = _entry(pk)
    if entry is not None:
        entry.tail = (seq, hash_)


def forget(pk: int) -> None:
    """Case ``pk`` was changed past ``services``: lock and read it anew next time."""
    held = _active.get()
    if held:
        held.pop(pk, None)
