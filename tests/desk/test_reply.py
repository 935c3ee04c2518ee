"""Replying by e-mail from the case view: who may, what is refused, what is queued."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django_tasks_db.models import DBTaskResult

from vorgang.channels.email import outbound
from vorgang.tickets import services
from vorgang.tickets.models import Article, DeliveryStatus, Ticket

from .conftest import World

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _database_tasks(settings: Any) -> None:
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


def reply_url(ticket: Ticket) -> str:
    return reverse("desk:reply", args=[ticket.pk])


def emails(ticket: Ticket) -> list[Article]:
    return list(Article.objects.filter(ticket=ticket, kind="email", sender="agent"))


def test_reply_is_queued_with_attachments_and_quote(
    agent_client: Client, world: World, django_capture_on_commit_callbacks: Any
) -> None:
    files = [
        SimpleUploadedFile("Bescheid.pdf", b"%PDF-1.4 Bescheid", "application/pdf"),
        SimpleUploadedFile("Hinweise.txt", b"Bitte mitbringen: Ausweis", "text/plain"),
    ]
    with django_capture_on_commit_callbacks(execute=True):
        response = agent_client.post(
            reply_url(world.ticket),
            {
                "to": "max.mustermann@example.org",
                "cc": "Kollegin <kollegin@stadt.example>",
                "text": "Guten Tag Herr Mustermann,\r\nIhr Ausweis liegt bereit.",
                "quote": "1",
                "attachments": files,
            },
        )
    assert response.status_code == 302
    (article,) = emails(world.ticket)
    assert response["Location"] == (
        reverse("desk:case", args=[world.ticket.pk]) + f"#article-{article.pk}"
    )
    assert article.delivery_status == DeliveryStatus.QUEUED
    assert article.created_by == world.agent
    assert article.to == "max.mustermann@example.org"
    assert article.cc == "Kollegin <kollegin@stadt.example>"
    assert article.subject == f"[Vorgang#{world.ticket.number}] {world.ticket.title}"
    assert article.body.startswith("Guten Tag Herr Mustermann,\nIhr Ausweis liegt bereit.\n\n")
    assert "> Sehr geehrte Damen und Herren," in article.body
    stored = {a.filename: (a.blob.read(), a.content_type) for a in article.attachments.all()}
    assert stored == {
        "Bescheid.pdf": (b"%PDF-1.4 Bescheid", "application/pdf"),
        "Hinweise.txt": (b"Bitte mitbringen: Ausweis", "text/plain"),
    }
    # handed to the worker once committed
    (task,) = DBTaskResult.objects.filter(task_path="vorgang.tickets.tasks.deliver_article")
    assert task.args_kwargs["args"] == [article.pk]

    page = agent_client.get(response["Location"]).content.decode()
    assert f'id="article-{article.pk}-delivery"' in page
    assert 'role="status"' in page  # the success message


def test_to_is_prefilled_with_the_citizen(agent_client: Client, world: World) -> None:
    page = agent_client.get(reverse("desk:case", args=[world.ticket.pk])).content.decode()
    assert 'id="reply-to"' in page
    assert 'value="max.mustermann@example.org"' in page
    assert 'enctype="multipart/form-data"' in page


def test_readers_get_no_form_and_may_not_post(reader_client: Client, world: World) -> None:
    page = reader_client.get(reverse("desk:case", args=[world.ticket.pk])).content.decode()
    assert 'id="reply-to"' not in page
    response = reader_client.post(reply_url(world.ticket), {"text": "Hallo"})
    assert response.status_code == 403
    assert emails(world.ticket) == []


def test_a_case_of_another_department_is_not_found(agent_client: Client, world: World) -> None:
    response = agent_client.post(reply_url(world.other_ticket), {"text": "Hallo"})
    assert response.status_code == 404
    assert not Article.objects.filter(ticket=world.other_ticket, sender="agent").exists()


def test_only_post(agent_client: Client, world: World) -> None:
    assert agent_client.get(reply_url(world.ticket)).status_code == 405


def test_empty_text_is_refused_and_the_form_keeps_the_input(
    agent_client: Client, world: World
) -> None:
    response = agent_client.post(
        reply_url(world.ticket), {"to": "andere@example.org", "cc": "", "text": "  "}
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert 'role="alert"' in html
    assert 'value="andere@example.org"' in html
    assert emails(world.ticket) == []


@pytest.mark.parametrize("field", ["to", "cc"])
def test_invalid_address_is_refused(agent_client: Client, world: World, field: str) -> None:
    data = {"to": "max.mustermann@example.org", "text": "Hallo", field: "max at example"}
    response = agent_client.post(reply_url(world.ticket), data)
    assert response.status_code == 422
    assert "max at example" in response.content.decode()
    assert emails(world.ticket) == []


def test_attachments_over_the_limit_are_refused(
    agent_client: Client, world: World, settings: Any
) -> None:
    settings.VORGANG_MAIL_MAX_BYTES = 1024
    files = [
        SimpleUploadedFile("a.bin", b"x" * 600, "application/octet-stream"),
        SimpleUploadedFile("b.bin", b"y" * 600, "application/octet-stream"),
    ]
    response = agent_client.post(
        reply_url(world.ticket), {"text": "Anbei", "attachments": files, "to": "m@example.org"}
    )
    assert response.status_code == 413
    html = response.content.decode()
    assert 'role="alert"' in html
    assert ">Anbei</textarea>" in html  # nothing typed is lost
    assert emails(world.ticket) == []


def test_undeliverable_address_needs_an_explicit_override(
    agent_client: Client, world: World
) -> None:
    citizen = world.ticket.citizen
    assert citizen is not None
    citizen.email_undeliverable = True
    citizen.email_undeliverable_reason = "550 5.1.1 user unknown"
    citizen.save(update_fields=["email_undeliverable", "email_undeliverable_reason"])
    page = agent_client.get(reverse("desk:case", args=[world.ticket.pk])).content.decode()
    assert "550 5.1.1 user unknown" in page
    assert 'name="send_anyway"' in page

    data = {"to": citizen.email, "text": "Bitte melden Sie sich."}
    response = agent_client.post(reply_url(world.ticket), data)
    assert response.status_code == 422
    assert 'name="send_anyway"' in response.content.decode()
    assert emails(world.ticket) == []

    response = agent_client.post(reply_url(world.ticket), {**data, "send_anyway": "1"})
    assert response.status_code == 302
    (article,) = emails(world.ticket)
    assert article.delivery_status == DeliveryStatus.QUEUED


def test_undeliverable_cc_is_refused_too(agent_client: Client, world: World) -> None:
    citizen = world.ticket.citizen
    assert citizen is not None
    citizen.email_undeliverable = True
    citizen.save(update_fields=["email_undeliverable"])
    response = agent_client.post(
        reply_url(world.ticket),
        {"to": "neu@example.org", "cc": citizen.email.upper(), "text": "Hallo"},
    )
    assert response.status_code == 422
    assert emails(world.ticket) == []


def test_timeline_shows_the_delivery_state(agent_client: Client, world: World) -> None:
    failed = outbound.reply(world.agent, world.ticket, body="Erste Antwort")
    services.record_delivery(failed.pk, sent=False, error="550 5.1.1 mailbox unknown")
    waiting = outbound.reply(world.agent, world.ticket, body="Zweite Antwort")
    services.queue_delivery(waiting.pk, error="451 4.3.0 try again later")
    sent = outbound.reply(world.agent, world.ticket, body="Dritte Antwort")
    services.record_delivery(sent.pk, sent=True)

    page = agent_client.get(reverse("desk:case", args=[world.ticket.pk])).content.decode()

    def delivery(article: Article) -> str:
        start = page.index(f'id="article-{article.pk}-delivery"')
        return page[start : page.index("</p>", start)]

    assert "550 5.1.1 mailbox unknown" in delivery(failed)
    assert "kern-badge--danger" in delivery(failed)
    assert "451 4.3.0 try again later" in delivery(waiting)
    assert "kern-badge--warning" in delivery(waiting)
    assert "kern-badge--success" in delivery(sent)
