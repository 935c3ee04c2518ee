"""The automatic confirmation of a new case that arrived by e-mail."""

from __future__ import annotations

from typing import Any

import pytest
from django_tasks_db.models import DBTaskResult

from vorgang.channels.email import outbound
from vorgang.tickets.models import Article, DeliveryStatus, SenderKind
from vorgang.tickets.tasks import deliver_article

from .conftest import Case, ScriptedHandler

pytestmark = pytest.mark.django_db


def send(article: Article, capture: Any) -> str:
    with capture(execute=True):
        result = deliver_article.call(article.pk)
    article.refresh_from_db()
    return result


def text_of(smtp: ScriptedHandler) -> str:
    body = smtp.received[-1].message.get_body(("plain",))
    assert body is not None
    return str(body.get_content()).replace("\r\n", "\n")


def test_confirmation_in_plain_german(
    smtp: ScriptedHandler, case: Case, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        article = outbound.queue_confirmation(case.ticket, case.citizen_mail, allowed=True)
    assert article is not None
    # enqueued for the worker once the case is committed
    (task,) = DBTaskResult.objects.filter(task_path="vorgang.tickets.tasks.deliver_article")
    assert task.args_kwargs["args"] == [article.pk]
    assert (article.kind, article.sender, article.internal) == ("email", SenderKind.SYSTEM, False)
    assert article.delivery_status == DeliveryStatus.QUEUED
    number = case.ticket.number

    assert send(article, django_capture_on_commit_callbacks) == "sent"
    (received,) = smtp.received
    message = received.message
    assert received.rcpt_tos == ["erika@example.org"]
    assert message["Subject"] == f"[Vorgang#{number}] Ihre Nachricht ist eingegangen"
    assert message["Auto-Submitted"] == "auto-replied"
    assert message["X-Auto-Response-Suppress"] == "All"
    assert message["Precedence"] == "bulk"
    assert message["X-Loop"] == "Vorgang"
    assert message["In-Reply-To"] == "<erika-1@example.org>"
    assert message["References"] == "<erika-1@example.org>"
    assert message["Message-ID"] == article.message_id
    token = case.ticket.reply_token
    assert message["Reply-To"] == f"buergerbuero+{token}@stadt.example"
    assert message["From"].addresses[0].display_name == "Bürgerbüro Mitte"
    text = text_of(smtp)
    assert text.startswith("Guten Tag Erika Mustermann,\n")
    assert f"Ihre Vorgangsnummer ist: {number}" in text
    assert "Ihr Anliegen: Termin für den Personalausweis" in text
    assert "Zuständig ist: Bürgerbüro Mitte" in text
    assert "Wie geht es weiter?" in text
    assert text.endswith("\n-- \nIhr Bürgerbüro Mitte\nTelefon 030 1234-0\n")


def test_confirmation_in_english_for_an_english_speaking_citizen(
    smtp: ScriptedHandler, case: Case, django_capture_on_commit_callbacks: Any
) -> None:
    citizen = case.ticket.citizen
    assert citizen is not None
    citizen.language = "en"
    citizen.save(update_fields=["language"])
    article = outbound.queue_confirmation(case.ticket, case.citizen_mail, allowed=True)
    assert article is not None
    assert send(article, django_capture_on_commit_callbacks) == "sent"
    message = smtp.received[-1].message
    assert message["Subject"] == f"[Vorgang#{case.ticket.number}] We have received your message"
    text = text_of(smtp)
    assert text.startswith("Hello Erika Mustermann,\n")
    assert f"Your case number is: {case.ticket.number}" in text
    assert "What happens next?" in text


def test_department_template_with_placeholders(case: Case) -> None:
    department = case.ticket.department
    department.confirmation_de = (
        "Hallo {name},\r\nIhr Vorgang {number} ({title}) liegt bei {department}."
    )
    department.save()
    article = outbound.queue_confirmation(case.ticket, case.citizen_mail, allowed=True)
    assert article is not None
    assert article.body.startswith(
        f"Hallo Erika Mustermann,\nIhr Vorgang {case.ticket.number} "
        "(Termin für den Personalausweis) liegt bei Bürgerbüro Mitte.\n\n-- \n"
    )


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("Nr. {number}, {unbekannt} und {0}", "Nr. {n}, {unbekannt} und {0}"),
        ("Nr. {number} {", "Nr. {n} {"),
        ("Nr. {number} } {title", "Nr. {n} } {title"),
        ("{number.__class__} {name!r} {title:>40}", "{number.__class__} {name!r} {title:>40}"),
    ],
)
def test_a_broken_template_never_breaks_the_confirmation(
    case: Case, template: str, expected: str
) -> None:
    department = case.ticket.department
    department.confirmation_de = template
    department.save()
    article = outbound.queue_confirmation(case.ticket, case.citizen_mail, allowed=True)
    assert article is not None
    first_line = article.body.split("\n", 1)[0]
    assert first_line == expected.replace("{n}", case.ticket.number)


def test_nothing_when_the_loop_guard_forbids(case: Case) -> None:
    assert outbound.queue_confirmation(case.ticket, case.citizen_mail, allowed=False) is None
    assert case.ticket.articles.count() == 1


def test_nothing_to_an_undeliverable_address(case: Case) -> None:
    citizen = case.ticket.citizen
    assert citizen is not None
    citizen.email_undeliverable = True
    citizen.save(update_fields=["email_undeliverable"])
    assert outbound.queue_confirmation(case.ticket, case.citizen_mail, allowed=True) is None
    assert case.ticket.articles.count() == 1
