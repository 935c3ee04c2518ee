"""Fixtures for the IMAP poller: a real Dovecot for the whole session, a fresh user per test.

Without Dovecot the tests that need it are skipped with the reason; under CI=true
they fail instead, so CI never passes without having talked to a real server.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.utils import translation

from tests.factories import DepartmentFactory
from vorgang.accounts.models import Department
from vorgang.channels.models import Mailbox

from .dovecot import Account, Dovecot, DovecotUnavailable


@pytest.fixture(scope="session")
def dovecot() -> Iterator[Dovecot]:
    try:
        server = Dovecot.start()
    except DovecotUnavailable as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{exc}; under CI=true the IMAP tests must run", pytrace=False)
        pytest.skip(f"IMAP tests need a real Dovecot: {exc}")
    yield server
    server.stop()


@pytest.fixture
def account(dovecot: Dovecot) -> Account:
    return dovecot.add_user()


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    """Admin texts in English, whatever translations exist, so assertions stay stable."""
    with translation.override("en"):
        yield


@pytest.fixture
def department(db: Any) -> Department:
    return DepartmentFactory(name="Bürgerbüro", email_address="buergerbuero@stadt.example")


@pytest.fixture
def make_mailbox(
    dovecot: Dovecot, account: Account, department: Department
) -> Callable[..., Mailbox]:
    """A Mailbox row for the test user: plain IMAP on 127.0.0.1 unless told otherwise."""

    def make(user: Account | None = None, **fields: Any) -> Mailbox:
        user = user or account
        values: dict[str, Any] = {
            "tenant": department.tenant,
            "name": f"Postfach {user.user}",
            "host": "127.0.0.1",
            "port": dovecot.plain_port,
            "security": "none",
            "username": user.user,
            "password": user.password,
            "department": department,
            "after_fetch": "keep",
        }
        values.update(fields)
        return Mailbox.objects.create(**values)

    return make
