"""Several workers draining the journal at once (PostgreSQL): every message stored once.

``VORGANG_WORKERS=2`` makes ``serve`` run two task workers; on PostgreSQL their drains
run side by side (each claims other entries). Two copies of one message (an MTA's
second delivery) must still end as one article and one duplicate, even when two
workers take them at the same moment. SQLite runs one writing transaction at a time,
so the race cannot happen there; these tests skip it.
"""

from __future__ import annotations

import functools

import pytest
from django.db import connection

from tests.concurrency import in_parallel
from vorgang.accounts.models import Department
from vorgang.channels import journal
from vorgang.channels.email import intake
from vorgang.channels.models import InboundMessage, InboundStatus
from vorgang.tickets.models import Article

from .conftest import ADDRESS, message

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def postgresql_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writing transactions: workers cannot race there")


def test_two_copies_taken_at_once_become_one_article(department: Department) -> None:
    for round_ in range(5):  # a race that passed once by luck fails one of these
        raw = message(subject=f"Zweimal {round_}", message_id=f"<race{round_}@example.org>")
        first = journal.accept(raw, channel="lmtp", recipient=ADDRESS)
        second = journal.accept(raw, channel="lmtp", recipient=ADDRESS)

        outcomes = in_parallel(
            [
                functools.partial(intake.process, first.pk),
                functools.partial(intake.process, second.pk),
            ]
        )

        assert sorted(str(o) for o in outcomes) == ["duplicate", "processed"]
        assert Article.objects.filter(message_id=f"<race{round_}@example.org>").count() == 1
        first.refresh_from_db()
        second.refresh_from_db()
        assert first.article_id == second.article_id is not None


def test_parallel_drains_store_each_message_once(department: Department) -> None:
    ids = []
    for i in range(30):
        raw = message(subject=f"Frage {i}", message_id=f"<p{i}@example.org>")
        ids.append(journal.accept(raw, channel="lmtp", recipient=ADDRESS).pk)
        if i % 3 == 0:  # every third delivered twice, the copy right behind it
            ids.append(journal.accept(raw, channel="lmtp", recipient=ADDRESS).pk)

    done = in_parallel([lambda: intake.drain(batch_size=3) for _ in range(3)])

    assert sum(d[0] for d in done) == len(ids)  # type: ignore[index]
    statuses = list(InboundMessage.objects.values_list("status", flat=True))
    assert statuses.count(InboundStatus.PROCESSED) == 30
    assert statuses.count(InboundStatus.DUPLICATE) == 10
    assert Article.objects.filter(message_id__startswith="<p").count() == 30
