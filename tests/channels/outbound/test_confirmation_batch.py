"""Sending a chunk of confirmations at once (``tickets.tasks.deliver_articles``) through a
real SMTP server: one connection for the chunk, each mail succeeding or failing alone,
and the retries of a server that is down exactly as one by one."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from django_tasks_db.models import DBTaskResult

from tests.factories import CitizenFactory, DepartmentFactory
from vorgang.accounts.models import Department
from vorgang.channels.email import confirmations, outbound
from vorgang.channels.models import PendingConfirmation
from vorgang.tickets import events, history, services
from vorgang.tickets.models import Article, DeliveryStatus, History, Ticket
from vorgang.tickets.tasks import deliver_article, deliver_articles

from .conftest import DB_TASKS, ScriptedHandler, free_port

pytestmark = pytest.mark.django_db

TASK_PATH = "vorgang.tickets.tasks.deliver_article"


@dataclass
class CountingHandler(ScriptedHandler):
    """The scripted relay, also counting the SMTP connections it was sent mail over."""

    connections: int = 0

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if not getattr(session, "vorgang_counted", False):
            session.vorgang_counted = True
            self.connections += 1
        return await super().handle_MAIL(server, session, envelope, address, options)


def _use_relay(settings: Any, port: int) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", port, 10
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.TASKS = DB_TASKS


@pytest.fixture
def relay(settings: Any) -> Iterator[CountingHandler]:
    handler = CountingHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port(), ready_timeout=10)
    controller.start()
    _use_relay(settings, controller.port)
    try:
        yield handler
    finally:
        controller.stop()


@pytest.fixture
def department(db: Any) -> Department:
    found: Department = DepartmentFactory(
        name="Bürgerbüro Mitte", email_address="buergerbuero@stadt.example"
    )
    return found


def new_cases(department: Department, count: int) -> list[Article]:
    """``count`` cases opened by e-mail, each with its confirmation pending as in a drain
    batch (a ``PendingConfirmation`` row); the confirmation articles."""
    found: list[Article] = []
    with confirmations.batched():
        for i in range(count):
            citizen = CitizenFactory(
                tenant=department.tenant, email=f"buerger{i}@example.org", first_name=f"B{i}"
            )
            ticket = services.create_ticket(
                None,
                department=department,
                title=f"Frage {i}",
                citizen=citizen,
                article=services.ArticleInput(
                    body="Guten Tag",
                    kind="email",
                    sender="citizen",
                    subject=f"Frage {i}",
                    from_addr=citizen.email,
                    message_id=f"<frage-{i}@example.org>",
                ),
            )
            confirmation = outbound.queue_confirmation(ticket, ticket.articles.get(), allowed=True)
            assert confirmation is not None
            found.append(confirmation)
    assert PendingConfirmation.objects.count() == count
    return found


def statuses(articles: list[Article]) -> list[str]:
    by_pk = dict(
        Article.objects.filter(pk__in=[a.pk for a in articles]).values_list("pk", "delivery_status")
    )
    return [by_pk[a.pk] for a in articles]


def delivery_entries(article: Article) -> list[str]:
    return list(
        History.objects.filter(action="delivery", field=f"article:{article.pk}")
        .order_by("seq")
        .values_list("new_value", flat=True)
    )


def scheduled() -> list[DBTaskResult]:
    return list(DBTaskResult.objects.filter(task_path=TASK_PATH).order_by("enqueued_at"))


def test_a_chunk_goes_out_over_one_connection(
    relay: CountingHandler, department: Department, django_capture_on_commit_callbacks: Any
) -> None:
    articles = new_cases(department, 5)
    delivered: list[events.Event] = []
    events.subscribe(events.ARTICLE_DELIVERED)(delivered.append)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            assert confirmations.send_pending() == 5
    finally:
        events.unsubscribe(events.ARTICLE_DELIVERED, delivered.append)

    assert relay.connections == 1
    assert sorted(r for m in relay.received for r in m.rcpt_tos) == [
        f"buerger{i}@example.org" for i in range(5)
    ]
    sent = {m.message["Message-ID"]: m.message for m in relay.received}
    for article in articles:
        message = sent[article.message_id]  # the article's own Message-ID went out
        assert message["Auto-Submitted"] == "auto-replied"
        assert message["Reply-To"].startswith("buergerbuero+")
    assert statuses(articles) == [DeliveryStatus.SENT] * 5
    assert all(delivery_entries(a) == ["sent"] for a in articles)
    # The same event as one by one: one per article, with its case.
    assert sorted((e.ticket_id, e.article_id, e.actor_id) for e in delivered) == sorted(
        (a.ticket_id, a.pk, None) for a in articles
    )
    assert list(history.verify()) == []
    assert not PendingConfirmation.objects.exists()
    assert scheduled() == []


def test_a_refused_recipient_fails_alone_and_the_connection_goes_on(
    relay: CountingHandler, department: Department, django_capture_on_commit_callbacks: Any
) -> None:
    articles = new_cases(department, 3)
    relay.refuse = {"buerger1@example.org"}

    with django_capture_on_commit_callbacks(execute=True):
        assert confirmations.send_pending() == 3

    assert relay.connections == 1
    assert statuses(articles) == [DeliveryStatus.SENT, DeliveryStatus.FAILED, DeliveryStatus.SENT]
    failed = Article.objects.get(pk=articles[1].pk)
    assert "550" in failed.delivery_error and "buerger1@example.org" in failed.delivery_error
    assert delivery_entries(articles[1]) == ["failed"]
    assert scheduled() == []  # a permanent refusal is not retried


def test_a_passing_refusal_retries_only_that_mail(
    relay: CountingHandler, department: Department, django_capture_on_commit_callbacks: Any
) -> None:
    articles = new_cases(department, 3)
    relay.script = ["ok", "rcpt:451 4.7.1 greylisted", "ok"]

    with django_capture_on_commit_callbacks(execute=True):
        outcome = deliver_articles([a.pk for a in articles])

    assert outcome == {articles[0].pk: "sent", articles[1].pk: "retry", articles[2].pk: "sent"}
    assert relay.connections == 1
    greylisted = Article.objects.get(pk=articles[1].pk)
    assert greylisted.delivery_status == DeliveryStatus.QUEUED
    assert "greylisted" in greylisted.delivery_error
    (row,) = scheduled()
    assert row.args_kwargs["args"] == [articles[1].pk]
    assert row.run_after > row.enqueued_at


@pytest.mark.parametrize("closing", ["data:421 4.3.2 shutting down", "rcpt:421 4.3.2 going away"])
def test_a_server_closing_the_connection_is_reopened_for_the_next_mail(
    closing: str,
    relay: CountingHandler,
    department: Department,
    django_capture_on_commit_callbacks: Any,
) -> None:
    articles = new_cases(department, 3)
    relay.script = ["ok", closing, "ok"]

    with django_capture_on_commit_callbacks(execute=True):
        outcome = deliver_articles([a.pk for a in articles])

    assert list(outcome.values()) == ["sent", "retry", "sent"]
    assert relay.connections == 2  # smtplib dropped the connection after the 421
    assert [m.rcpt_tos for m in relay.received] == [
        ["buerger0@example.org"],
        ["buerger2@example.org"],
    ]


def test_a_server_that_is_down_leaves_each_confirmation_for_its_retry(
    settings: Any, department: Department, django_capture_on_commit_callbacks: Any
) -> None:
    port = free_port()
    _use_relay(settings, port)  # nothing listens there yet
    settings.VORGANG_MAIL_RETRY_DELAYS = [60, 300]
    articles = new_cases(department, 3)

    with django_capture_on_commit_callbacks(execute=True):
        assert confirmations.send_pending() == 3

    assert statuses(articles) == [DeliveryStatus.QUEUED] * 3
    for article in articles:
        article.refresh_from_db()
        assert "refused" in article.delivery_error.lower()
        assert delivery_entries(article) == ["retry"]
    rows = scheduled()
    assert sorted(r.args_kwargs["args"][0] for r in rows) == sorted(a.pk for a in articles)
    assert all(50 < (r.run_after - r.enqueued_at).total_seconds() < 70 for r in rows)
    assert not PendingConfirmation.objects.exists()  # the retries are the tasks' now

    # The relay is back: each scheduled retry sends its confirmation.
    handler = CountingHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=port, ready_timeout=10)
    controller.start()
    try:
        for row in rows:
            with django_capture_on_commit_callbacks(execute=True):
                assert deliver_article.call(*row.args_kwargs["args"]) == "sent"
    finally:
        controller.stop()
    assert statuses(articles) == [DeliveryStatus.SENT] * 3
    assert len(handler.received) == 3
    assert all(delivery_entries(a) == ["retry", "sent"] for a in articles)


def test_sent_or_failed_confirmations_are_skipped(
    relay: CountingHandler, department: Department, django_capture_on_commit_callbacks: Any
) -> None:
    articles = new_cases(department, 3)
    services.record_delivery(articles[0].pk, sent=True)

    with django_capture_on_commit_callbacks(execute=True):
        outcome = deliver_articles([a.pk for a in articles] + [10**9])

    assert outcome == {
        articles[0].pk: "skipped",
        articles[1].pk: "sent",
        articles[2].pk: "sent",
        10**9: "skipped",  # gone
    }
    assert len(relay.received) == 2
    assert Ticket.objects.get(pk=articles[0].ticket_id).history_head == (
        History.objects.filter(ticket_id=articles[0].ticket_id).order_by("-seq").first().hash
    )
