"""A write transaction that asks for SQLite's write lock every millisecond.

SQLite has one write lock. A connection that finds it taken waits in SQLite's busy
handler, which sleeps 1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50 and then 100 ms between
tries. Under a flood of mail the worker holds the lock for most of the time, one
message's transaction after the other, with gaps of about a millisecond between them
(the next message is parsed outside the transaction); after a few tries the listener
sleeps far longer than those gaps and misses them, so the handover of mail (and with
it the 250 the MTA waits for) slows to a crawl: sampled during the benchmark, the
listener's database thread slept in that handler for about two thirds of the time.

``write_transaction()`` is ``transaction.atomic()`` for the listener: on SQLite it
asks for the lock without SQLite's waiting (busy timeout 0) and tries again after
:data:`POLL_SECONDS`, until the connection's usual timeout has passed; then the error
is raised as before (the listener answers 451). Once the transaction holds the lock,
the usual busy timeout is back for everything else. Commits stay as durable as before
(``journal.make_commits_durable``). Other databases: plain ``transaction.atomic()``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import DEFAULT_DB_ALIAS, OperationalError, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper

# Between two tries for the lock: shorter than the gaps between the worker's transactions.
POLL_SECONDS = 0.001
# Without a timeout in the settings (seconds), as Python's sqlite3 module.
DEFAULT_TIMEOUT = 5.0


@contextmanager
def write_transaction(using: str = DEFAULT_DB_ALIAS) -> Iterator[None]:
    """``transaction.atomic()``; on SQLite the write lock is asked for every millisecond."""
    connection = connections[using]
    if connection.vendor != "sqlite" or connection.in_atomic_block:
        with transaction.atomic(using=using):
            yield
        return
    outer = transaction.atomic(using=using)
    _enter_polling(connection, outer)
    try:
        yield
    except BaseException as exc:
        outer.__exit__(type(exc), exc, exc.__traceback__)  # rolls back; never swallows
        raise
    outer.__exit__(None, None, None)


def _timeout(connection: BaseDatabaseWrapper) -> float:
    return float(connection.settings_dict.get("OPTIONS", {}).get("timeout", DEFAULT_TIMEOUT))


def _set_busy_timeout(connection: BaseDatabaseWrapper, milliseconds: int) -> None:
    assert connection.connection is not None
    connection.connection.execute(f"PRAGMA busy_timeout = {int(milliseconds)}")


def _enter_polling(connection: BaseDatabaseWrapper, atomic: transaction.Atomic) -> None:
    """Enter ``atomic`` (its BEGIN IMMEDIATE takes the write lock), trying every
    :data:`POLL_SECONDS` while another connection holds the lock."""
    timeout = _timeout(connection)
    deadline = time.monotonic() + timeout
    connection.ensure_connection()
    _set_busy_timeout(connection, 0)  # SQLite answers "locked" at once instead of sleeping
    try:
        while True:
            try:
                atomic.__enter__()
                return
            except OperationalError as exc:
                # BEGIN failed before the block began: nothing to roll back.
                if "locked" not in str(exc) or time.monotonic() >= deadline:
                    raise
                connection.errors_occurred = False  # a busy lock, not a broken connection
            time.sleep(POLL_SECONDS)
    finally:
        _set_busy_timeout(connection, int(timeout * 1000))
