"""The database rate limit (``vorgang.core.ratelimit``) that the hosted form and the
request-a-link page share: counted across connections, hashed keys, expiry."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.test import Client

from vorgang.catalogue.models import OnlineService
from vorgang.channels.forms import guards
from vorgang.core import clock, ratelimit
from vorgang.core.models import RateLimitHit
from vorgang.tickets.models import Ticket

from .conftest import pdf_upload, valid_post

HOUR = timedelta(hours=1)


@pytest.fixture
def second_connection() -> Iterator[BaseDatabaseWrapper]:
    """Another connection to the test database, as a second web process would hold."""
    other = connections.create_connection("default")
    try:
        yield other
    finally:
        other.close()


def _count_elsewhere(other: BaseDatabaseWrapper, item: ratelimit.Limit) -> int:
    table = RateLimitHit._meta.db_table
    with other.cursor() as cursor:
        cursor.execute(
            f"SELECT COUNT(*) FROM {table} WHERE scope = %s AND key_hash = %s",  # noqa: S608
            [item.scope, item.key_hash],
        )
        (found,) = cursor.fetchone()
    return int(found)


def _hit_elsewhere(other: BaseDatabaseWrapper, item: ratelimit.Limit) -> None:
    table = RateLimitHit._meta.db_table
    now = clock.now()
    with other.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (scope, key_hash, created_at, expires_at)"  # noqa: S608
            " VALUES (%s, %s, %s, %s)",
            [
                item.scope,
                item.key_hash,
                other.ops.adapt_datetimefield_value(now),
                other.ops.adapt_datetimefield_value(now + item.window),
            ],
        )
    if not other.get_autocommit():
        other.commit()


@pytest.mark.django_db(transaction=True)
def test_two_connections_see_the_same_counts(second_connection: BaseDatabaseWrapper) -> None:
    item = ratelimit.Limit("test.scope", "203.0.113.5", limit=3, window=HOUR)
    # This "process" records two hits; the other connection counts them.
    ratelimit.record(item)
    ratelimit.record(item)
    assert _count_elsewhere(second_connection, item) == 2
    assert not ratelimit.exceeded(item)
    # The other "process" records the third; this one is now over the limit.
    _hit_elsewhere(second_connection, item)
    assert ratelimit.count(item) == 3
    assert ratelimit.exceeded(item)
    assert not ratelimit.allow([item])
    assert _count_elsewhere(second_connection, item) == 3  # a refused attempt is not counted


@pytest.mark.django_db(transaction=True)
def test_form_limit_holds_across_connections(
    service: OnlineService, settings: Any, second_connection: BaseDatabaseWrapper
) -> None:
    """Cases created through another web process count for this one."""
    settings.VORGANG_FORM_RATE_LIMIT = 2
    client = Client(REMOTE_ADDR="203.0.113.7")
    request = client.get(f"/s/{service.slug}/").wsgi_request
    limit = guards._rate_limit(request, service.pk)
    _hit_elsewhere(second_connection, limit)
    first = client.post(
        f"/s/{service.slug}/", valid_post(service, **{"document.proof": pdf_upload()})
    )
    assert first.status_code == 302
    assert _count_elsewhere(second_connection, limit) == 2
    refused = client.post(
        f"/s/{service.slug}/", valid_post(service, **{"document.proof": pdf_upload()})
    )
    assert refused.status_code == 429
    assert Ticket.objects.count() == 1


@pytest.mark.django_db
def test_window_slides_and_prune_removes_only_finished_windows(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    start = clock.now()
    monkeypatch.setattr(clock, "now", lambda: start)
    short = ratelimit.Limit("test.short", "a", limit=1, window=timedelta(minutes=10))
    long = ratelimit.Limit("test.long", "a", limit=1, window=timedelta(days=1))
    assert ratelimit.allow([short]) and ratelimit.allow([long])
    assert not ratelimit.allow([short])

    later = start + timedelta(minutes=11)
    monkeypatch.setattr(clock, "now", lambda: later)
    assert not ratelimit.exceeded(short)  # its window is over
    assert ratelimit.exceeded(long)
    assert ratelimit.prune() == 1  # only the short one's row is gone
    assert list(RateLimitHit.objects.values_list("scope", flat=True)) == ["test.long"]


@pytest.mark.django_db
def test_allow_checks_every_limit_and_counts_all_or_nothing() -> None:
    by_address = ratelimit.Limit("test.address", "198.51.100.1", limit=1, window=HOUR)
    by_number = ratelimit.Limit("test.number", "2026-0001", limit=5, window=HOUR)
    assert ratelimit.allow([by_address, by_number])
    assert not ratelimit.allow([by_address, by_number])
    assert ratelimit.count(by_number) == 1  # the refused attempt counted nowhere


@pytest.mark.django_db
def test_zero_means_no_limit_and_keys_are_hashed_per_scope(settings: Any) -> None:
    unlimited = ratelimit.Limit("test.off", "192.0.2.44", limit=0, window=HOUR)
    for _ in range(3):
        assert ratelimit.allow([unlimited])
    assert ratelimit.count(unlimited) == 3
    row = RateLimitHit.objects.first()
    assert row is not None and "192.0.2.44" not in row.key_hash and len(row.key_hash) == 64
    # The same value in another scope is another key; another secret, another hash.
    assert ratelimit.keyed_hash("a", "x") != ratelimit.keyed_hash("b", "x")
    before = ratelimit.keyed_hash("a", "x")
    settings.SECRET_KEY = "another-secret-key-for-this-test-only-0123456789"
    assert ratelimit.keyed_hash("a", "x") != before
