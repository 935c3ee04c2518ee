"""Sending an agent's reply through a real SMTP server: retries, backoff, permanent failures.

The worker is simulated by running the task from the rows the database task backend
holds (``DBTaskResult``): each retry the task schedules is one row with ``run_after``
in the future, and running it is what the worker does once that time has come.
"""

from __future__ import annotations

from typing import Any

import pytest
from django_tasks_db.models import DBTaskResult

from vorgang.channels.email import outbound
from vorgang.tickets import services
from vorgang.tickets.models import Article, DeliveryStatus, History
from vorgang.tickets.tasks import deliver_article

from .conftest import Case, ScriptedHandler

pytestmark = pytest.mark.django_db

TASK_PATH = "vorgang.tickets.tasks.deliver_article"


def scheduled() -> list[DBTaskResult]:
    return list(DBTaskResult.objects.filter(task_path=TASK_PATH).order_by("enqueued_at"))


def run(article: Article, capture: Any) -> str:
    """One run of the task, with what it enqueues after commit really enqueued."""
    with capture(execute=True):
        result = deliver_article.call(article.pk)
    article.refresh_from_db()
    return result


def run_next_scheduled(capture: Any) -> str:
    """What the worker does: take the next waiting task row and run it with its arguments."""
    row = scheduled()[-1]
    assert row.status == "READY"
    args = row.args_kwargs["args"]
    row.delete()
    with capture(execute=True):
        result: str = deliver_article.call(*args)
    return result


def agent_reply(case: Case) -> Article:
    return outbound.reply(
        case.agent,
        case.ticket,
        body="Guten Tag Frau Mustermann,\n\nkommen Sie am Montag um 10 Uhr.",
        quote_article=case.citizen_mail,
        attachments=[
            services.AttachmentInput(
                "Terminbestätigung.pdf", b"%PDF-1.4 Termin", "application/pdf"
            ),
            services.AttachmentInput("hinweise.txt", b"Bitte Ausweis mitbringen.", "text/plain"),
        ],
    )


def test_refused_twice_then_accepted(
    smtp: ScriptedHandler, case: Case, django_capture_on_commit_callbacks: Any
) -> None:
    smtp.script = ["rcpt:451 4.7.1 greylisted, try again later", "data:451 4.3.0 busy", "ok"]
    article = agent_reply(case)
    assert article.delivery_status == DeliveryStatus.QUEUED

    assert run(article, django_capture_on_commit_callbacks) == "retry"
    assert article.delivery_status == DeliveryStatus.QUEUED
    assert "451" in article.delivery_error and "greylisted" in article.delivery_error
    (first,) = scheduled()
    assert first.args_kwargs["args"] == [article.pk]
    assert first.run_after > first.enqueued_at  # waits, is not run at once

    assert run_next_scheduled(django_capture_on_commit_callbacks) == "retry"
    article.refresh_from_db()
    assert article.delivery_status == DeliveryStatus.QUEUED
    assert "busy" in article.delivery_error
    (second,) = scheduled()
    # the backoff grows: 1 minute after the first failure, 5 after the second
    assert (second.run_after - second.enqueued_at) > (first.run_after - first.enqueued_at)
    assert smtp.received == []

    assert run_next_scheduled(django_capture_on_commit_callbacks) == "sent"
    article.refresh_from_db()
    assert article.delivery_status == DeliveryStatus.SENT
    assert article.delivery_error == ""
    assert scheduled() == []
    assert smtp.attempts == 3
    retries = History.objects.filter(
        ticket=case.ticket, action="delivery", field=f"article:{article.pk}"
    ).values_list("new_value", flat=True)
    assert list(retries) == ["retry", "retry", "sent"]

    (received,) = smtp.received
    assert received.rcpt_tos == ["erika@example.org"]
    assert received.mail_from == "buergerbuero@stadt.example"
    message = received.message
    number = case.ticket.number
    assert message["Message-ID"] == article.message_id
    assert article.message_id.startswith(f"<vorgang.{number}.")
    assert article.message_id.endswith("@stadt.example>")
    assert message["In-Reply-To"] == "<erika-1@example.org>"
    assert message["References"] == "<erika-1@example.org>"
    token = case.ticket.reply_token
    assert message["Reply-To"] == f"buergerbuero+{token}@stadt.example"
    assert message["Subject"] == f"[Vorgang#{number}] Termin für den Personalausweis"
    assert message["From"].addresses[0].display_name == "Bürgerbüro Mitte"
    assert message["From"].addresses[0].addr_spec == "buergerbuero@stadt.example"
    assert message["To"].addresses[0].addr_spec == "erika@example.org"
    assert message["X-Loop"] == "Vorgang"
    assert message["Auto-Submitted"] is None  # a person wrote this
    assert message["Precedence"] is None
    body = message.get_body(("plain",))
    assert body is not None
    text = body.get_content().replace("\r\n", "\n")
    assert text.startswith("Guten Tag Frau Mustermann,\n\nkommen Sie am Montag um 10 Uhr.")
    assert "schrieb Erika Mustermann:\n> Guten Tag,\n> wann kann ich kommen?" in text
    assert text.endswith("\n-- \nIhr Bürgerbüro Mitte\nTelefon 030 1234-0\n")
    files = {part.get_filename(): part.get_content() for part in message.iter_attachments()}
    assert files == {
        "Terminbestätigung.pdf": b"%PDF-1.4 Termin",
        "hinweise.txt": "Bitte Ausweis mitbringen.",
    }


