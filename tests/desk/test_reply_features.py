"""Replying and forwarding from the case view, delivered to a real SMTP server (aiosmtpd).

The view writes the article and enqueues the delivery task after commit; the test then
runs the task as the worker would and reads what the server received: recipients, cc,
the department's signature, the quote, attachments and the threading headers.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django_tasks_db.models import DBTaskResult

from tests.channels.outbound.conftest import Received, ScriptedHandler, smtp  # noqa: F401
from vorgang.tickets import services
from vorgang.tickets.models import Article, Ticket
from vorgang.tickets.tasks import deliver_article

from .conftest import World

pytestmark = pytest.mark.django_db

SIGNATURE = "Ihr Bürgerbüro\nTelefon 030 1234-0"


@pytest.fixture
def thread(world: World) -> tuple[Article, Article]:
    """Two e-mails of the citizen with Message-IDs: the first and an answer to it."""
    world.department.signature = SIGNATURE
    world.department.save()
    first = services.add_article(
        None,
        world.ticket,
        services.ArticleInput(
            body="Ich brauche einen Termin.",
            kind="email",
            sender="citizen",
            subject=f"[Vorgang#{world.ticket.number}] Termin",
            from_addr="Max Mustermann <max.mustermann@example.org>",
            message_id="<max-1@example.org>",
        ),
    )
    second = services.add_article(
        None,
        world.ticket,
        services.ArticleInput(
            body="Und noch etwas: der Ausweis ist abgelaufen.",
            kind="email",
            sender="citizen",
            subject=f"Re: [Vorgang#{world.ticket.number}] Termin",
            from_addr="Max Mustermann <max.mustermann@example.org>",
            message_id="<max-2@example.org>",
            in_reply_to="<max-1@example.org>",
            references="<max-1@example.org>",
        ),
    )
    return first, second


def deliver(capture: Any) -> list[str]:
    """Run every queued delivery task, as the worker would."""
    results = []
    for row in DBTaskResult.objects.filter(task_path="vorgang.tickets.tasks.deliver_article"):
        with capture(execute=True):
            results.append(deliver_article.call(*row.args_kwargs["args"]))
        row.delete()
    return results


def post(client: Client, url: str, data: dict[str, Any], capture: Any) -> Any:
    with capture(execute=True):
        return client.post(url, data)


def only(smtp: ScriptedHandler) -> Received:  # noqa: F811
    assert len(smtp.received) == 1, smtp.received
    return smtp.received[0]


def test_reply_to_an_older_message_threads_to_it(
    smtp: ScriptedHandler,  # noqa: F811
    agent_client: Client,
    world: World,
    thread: tuple[Article, Article],
    django_capture_on_commit_callbacks: Any,
) -> None:
    first, _second = thread
    response = post(
        agent_client,
        reverse("desk:reply", args=[world.ticket.pk]),
        {
            "to": "max.mustermann@example.org",
            "cc": "Kollegin <kollegin@stadt.example>",
            "text": "Guten Tag,\r\nder Termin ist Montag.",
            "quote": "1",
            "reply_to": str(first.pk),
            "attachments": [
                SimpleUploadedFile("Termin.pdf", b"%PDF-1.4 Termin", "application/pdf"),
                SimpleUploadedFile("Plan.png", b"\x89PNG\r\n\x1a\nplan", "image/png"),
            ],
        },
        django_capture_on_commit_callbacks,
    )
    assert response.status_code == 302
    assert deliver(django_capture_on_commit_callbacks) == ["sent"]
    got = only(smtp)
    assert sorted(got.rcpt_tos) == ["kollegin@stadt.example", "max.mustermann@example.org"]
    message = got.message
    assert message["In-Reply-To"] == "<max-1@example.org>"
    assert message["References"] == "<max-1@example.org>"
    assert message["Subject"] == f"Re: [Vorgang#{world.ticket.number}] Termin"
    assert message["Cc"] == "kollegin@stadt.example"
    text = message.get_body(preferencelist=("plain",)).get_content().replace("\r\n", "\n")
    assert text.startswith("Guten Tag,\nder Termin ist Montag.\n\n")
    assert "schrieb Max Mustermann:\n> Ich brauche einen Termin." in text
    assert "Ausweis ist abgelaufen" not in text  # the other message is not quoted
    assert text.rstrip().endswith("-- \n" + SIGNATURE)
    files = {p.get_filename(): p.get_content() for p in message.iter_attachments()}
    assert files == {"Termin.pdf": b"%PDF-1.4 Termin", "Plan.png": b"\x89PNG\r\n\x1a\nplan"}
    sent = Article.objects.get(ticket=world.ticket, sender="agent")
    assert message["Message-ID"] == sent.message_id


def test_reply_without_choice_answers_the_latest_citizen_mail(
    smtp: ScriptedHandler,  # noqa: F811
    agent_client: Client,
    world: World,
    thread: tuple[Article, Article],
    django_capture_on_commit_callbacks: Any,
) -> None:
    post(
        agent_client,
        reverse("desk:reply", args=[world.ticket.pk]),
        {"to": "max.mustermann@example.org", "text": "Danke.", "quote": "1"},
        django_capture_on_commit_callbacks,
    )
    deliver(django_capture_on_commit_callbacks)
    message = only(smtp).message
    assert message["In-Reply-To"] == "<max-2@example.org>"
    assert message["References"] == "<max-1@example.org> <max-2@example.org>"
    body = message.get_body(preferencelist=("plain",)).get_content()
    assert "> Und noch etwas" in body


def test_reply_button_prefills_the_quote(
    agent_client: Client, world: World, thread: tuple[Article, Article]
) -> None:
    first, _second = thread
    page = agent_client.get(
        reverse("desk:case", args=[world.ticket.pk]) + f"?reply_to={first.pk}"
    ).content.decode()
    form = page.split('id="reply"', 1)[1]
    assert f'name="reply_to" value="{first.pk}"' in form
    assert 'id="reply-quote" name="quote" value="1" checked' in form
    assert "&gt; Ich brauche einen Termin." in form  # the quote preview
    assert f'href="?reply_to={first.pk}#reply"' in page  # the button on the article


def test_reply_to_an_internal_note_is_refused(
    agent_client: Client, world: World, thread: tuple[Article, Article]
) -> None:
    note = services.add_article(
        world.agent, world.ticket, services.ArticleInput(body="intern", internal=True)
    )
    response = agent_client.post(
        reverse("desk:reply", args=[world.ticket.pk]),
        {"to": "max.mustermann@example.org", "text": "x", "quote": "1", "reply_to": note.pk},
    )
    assert response.status_code == 422
    assert not Article.objects.filter(ticket=world.ticket, sender="agent", kind="email").exists()


def test_reply_to_an_article_of_another_case_is_refused(
    agent_client: Client, world: World, thread: tuple[Article, Article]
) -> None:
    foreign = world.other_ticket.articles.first()
    assert foreign is not None
    response = agent_client.post(
        reverse("desk:reply", args=[world.ticket.pk]),
        {"to": "max.mustermann@example.org", "text": "x", "quote": "1", "reply_to": foreign.pk},
    )
    assert response.status_code == 422
    assert "Ordnungsamt" not in response.content.decode().split('id="reply"')[0][-2000:]


@pytest.mark.parametrize("name", ["tool.exe", "seite.html", "bild.svg", "script.JS"])
def test_dangerous_file_types_are_refused(agent_client: Client, world: World, name: str) -> None:
    response = agent_client.post(
        reverse("desk:reply", args=[world.ticket.pk]),
        {
            "to": "max.mustermann@example.org",
            "text": "Anbei",
            "attachments": [SimpleUploadedFile(name, b"MZ...", "application/octet-stream")],
        },
    )
    assert response.status_code == 415
    assert name in response.content.decode()
    assert not Article.objects.filter(ticket=world.ticket, sender="agent").exists()


def test_too_many_files_are_refused(agent_client: Client, world: World) -> None:
    files = [SimpleUploadedFile(f"f{i}.txt", b"x", "text/plain") for i in range(21)]
    response = agent_client.post(
        reverse("desk:reply", args=[world.ticket.pk]),
        {"to": "max.mustermann@example.org", "text": "Anbei", "attachments": files},
    )
    assert response.status_code == 422
    assert not Article.objects.filter(ticket=world.ticket, sender="agent").exists()


def test_signature_is_shown_in_the_form(agent_client: Client, world: World) -> None:
    world.department.signature = SIGNATURE
    world.department.save()
    page = agent_client.get(reverse("desk:case", args=[world.ticket.pk])).content.decode()
    assert "Telefon 030 1234-0" in page.split('id="reply"', 1)[1]


# --- forward ----------------------------------------------------------------------------------


@pytest.fixture
def with_files(world: World) -> Article:
    return services.add_article(
        None,
        world.ticket,
        services.ArticleInput(
            body="Anbei Nachweis und Foto.",
            kind="email",
            sender="citizen",
            subject="Unterlagen",
            from_addr="max.mustermann@example.org",
            message_id="<max-files@example.org>",
            attachments=[
                services.AttachmentInput("Nachweis.pdf", b"%PDF-1.4 N", "application/pdf"),
                services.AttachmentInput("Foto.jpg", b"\xff\xd8\xff foto", "image/jpeg"),
            ],
        ),
    )


def test_forward_with_a_chosen_attachment(
    smtp: ScriptedHandler,  # noqa: F811
    agent_client: Client,
    world: World,
    with_files: Article,
    django_capture_on_commit_callbacks: Any,
) -> None:
    url = reverse("desk:forward", args=[world.ticket.pk, with_files.pk])
    page = agent_client.get(url)
    assert page.status_code == 200
    assert "Nachweis.pdf" in page.content.decode()
    pdf = with_files.attachments.get(filename="Nachweis.pdf")
    response = post(
        agent_client,
        url,
        {
            "to": "Standesamt <standesamt@nachbar.example>",
            "text": "Bitte prüfen Sie den Nachweis.",
            "attachment": [str(pdf.pk)],
        },
        django_capture_on_commit_callbacks,
    )
    assert response.status_code == 302
    deliver(django_capture_on_commit_callbacks)
    got = only(smtp)
    assert got.rcpt_tos == ["standesamt@nachbar.example"]
    message = got.message
    assert message["Subject"] == f"[Vorgang#{world.ticket.number}] Fwd: Unterlagen"
    text = message.get_body(preferencelist=("plain",)).get_content().replace("\r\n", "\n")
    assert text.startswith("Bitte prüfen Sie den Nachweis.\n\n---------- ")
    assert "Anbei Nachweis und Foto." in text
    files = {p.get_filename(): p.get_content() for p in message.iter_attachments()}
    assert files == {"Nachweis.pdf": b"%PDF-1.4 N"}
    # Answers come back into the case through its reply address.
    assert world.ticket.reply_token in message["Reply-To"]


def test_forward_needs_an_address(agent_client: Client, world: World, with_files: Article) -> None:
    url = reverse("desk:forward", args=[world.ticket.pk, with_files.pk])
    response = agent_client.post(url, {"to": "kein-mail", "text": "x"})
    assert response.status_code == 422
    assert 'role="alert"' in response.content.decode()
    assert not Article.objects.filter(ticket=world.ticket, sender="agent").exists()


def test_forward_of_an_internal_note_is_not_found(agent_client: Client, world: World) -> None:
    note = services.add_article(
        world.agent, world.ticket, services.ArticleInput(body="intern", internal=True)
    )
    url = reverse("desk:forward", args=[world.ticket.pk, note.pk])
    assert agent_client.get(url).status_code == 404
    assert agent_client.post(url, {"to": "a@b.example"}).status_code == 404


def test_forward_needs_change_access(
    reader_client: Client, world: World, with_files: Article
) -> None:
    url = reverse("desk:forward", args=[world.ticket.pk, with_files.pk])
    assert reader_client.get(url).status_code == 403
    assert reader_client.post(url, {"to": "a@b.example"}).status_code == 403


def test_forward_across_the_department_wall_is_not_found(
    agent_client: Client, world: World
) -> None:
    other: Ticket = world.other_ticket
    article = other.articles.get()
    url = reverse("desk:forward", args=[other.pk, article.pk])
    assert agent_client.get(url).status_code == 404
