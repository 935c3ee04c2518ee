"""Several messages in one batch of the worker: each decided as if it came alone.

The worker drains the journal in batches (lookups made once, the search index
written once per touched case at the end, no webhook work when there are no
webhooks); these tests pin that a batch changes nothing a message's outcome.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tasks_db.models import DBTaskResult

from tests.factories import DepartmentFactory
from vorgang.accounts.models import Department, Tenant
from vorgang.channels import journal
from vorgang.channels.email import intake
from vorgang.channels.models import InboundMessage, InboundStatus
from vorgang.search import deferral
from vorgang.search.models import SearchDocument
from vorgang.tickets import history
from vorgang.tickets.models import Article, History, Ticket
from vorgang.webhooks.models import Webhook, WebhookDelivery

from .conftest import ADDRESS, message


@pytest.fixture
def department(db: None) -> Department:
    # Events run after a commit: tests of what subscribers do commit for real
    # (``transactional``), the others stay in the test's transaction.
    department: Department = DepartmentFactory(name="Bürgerbüro", email_address=ADDRESS)
    return department


def accept(raw: bytes, recipient: str = ADDRESS) -> InboundMessage:
    return journal.accept(raw, channel="lmtp", recipient=recipient)


def statuses(entries: list[InboundMessage]) -> list[str]:
    found = dict(InboundMessage.objects.values_list("pk", "status"))
    return [found[e.pk] for e in entries]


def test_a_failing_message_fails_alone_and_the_others_are_stored(department: Department) -> None:
    first = accept(message(subject="Erste Frage", message_id="<b1@example.org>"))
    # Addressed to no department (e.g. the department was switched off meanwhile).
    lost = accept(message(to="niemand@example.org", message_id="<b2@example.org>"), "")
    last = accept(message(subject="Letzte Frage", message_id="<b3@example.org>"))

    assert intake.drain() == (3, False)

    assert statuses([first, lost, last]) == [
        InboundStatus.PROCESSED,
        InboundStatus.FAILED,
        InboundStatus.PROCESSED,
    ]
    lost.refresh_from_db()
    assert lost.error.startswith("NoDepartment")
    assert lost.article_id is None
    assert set(Article.objects.filter(sender="citizen").values_list("message_id", flat=True)) == {
        "<b1@example.org>",
        "<b3@example.org>",
    }
    assert list(history.verify()) == []


def test_a_second_copy_in_the_same_batch_is_a_duplicate(department: Department) -> None:
    raw = message(subject="Zweimal zugestellt", message_id="<twice@example.org>")
    original, copy = accept(raw), accept(raw)

    assert intake.drain() == (2, False)

    assert statuses([original, copy]) == [InboundStatus.PROCESSED, InboundStatus.DUPLICATE]
    original.refresh_from_db()
    copy.refresh_from_db()
    assert copy.article_id == original.article_id is not None
    assert Article.objects.filter(message_id="<twice@example.org>").count() == 1
    assert Ticket.objects.count() == 1


def test_a_reply_to_a_case_opened_earlier_in_the_batch_joins_it(department: Department) -> None:
    opening = accept(message(subject="Wohngeld", message_id="<open@example.org>"))
    reply = accept(
        message(
            subject="AW: Wohngeld",
            message_id="<reply@example.org>",
            extra="In-Reply-To: <open@example.org>\r\nReferences: <open@example.org>\r\n",
        )
    )
    other = accept(message(subject="Sperrmüll", message_id="<other@example.org>"))

    assert intake.drain() == (3, False)

    assert statuses([opening, reply, other]) == [InboundStatus.PROCESSED] * 3
    opening.refresh_from_db()
    reply.refresh_from_db()
    other.refresh_from_db()
    assert reply.ticket_id == opening.ticket_id
    assert other.ticket_id != opening.ticket_id
    case = Ticket.objects.get(pk=opening.ticket_id)
    # One citizen for the same address across the batch, and on both cases.
    assert case.citizen_id == Ticket.objects.get(pk=other.ticket_id).citizen_id is not None
    citizen_mail = case.articles.filter(sender="citizen").order_by("pk")
    assert list(citizen_mail.values_list("message_id", flat=True)) == [
        "<open@example.org>",
        "<reply@example.org>",
    ]
    # Each new case got its confirmation; the reply did not get another.
    assert case.articles.filter(sender="system").count() == 1
    assert list(history.verify()) == []
    actions = list(History.objects.filter(ticket=case).order_by("seq").values_list("action"))
    assert actions[0] == ("created",)
    assert [a for (a,) in actions].count("article_added") == 3


@pytest.mark.django_db(transaction=True)
def test_every_touched_case_is_indexed_once_at_the_end_of_the_batch(
    department: Department, settings
) -> None:
    settings.VORGANG_SEARCH_SYNC = True  # the embedded default (SQLite) on either database
    entries = [
        accept(message(subject=f"Anfrage {i}", message_id=f"<idx{i}@example.org>"))
        for i in range(4)
    ]

    with CaptureQueriesContext(connection) as queries:
        intake.drain()

    ticket_ids = set(
        InboundMessage.objects.filter(pk__in=[e.pk for e in entries]).values_list(
            "ticket_id", flat=True
        )
    )
    assert len(ticket_ids) == 4
    assert set(SearchDocument.objects.values_list("ticket_id", flat=True)) == ticket_ids
    writes = [
        q["sql"] for q in queries.captured_queries if "INTO search_searchdocument" in q["sql"]
    ]
    assert len(writes) == 1  # one write for the four cases (eight events), not eight


@pytest.mark.django_db(transaction=True)
def test_with_a_search_worker_a_batch_indexes_its_new_cases_and_queues_one_task(
    department: Department, settings
) -> None:
    """New cases are indexed at the batch's end in the batch itself (no task); replies to
    earlier cases go to the search worker in one task for the batch, not one per event."""
    settings.VORGANG_SEARCH_SYNC = False  # the PostgreSQL default: the worker indexes
    for i in range(3):
        accept(message(subject=f"Anfrage {i}", message_id=f"<task{i}@example.org>"))
    DBTaskResult.objects.all().delete()

    intake.drain()

    search_tasks = DBTaskResult.objects.filter(task_path__startswith="vorgang.search.tasks.")
    cases = sorted(Ticket.objects.values_list("pk", flat=True))
    assert len(cases) == 3
    assert not search_tasks.exists()
    assert sorted(SearchDocument.objects.values_list("ticket_id", flat=True)) == cases

    for ticket in Ticket.objects.all():
        accept(message(subject=f"Re: [Vorgang#{ticket.number}] Nachtrag"))
    intake.drain()

    tasks = list(search_tasks.values_list("task_path", "args_kwargs"))
    assert len(tasks) == 1, tasks  # one for the batch, not one per event (three)
    path, args_kwargs = tasks[0]
    assert path == "vorgang.search.tasks.reindex_tickets"
    assert sorted(args_kwargs["args"][0]) == cases
    assert Ticket.objects.count() == 3  # the replies were threaded into their cases


@pytest.mark.django_db(transaction=True)
def test_cases_a_killed_batch_left_unindexed_are_indexed_by_the_catch_up(
    department: Department, settings
) -> None:
    settings.VORGANG_SEARCH_SYNC = True
    entries = [
        accept(message(subject=f"Anfrage {i}", message_id=f"<miss{i}@example.org>"))
        for i in range(3)
    ]
    intake.drain()
    assert intake.index_missed() == 0  # the batch indexed its cases
    # As if the worker died after the messages' commits, before the batch's end.
    SearchDocument.objects.all().delete()
    missed = InboundMessage.objects.get(pk=entries[1].pk).ticket_id

    assert intake.index_missed() == 3
    assert SearchDocument.objects.filter(ticket_id=missed).exists()
    assert SearchDocument.objects.count() == 3
    assert intake.index_missed() == 0  # nothing left: the next run does no work


def test_outside_a_batch_the_index_is_written_at_once(department: Department) -> None:
    with deferral.deferred():
        assert deferral.defer(1)
    assert not deferral.defer(1)  # no block open: the subscriber indexes right away


@pytest.mark.django_db(transaction=True)
def test_webhooks_still_get_every_event_of_a_batch(department: Department) -> None:
    hook = Webhook.objects.create(
        tenant=Tenant.default(),
        name="Fachverfahren",
        url="http://127.0.0.1:9/hook",
        secret="s" * 32,
        events=["ticket.created", "article.created"],
    )
    accept(message(subject="Mit Webhook", message_id="<hook@example.org>"))

    intake.drain()

    events = sorted(WebhookDelivery.objects.filter(webhook=hook).values_list("event", flat=True))
    # The case, the citizen's message and the automatic confirmation.
    assert events == ["article.created", "article.created", "ticket.created"]


@pytest.mark.django_db(transaction=True)
def test_a_batch_without_webhooks_asks_about_them_once(department: Department) -> None:
    for i in range(3):
        accept(message(subject=f"Ohne Webhook {i}", message_id=f"<nohook{i}@example.org>"))

    with CaptureQueriesContext(connection) as queries:
        intake.drain()

    webhook_queries = [q for q in queries.captured_queries if '"webhooks_webhook"' in q["sql"]]
    assert len(webhook_queries) == 1
    assert Ticket.objects.count() == 3
