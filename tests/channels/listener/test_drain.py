"""The worker drains the journal in batches: one waiting task, lookups once per batch."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tasks_db.models import DBTaskResult

from tests.factories import DepartmentFactory
from vorgang.accounts.models import Department
from vorgang.channels import journal
from vorgang.channels.email import intake
from vorgang.channels.models import InboundMessage, InboundStatus
from vorgang.channels.tasks import drain_inbound
from vorgang.tickets.models import Article, Blob

from .conftest import ADDRESS, message

DRAIN = "vorgang.channels.tasks.drain_inbound"


@pytest.fixture
def department(db: None) -> Department:
    department: Department = DepartmentFactory(name="Bürgerbüro", email_address=ADDRESS)
    return department


def accept_many(count: int, django_capture_on_commit_callbacks) -> list[int]:  # type: ignore[no-untyped-def]
    ids = []
    for i in range(count):
        with django_capture_on_commit_callbacks(execute=True):
            entry = journal.accept(
                message(subject=f"Anfrage {i}", message_id=f"<drain-{i}@example.org>"),
                channel="lmtp",
                recipient=ADDRESS,
            )
        ids.append(entry.pk)
    return ids


def test_many_accepted_messages_wait_for_one_drain_task(
    department: Department, django_capture_on_commit_callbacks
) -> None:
    accept_many(5, django_capture_on_commit_callbacks)

    (task,) = DBTaskResult.objects.all()
    assert task.task_path == DRAIN
    assert task.status == "READY"


def test_a_new_drain_is_queued_once_the_waiting_one_has_started(
    department: Department, django_capture_on_commit_callbacks
) -> None:
    accept_many(1, django_capture_on_commit_callbacks)
    DBTaskResult.objects.update(status="RUNNING")  # the worker took it

    accept_many(1, django_capture_on_commit_callbacks)

    assert list(DBTaskResult.objects.order_by("status").values_list("status", flat=True)) == [
        "READY",
        "RUNNING",
    ]


def test_drain_processes_every_entry_in_batches_and_reports_the_rest(
    department: Department, django_capture_on_commit_callbacks
) -> None:
    ids = accept_many(7, django_capture_on_commit_callbacks)

    done, more = intake.drain(batch_size=3, limit=5)

    assert (done, more) == (5, True)
    statuses = dict(InboundMessage.objects.values_list("pk", "status"))
    assert [statuses[pk] for pk in ids] == [InboundStatus.PROCESSED] * 5 + [
        InboundStatus.RECEIVED
    ] * 2
    assert intake.drain(batch_size=3) == (2, False)
    assert Article.objects.filter(message_id__startswith="<drain-").count() == 7
    # Each entry was claimed once: one attempt each.
    assert set(InboundMessage.objects.values_list("attempts", flat=True)) == {1}


def test_the_drain_task_queues_itself_again_when_entries_are_left(
    department: Department, django_capture_on_commit_callbacks, monkeypatch
) -> None:
    accept_many(4, django_capture_on_commit_callbacks)
    DBTaskResult.objects.all().delete()
    monkeypatch.setattr(intake, "DRAIN_LIMIT", 3)
    monkeypatch.setattr(intake.drain, "__defaults__", (intake.BATCH_SIZE, 3))

    with django_capture_on_commit_callbacks(execute=True):
        assert drain_inbound.call() == 3

    (follow_up,) = DBTaskResult.objects.filter(task_path=DRAIN)
    assert follow_up.status == "READY"
    assert InboundMessage.objects.filter(status=InboundStatus.RECEIVED).count() == 1


def test_one_bad_message_in_a_batch_fails_alone(
    department: Department, django_capture_on_commit_callbacks
) -> None:
    ids = accept_many(3, django_capture_on_commit_callbacks)
    bad = InboundMessage.objects.get(pk=ids[1])
    # Its stored bytes are gone (a broken disk): processing it must fail, visibly.
    Blob.objects.filter(pk=bad.raw_id).update(path="blobs/missing")

    assert intake.drain() == (3, False)

    statuses = dict(InboundMessage.objects.values_list("pk", "status"))
    assert [statuses[pk] for pk in ids] == [
        InboundStatus.PROCESSED,
        InboundStatus.FAILED,
        InboundStatus.PROCESSED,
    ]
    bad.refresh_from_db()
    assert "FileNotFoundError" in bad.error


def test_a_batch_looks_up_the_department_and_states_once(
    department: Department, django_capture_on_commit_callbacks
) -> None:
    accept_many(6, django_capture_on_commit_callbacks)

    with CaptureQueriesContext(connection) as queries:
        intake.drain(batch_size=6)

    department_lookups = [
        q["sql"] for q in queries.captured_queries if 'FROM "accounts_department"' in q["sql"]
    ]
    state_lookups = [
        q["sql"] for q in queries.captured_queries if 'FROM "tickets_state"' in q["sql"]
    ]
    # One for the whole batch: every department's address at once (the recipient, and
    # whether a sender is one of ours, are answered from it).
    assert len(department_lookups) == 1
    assert len(state_lookups) <= 1
