"""Django's SQLite backend, with a transaction start that asks for the write lock often.

SQLite has one write lock; every transaction here takes it at BEGIN IMMEDIATE. A
connection that finds it taken waits in SQLite's busy handler, which sleeps 1, 2, 5,
10, 15, 20, 25, 25, 25, 50, 50 and then 100 ms between tries. When web requests, the
task worker and the mail listener write at once, each holds the lock for a few
milliseconds at a time, with short gaps between; a waiter that has slept a few times
sleeps far longer than those gaps and misses them:

- under a flood of mail the listener's database thread slept in that handler about two
  thirds of the time, and the worker a fifth of its time at BEGIN, waiting for the
  listener's commits (sampled during ``bench/mail_ingest.py``);
- creating cases through the API with 16 clients had a p99 of 800 ms on SQLite against
  under 200 ms on PostgreSQL (``bench/api.py``), from the same long sleeps.

Here BEGIN IMMEDIATE (or EXCLUSIVE) is tried without SQLite's waiting (busy timeout 0)
and again every :data:`POLL_SECONDS`, until the connection's ``timeout`` has passed;
then the "database is locked" error is raised as before. Once the transaction holds
the lock, the usual busy timeout is back for every other statement. A try costs a few
microseconds; the waits it saves are milliseconds.
"""

from __future__ import annotations

import sqlite3
import time
from typing import Any

from django.db.backends.sqlite3 import base

# Between two tries for the lock: shorter than the gaps between other writers' transactions.
POLL_SECONDS = 0.0005
# Without a timeout in the settings (seconds), as Python's sqlite3 module.
DEFAULT_TIMEOUT = 5.0


class DatabaseWrapper(base.DatabaseWrapper):
    def _start_transaction_under_autocommit(self) -> None:
        mode = self.transaction_mode  # type: ignore[attr-defined]  # (django-stubs lack it)
        if mode not in ("IMMEDIATE", "EXCLUSIVE"):  # a deferred BEGIN takes no lock yet
            super()._start_transaction_under_autocommit()  # type: ignore[misc]
            return
        statement = f"BEGIN {mode}"
        timeout = self._timeout()
        started = time.monotonic()
        raw: sqlite3.Connection = self.connection
        # Straight on the sqlite3 connection: a try that finds the lock taken costs a
        # few microseconds this way, several times that through Django's cursor.
        with self.wrap_database_errors:
            raw.execute("PRAGMA busy_timeout = 0")  # "locked" at once instead of sleeping
            try:
                _begin(raw, statement, started + timeout)
            finally:
                raw.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
        if self.queries_logged:  # as Django's debug cursor logs every statement
            self.queries_log.append({"sql": statement, "time": f"{time.monotonic() - started:.3f}"})

    def _timeout(self) -> float:
        options: dict[str, Any] = self.settings_dict.get("OPTIONS", {})
        return float(options.get("timeout", DEFAULT_TIMEOUT))


def _begin(raw: sqlite3.Connection, statement: str, deadline: float) -> None:
    """Run ``statement`` (a BEGIN that takes the write lock), again every
    :data:`POLL_SECONDS` while another connection holds the lock, until ``deadline``."""
    while True:
        try:
            raw.execute(statement)
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
        time.sleep(POLL_SECONDS)