def test_server_down_schedules_retries_until_it_gives_up(
    closed_port: int, settings: Any, case: Case, django_capture_on_commit_callbacks: Any
) -> None:
    settings.VORGANG_MAIL_RETRY_DELAYS = [60, 300]  # three attempts in all
    article = agent_reply(case)

    assert run(article, django_capture_on_commit_callbacks) == "retry"
    assert article.delivery_status == DeliveryStatus.QUEUED
    assert "refused" in article.delivery_error.lower()
    (row,) = scheduled()
    assert 50 < (row.run_after - row.enqueued_at).total_seconds() < 70

    assert run_next_scheduled(django_capture_on_commit_callbacks) == "retry"
    (row,) = scheduled()
    assert 290 < (row.run_after - row.enqueued_at).total_seconds() < 310

    assert run_next_scheduled(django_capture_on_commit_callbacks) == "failed"
    article.refresh_from_db()
    assert article.delivery_status == DeliveryStatus.FAILED
    assert "refused" in article.delivery_error.lower()
    assert "gave up after 3 attempts" in article.delivery_error
    assert scheduled() == []


def test_recipient_refused_permanently_fails_at_once(
    smtp: ScriptedHandler, case: Case, django_capture_on_commit_callbacks: Any
) -> None:
    smtp.refuse = {"erika@example.org"}
    article = agent_reply(case)
    assert run(article, django_capture_on_commit_callbacks) == "failed"
    assert article.delivery_status == DeliveryStatus.FAILED
    assert "550" in article.delivery_error
    assert "mailbox unavailable" in article.delivery_error
    assert scheduled() == []
    assert smtp.received == []


def test_message_refused_with_5xx_at_data_fails_at_once(
    smtp: ScriptedHandler, case: Case, django_capture_on_commit_callbacks: Any
) -> None:
    smtp.script = ["data:554 5.6.0 message rejected as spam"]
    article = agent_reply(case)
    assert run(article, django_capture_on_commit_callbacks) == "failed"
    assert article.delivery_status == DeliveryStatus.FAILED
    assert article.delivery_error.startswith("554")
    assert scheduled() == []


def test_a_sent_article_is_not_sent_again_by_a_late_retry(
    smtp: ScriptedHandler, case: Case, django_capture_on_commit_callbacks: Any
) -> None:
    article = agent_reply(case)
    assert run(article, django_capture_on_commit_callbacks) == "sent"
    assert run(article, django_capture_on_commit_callbacks) == "skipped"
    assert len(smtp.received) == 1


def test_cc_and_thread_references(
    smtp: ScriptedHandler, case: Case, django_capture_on_commit_callbacks: Any
) -> None:
    first = agent_reply(case)
    assert run(first, django_capture_on_commit_callbacks) == "sent"
    # the citizen answers our reply; the next reply continues that thread
    follow_up = services.add_article(
        None,
        case.ticket,
        services.ArticleInput(
            body="Montag passt.",
            kind="email",
            sender="citizen",
            subject=f"Re: [Vorgang#{case.ticket.number}] Termin für den Personalausweis",
            from_addr="erika@example.org",
            message_id="<erika-2@example.org>",
            in_reply_to=first.message_id,
            references=f"<erika-1@example.org> {first.message_id}",
        ),
    )
    second = outbound.reply(
        case.agent, case.ticket, body="Bis Montag.", cc="Amt <kollege@stadt.example>"
    )
    assert second.in_reply_to == follow_up.message_id
    assert second.references.split() == [
        "<erika-1@example.org>",
        first.message_id,
        "<erika-2@example.org>",
    ]
    assert second.subject == follow_up.subject
    assert run(second, django_capture_on_commit_callbacks) == "sent"
    received = smtp.received[-1]
    assert sorted(received.rcpt_tos) == ["erika@example.org", "kollege@stadt.example"]
    assert received.message["Cc"].addresses[0].addr_spec == "kollege@stadt.example"
    assert received.message["References"].split() == second.references.split()


def test_failure_classification() -> None:
    import smtplib

    assert outbound.classify_failure(ConnectionRefusedError(111, "refused")).permanent is False
    assert outbound.classify_failure(smtplib.SMTPServerDisconnected("gone")).permanent is False
    assert outbound.classify_failure(smtplib.SMTPDataError(452, b"full")).permanent is False
    assert outbound.classify_failure(smtplib.SMTPDataError(552, b"too big")).permanent is True
    # a wrong relay password is fixed by an admin: keep trying, the error is shown meanwhile
    assert outbound.classify_failure(smtplib.SMTPAuthenticationError(535, b"no")).permanent is False
    mixed = smtplib.SMTPRecipientsRefused({"a@x": (550, b"no"), "b@x": (451, b"later")})
    assert outbound.classify_failure(mixed).permanent is False
    assert outbound.classify_failure(ValueError("bad header")).permanent is True
