"""Shared fixtures: every test gets its own data dir for uploaded files."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "files"
    # Real hashing costs ~0.3 s a user; tests need correctness, not slowness.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def tenant(db):
    from vorgang.accounts.models import Tenant

    return Tenant.default()


@pytest.fixture
def captured_events():
    """Events delivered after commit during the test, as a list."""
    from vorgang.tickets import events

    seen: list[events.Event] = []

    def collect(event: events.Event) -> None:
        seen.append(event)

    names = [
        events.TICKET_CREATED,
        events.TICKET_UPDATED,
        events.ARTICLE_CREATED,
        events.TICKET_MERGED,
    ]
    for name in names:
        events.subscribe(name)(collect)
    yield seen
    for name in names:
        events.unsubscribe(name, collect)
