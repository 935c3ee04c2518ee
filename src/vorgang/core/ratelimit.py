"""Rate limits counted in the database, so they hold across processes and restarts.

Every web process (several gunicorn workers, several hosts) writes and counts the
same rows (``RateLimitHit``), on SQLite and PostgreSQL alike; a per-process cache
would let each worker count on its own. Keys are stored only as a keyed hash
(HMAC-SHA256 with ``SECRET_KEY``): the table holds no client address or case number.

A limit is a :class:`Limit` (scope, key, how many, in which window). Two ways to use it:

- :func:`allow` checks several limits and, when all pass, records one hit for each in
  the same transaction (the request-a-link page: per address and per case number);
- :func:`exceeded` and :func:`record` separately, when only some attempts count (the
  hosted form counts created cases, not invalid or repeated submissions).

The check and the insert are not one atomic step: two processes at the same moment
may both pass at ``limit - 1``. That is acceptable for a spam brake and avoids a
table lock. Rows are deleted by :func:`prune` once their window is over.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest

from vorgang.core import clock

from .models import RateLimitHit


def client_address(request: HttpRequest) -> str:
    """The peer address, the key of per-client limits. Behind a reverse proxy, let the
    proxy set REMOTE_ADDR (e.g. gunicorn's ``--forwarded-allow-ips``); X-Forwarded-For
    is not trusted here."""
    return str(request.META.get("REMOTE_ADDR") or "unknown")


def keyed_hash(kind: str, value: str) -> str:
    """HMAC-SHA256 of ``kind:value`` with the secret key, as 64 hex digits."""
    key = str(settings.SECRET_KEY).encode()
    return hmac.new(key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Limit:
    """At most ``limit`` hits of ``scope`` for ``key`` within ``window``; 0 or less: no limit."""

    scope: str
    key: str  # the raw value (e.g. an address); only its keyed hash reaches the database
    limit: int
    window: timedelta

    @property
    def key_hash(self) -> str:
        return keyed_hash(self.scope, self.key)


def count(item: Limit) -> int:
    """Hits of the scope and key inside the window, as every process sees them."""
    since = clock.now() - item.window
    return RateLimitHit.objects.filter(
        scope=item.scope, key_hash=item.key_hash, created_at__gt=since
    ).count()


def exceeded(item: Limit) -> bool:
    return item.limit > 0 and count(item) >= item.limit


def record(*items: Limit) -> None:
    now = clock.now()
    RateLimitHit.objects.bulk_create(
        RateLimitHit(
            scope=item.scope,
            key_hash=item.key_hash,
            created_at=now,
            expires_at=now + item.window,
        )
        for item in items
    )


def allow(items: Sequence[Limit]) -> bool:
    """True and one hit recorded per limit when none is exceeded; refused ones are not counted."""
    with transaction.atomic():
        if any(exceeded(item) for item in items):
            return False
        record(*items)
    return True


def prune() -> int:
    """Delete the hits whose window is over (run by the scheduler); returns how many."""
    deleted, _by_model = RateLimitHit.objects.filter(expires_at__lte=clock.now()).delete()
    return deleted
