"""The confirmations of a drain batch: one send task for the batch, none lost, none twice.

These tests commit for real (``transaction=True``): the batch queues its task only for
confirmations whose message has committed, as in the worker.
"""

from __future__ import annotations

import functools
from datetime import timedelta

import pytest
from django.db import connection
from django_tasks_db.models import DBTaskResult

from tests.channels.listener.conftest import ADDRESS, message
from tests.concurrency import in_parallel
from tests.factories import DepartmentFactory
from vorgang.accounts.models import Department
from vorgang.channels import journal
from vorgang.channels.email import confirmations, intake
from vorgang.channels.models import PendingConfirmation
from vorgang.channels.tasks import send_confirmations
from vorgang.core import clock
from vorgang.tickets.models import Article, DeliveryStatus, SenderKind

from .conftest import ScriptedHandler

pytestmark = pytest.mark.django_db(transaction=True)

SEND_TASK = "vorgang.channels.tasks.send_confirmations"
DELIVER_TASK = "vorgang.tickets.tasks.deliver_article"


@pytest.fixture
def department(transactional_db: None) -> Department:
    department: Department = DepartmentFactory(name="Bürgerbüro", email_address=ADDRESS)
    return department


def new_mail(count: int) -> list[str]:
    """``count`` new cases' first mails from different citizens, drained in one batch."""
    senders = [f"buerger{i}@example.org" for i in range(count)]
    for i, sender in enumerate(senders):
        raw = message(subject=f"Frage {i}", sender=f"Bürger {i} <{sender}>")
        journal.accept(raw, channel="lmtp", recipient=ADDRESS)
    assert intake.drain(batch_size=count) == (count, False)
    return senders


def task_paths() -> list[str]:
    """The queued tasks that send mail (not the drain's, not search's on PostgreSQL)."""
    return list(
        DBTaskResult.objects.filter(task_path__in=[SEND_TASK, DELIVER_TASK])
        .order_by("enqueued_at")
        .values_list("task_path", flat=True)
    )


def confirmations_by_status() -> dict[str, int]:
    found: dict[str, int] = {}
    for status in Article.objects.filter(sender=SenderKind.SYSTEM).values_list(
        "delivery_status", flat=True
    ):
        found[status] = found.get(status, 0) + 1
    return found


def test_a_batch_queues_one_task_that_sends_every_confirmation(
    smtp: ScriptedHandler, department: Department
) -> None:
    senders = new_mail(3)

    # One task for the batch instead of one deliver_article task per confirmation.
    assert task_paths() == [SEND_TASK]
    assert PendingConfirmation.objects.count() == 3
    assert confirmations_by_status() == {DeliveryStatus.QUEUED: 3}

    assert send_confirmations.call() == 3

    assert sorted(r for m in smtp.received for r in m.rcpt_tos) == senders
    assert all("[Vorgang#" in str(m.message["Subject"]) for m in smtp.received)
    assert confirmations_by_status() == {DeliveryStatus.SENT: 3}
    assert not PendingConfirmation.objects.exists()
    assert send_confirmations.call() == 0  # a second run finds nothing


def test_a_refused_confirmation_fails_alone(smtp: ScriptedHandler, department: Department) -> None:
    new_mail(3)
    smtp.refuse = {"buerger1@example.org"}

    assert send_confirmations.call() == 3

    assert sorted(r for m in smtp.received for r in m.rcpt_tos) == [
        "buerger0@example.org",
        "buerger2@example.org",
    ]
    assert confirmations_by_status() == {DeliveryStatus.SENT: 2, DeliveryStatus.FAILED: 1}
    assert not PendingConfirmation.objects.exists()


def test_a_single_message_outside_a_batch_still_gets_its_own_task(
    smtp: ScriptedHandler, department: Department
) -> None:
    entry = journal.accept(message(), channel="lmtp", recipient=ADDRESS)

    assert intake.process(entry.pk) == "processed"

    assert task_paths() == [DELIVER_TASK]
    assert not PendingConfirmation.objects.exists()


def test_confirmations_a_dead_worker_left_are_queued_again(
    smtp: ScriptedHandler, department: Department
) -> None:
    new_mail(2)
    # The worker died before its batch queued the task.
    DBTaskResult.objects.filter(task_path=SEND_TASK).delete()

    assert confirmations.recover() == 0  # too fresh: the batch's own task may still come
    assert task_paths() == []

    PendingConfirmation.objects.update(created_at=clock.now() - timedelta(minutes=2))
    assert confirmations.recover() == 2
    assert confirmations.recover() == 2  # still waiting, but one task is enough
    assert task_paths() == [SEND_TASK]

    assert send_confirmations.call() == 2
    assert len(smtp.received) == 2
    assert confirmations.recover() == 0


def test_a_claim_expires_only_after_a_while(smtp: ScriptedHandler, department: Department) -> None:
    new_mail(2)
    first, second = PendingConfirmation.objects.order_by("pk")
    # Claimed by a worker that is sending it now, and by one that died long ago.
    PendingConfirmation.objects.filter(pk=first.pk).update(claimed_at=clock.now())
    PendingConfirmation.objects.filter(pk=second.pk).update(
        claimed_at=clock.now() - confirmations.CLAIM_EXPIRES - timedelta(seconds=1)
    )

    assert send_confirmations.call() == 1

    (received,) = smtp.received
    second_to = Article.objects.get(pk=second.article_id).to
    assert received.rcpt_tos == [second_to]
    assert list(PendingConfirmation.objects.values_list("pk", flat=True)) == [first.pk]


def test_parallel_senders_send_each_confirmation_once(
    smtp: ScriptedHandler, department: Department
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writing transactions: one worker sends at a time")
    count, threads_count = 24, 4
    senders = new_mail(count)
    handed = in_parallel([functools.partial(confirmations.send_pending, chunk=2)] * threads_count)

    assert sum(handed) == count
    assert sorted(r for m in smtp.received for r in m.rcpt_tos) == sorted(senders)
    assert confirmations_by_status() == {DeliveryStatus.SENT: count}
    assert not PendingConfirmation.objects.exists()
