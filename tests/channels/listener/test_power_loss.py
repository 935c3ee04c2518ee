"""The processes that confirm receipt make SQLite sync every commit (power loss)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.db import connection, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.signals import connection_created

from vorgang.channels import journal

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def durable() -> Iterator[None]:
    journal.make_commits_durable()
    yield
    connection_created.disconnect(dispatch_uid="vorgang.journal.sync_fully")
    # The test database may be in memory, whose connection closing keeps open.
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA synchronous=NORMAL")


def _synchronous(wrapper: BaseDatabaseWrapper = connection) -> int:
    with wrapper.cursor() as cursor:
        cursor.execute("PRAGMA synchronous")
        return int(cursor.fetchone()[0])


@pytest.mark.skipif(connection.vendor != "sqlite", reason="a SQLite setting")
def test_open_and_new_connections_sync_fully(durable: None) -> None:
    assert _synchronous() == 2  # FULL, on the connection that was open
    fresh = connections.create_connection("default")
    try:
        assert _synchronous(fresh) == 2  # and on every new one
    finally:
        fresh.close()
    assert journal.accept(b"Subject: x\r\n\r\nbody\r\n", channel="pipe").pk


@pytest.mark.skipif(connection.vendor != "sqlite", reason="a SQLite setting")
def test_other_processes_keep_normal() -> None:
    fresh = connections.create_connection("default")
    try:
        assert _synchronous(fresh) == 1  # NORMAL, as settings.py says
    finally:
        fresh.close()
