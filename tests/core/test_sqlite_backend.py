"""The SQLite backend (vorgang.core.sqlite): a transaction waits for the write lock by
asking often, not in SQLite's busy handler.

Runs on a database file of its own (the test database may live in memory, where SQLite
locks differently); another connection holds the write lock meanwhile, as the worker or
the listener does under a flood of mail.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import OperationalError, connection, connections, transaction

from vorgang.core.sqlite import base as sqlite_backend

pytestmark = pytest.mark.skipif(
    connection.vendor != "sqlite", reason="the SQLite backend's write lock"
)

ALIAS = "write_lock_test"


def write_transaction(alias: str) -> transaction.Atomic:
    return transaction.atomic(using=alias)


@pytest.fixture
def db_file(tmp_path: Path, django_db_blocker: Any) -> Iterator[Path]:
    """A database alias of its own on a file, with the settings' options but a 2 s
    timeout (not the test database: pytest-django's blocker is lifted for it alone)."""
    with django_db_blocker.unblock():
        yield from _db_file(tmp_path)


def _db_file(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "lock.sqlite3"
    settings_dict = {**connections["default"].settings_dict, "NAME": str(path)}
    settings_dict["OPTIONS"] = {**settings_dict["OPTIONS"], "timeout": 2}
    connections.settings[ALIAS] = settings_dict
    with connections[ALIAS].cursor() as cursor:
        cursor.execute("CREATE TABLE t (x INTEGER)")
    try:
        yield path
    finally:
        connections[ALIAS].close()
        del connections[ALIAS]
        del connections.settings[ALIAS]


def hold_lock(path: Path, seconds: float, taken: threading.Event) -> threading.Thread:
    """Another connection takes the write lock for ``seconds``."""

    def hold() -> None:
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        other.execute("INSERT INTO t VALUES (1)")
        taken.set()
        time.sleep(seconds)
        other.execute("COMMIT")
        other.close()

    thread = threading.Thread(target=hold)
    thread.start()
    assert taken.wait(5)
    return thread


def rows() -> list[int]:
    with connections[ALIAS].cursor() as cursor:
        cursor.execute("SELECT x FROM t ORDER BY x")
        return [x for (x,) in cursor.fetchall()]


def busy_timeout() -> int:
    with connections[ALIAS].cursor() as cursor:
        cursor.execute("PRAGMA busy_timeout")
        return int(cursor.fetchone()[0])


def test_waits_for_the_lock_and_writes(db_file: Path) -> None:
    holder = hold_lock(db_file, 0.3, threading.Event())
    started = time.monotonic()

    with write_transaction(ALIAS), connections[ALIAS].cursor() as cursor:
        waited = time.monotonic() - started
        cursor.execute("INSERT INTO t VALUES (2)")
    holder.join()

    assert waited >= 0.2  # it did wait for the other transaction's commit
    assert rows() == [1, 2]
    assert busy_timeout() == 2000  # SQLite's own waiting is back for other statements
    assert not connections[ALIAS].in_atomic_block


def test_gives_up_after_the_timeout(db_file: Path, monkeypatch: Any) -> None:
    monkeypatch.setitem(connections[ALIAS].settings_dict["OPTIONS"], "timeout", 0.2)
    holder = hold_lock(db_file, 0.8, threading.Event())
    tries = 0
    real_sleep = time.sleep

    def counting_sleep(seconds: float) -> None:
        nonlocal tries
        tries += 1
        real_sleep(seconds)

    monkeypatch.setattr(sqlite_backend.time, "sleep", counting_sleep)
    with pytest.raises(OperationalError, match="locked"), write_transaction(ALIAS):
        pytest.fail("the block must not run without the lock")
    monkeypatch.setattr(sqlite_backend.time, "sleep", real_sleep)
    holder.join()

    assert tries >= 20  # asked again and again, not once after SQLite's long sleeps
    assert not connections[ALIAS].in_atomic_block
    assert busy_timeout() == 200
    assert rows() == [1]  # the connection is still usable


def test_an_error_in_the_block_rolls_back(db_file: Path) -> None:
    with pytest.raises(ZeroDivisionError), write_transaction(ALIAS):
        with connections[ALIAS].cursor() as cursor:
            cursor.execute("INSERT INTO t VALUES (3)")
        1 / 0  # noqa: B018

    assert rows() == []
    assert not connections[ALIAS].in_atomic_block


def test_inside_a_transaction_it_is_a_savepoint(db_file: Path) -> None:
    with transaction.atomic(using=ALIAS):
        with write_transaction(ALIAS), connections[ALIAS].cursor() as cursor:
            cursor.execute("INSERT INTO t VALUES (4)")
        assert connections[ALIAS].in_atomic_block
    assert rows() == [4]


def test_the_settings_use_this_backend() -> None:
    default = connections["default"]
    assert isinstance(default, sqlite_backend.DatabaseWrapper)
    assert default.settings_dict["OPTIONS"]["transaction_mode"] == "IMMEDIATE"


def test_a_deferred_transaction_begins_as_django_s(db_file: Path, monkeypatch: Any) -> None:
    # BEGIN without IMMEDIATE takes no lock: nothing to wait for, nothing changed.
    monkeypatch.setattr(connections[ALIAS], "transaction_mode", None)
    holder = hold_lock(db_file, 0.3, threading.Event())
    with transaction.atomic(using=ALIAS):
        assert rows() == []  # reading needs no write lock (WAL)
    holder.join()
    assert busy_timeout() == 2000
