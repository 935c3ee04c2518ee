"""Outbound delivery of an agent's e-mail article: queued by the event, sent by the task."""

from __future__ import annotations

import socket

import pytest
from django.core import mail

from tests.factories import AgentFactory, TicketFactory
from vorgang.tickets import services
from vorgang.tickets.models import DeliveryStatus, History
from vorgang.tickets.tasks import deliver_article

pytestmark = pytest.mark.django_db


@pytest.fixture
def immediate_tasks(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


def reply(ticket, agent, **kwargs):
    fields = {
        "body": "Ihr Termin ist am Montag.",
        "kind": "email",
        "to": "max@example.org",
        "subject": f"[Vorgang#{ticket.number}] Termin",
        "in_reply_to": "<abc@example.org>",
        "references": "<abc@example.org>",
        "attachments": [services.AttachmentInput("termin.txt", b"Montag", "text/plain")],
    }
    fields.update(kwargs)
    return services.add_article(agent, ticket, services.ArticleInput(**fields))


def test_reply_is_sent_after_commit(immediate_tasks, django_capture_on_commit_callbacks) -> None:
    ticket = TicketFactory()
    agent = AgentFactory(departments={ticket.department: ["full"]})
    with django_capture_on_commit_callbacks(execute=True):
        article = reply(ticket, agent)
        assert mail.outbox == []
    article.refresh_from_db()
    assert article.delivery_status == DeliveryStatus.SENT
    (sent,) = mail.outbox
    assert sent.to == ["max@example.org"]
    assert sent.from_email == ticket.department.email_address
    assert sent.extra_headers["In-Reply-To"] == "<abc@example.org>"
    assert sent.extra_headers["Message-ID"] == article.message_id
    assert sent.attachments[0][0] == "termin.txt"
    assert History.objects.filter(ticket=ticket, action="delivery", new_value="sent").exists()


def test_running_the_task_twice_sends_once(immediate_tasks) -> None:
    ticket = TicketFactory()
    article = reply(ticket, AgentFactory(departments={ticket.department: ["full"]}))
    assert deliver_article.call(article.pk) == "sent"
    assert deliver_article.call(article.pk) == "skipped"
    assert len(mail.outbox) == 1


def test_notes_and_citizen_mail_are_not_sent(immediate_tasks) -> None:
    ticket = TicketFactory()
    agent = AgentFactory(departments={ticket.department: ["full"]})
    note = reply(ticket, agent, internal=True)
    assert note.delivery_status == DeliveryStatus.NONE
    assert deliver_article.call(note.pk) == "skipped"
    assert mail.outbox == []


def test_unreachable_relay_keeps_the_article_queued_for_a_retry(settings) -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", port, 2
    ticket = TicketFactory()
    article = reply(ticket, AgentFactory(departments={ticket.department: ["full"]}))
    assert deliver_article.call(article.pk) == "retry"  # backoff: tests/channels/outbound
    article.refresh_from_db()
    assert article.delivery_status == DeliveryStatus.QUEUED
    assert "refused" in article.delivery_error.lower()


def test_missing_recipient_is_a_failure_not_silence(immediate_tasks) -> None:
    ticket = TicketFactory()
    article = reply(ticket, AgentFactory(departments={ticket.department: ["full"]}), to="")
    assert deliver_article.call(article.pk) == "failed"
    article.refresh_from_db()
    assert article.delivery_error == "no recipient address"
