"""/ticket_articles, /ticket_article_plain, /ticket_attachment: shapes, e-mail, downloads."""

from __future__ import annotations

from email.message import EmailMessage

import pytest
from django.core import mail
from django.test import Client

from tests.api.helpers import API, auth, b64, send
from tests.factories import AgentFactory, CitizenFactory, DepartmentFactory, TicketFactory
from vorgang.tickets import services
from vorgang.tickets.models import Article, ArticleKind, Attachment

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def department(tenant):
    return DepartmentFactory(tenant=tenant, name="Bürgerbüro", signature="Ihr Bürgerbüro")


@pytest.fixture
def agent(department):
    return AgentFactory(username="ben", departments={department: ["full"]})


@pytest.fixture
def headers(agent):
    return auth(agent)


@pytest.fixture
def ticket(department):
    return TicketFactory(department=department, title="Meldebescheinigung")


def with_attachment(ticket, *, internal: bool = False, name: str = "bescheid.pdf") -> Article:
    return services.add_article(
        None,
        ticket,
        services.ArticleInput(
            body="Anbei der Bescheid",
            kind="note",
            internal=internal,
            attachments=[services.AttachmentInput(name, PDF, "application/pdf")],
        ),
    )


# --- reading ---------------------------------------------------------------------------------


def test_by_ticket_in_zammads_shape(client: Client, headers, ticket) -> None:
    article = with_attachment(ticket)
    response = send(client, "GET", f"/ticket_articles/by_ticket/{ticket.pk}", headers)
    assert response.status_code == 200
    body = response.json()
    assert [a["id"] for a in body] == list(ticket.articles.values_list("pk", flat=True))
    first, second = body
    assert (first["type"], first["type_id"], first["sender"], first["sender_id"]) == (
        "email",
        1,
        "Customer",
        2,
    )
    assert second["id"] == article.pk
    assert (second["type"], second["type_id"], second["sender"]) == ("note", 10, "System")
    attachment = second["attachments"][0]
    assert attachment["filename"] == "bescheid.pdf"
    assert attachment["size"] == str(len(PDF))
    assert attachment["preferences"] == {"Content-Type": "application/pdf"}
    assert {"from", "to", "cc", "subject", "body", "content_type", "internal"} <= set(second)
    assert second["created_at"].endswith("Z")
    paged = send(client, "GET", f"/ticket_articles/by_ticket/{ticket.pk}?per_page=1", headers)
    assert len(paged.json()) == 1


def test_show_one(client: Client, headers, ticket) -> None:
    article = ticket.articles.get()
    response = send(client, "GET", f"/ticket_articles/{article.pk}", headers)
    assert response.status_code == 200
    assert response.json()["ticket_id"] == ticket.pk
    assert send(client, "GET", "/ticket_articles/999999", headers).status_code == 404


def test_citizen_sees_no_internal_notes(client: Client, ticket) -> None:
    internal = with_attachment(ticket, internal=True)
    citizen = auth(ticket.citizen)
    listed = send(client, "GET", f"/ticket_articles/by_ticket/{ticket.pk}", citizen).json()
    assert internal.pk not in [a["id"] for a in listed]
    assert send(client, "GET", f"/ticket_articles/{internal.pk}", citizen).status_code == 404
    attachment = internal.attachments.get()
    path = f"/ticket_attachment/{ticket.pk}/{internal.pk}/{attachment.pk}"
    assert send(client, "GET", path, citizen).status_code == 404


# --- creating --------------------------------------------------------------------------------


def test_note_with_attachment(client: Client, headers, ticket, agent) -> None:
    payload = {
        "ticket_id": ticket.pk,
        "body": "Akte angefordert",
        "type": "note",
        "internal": True,
        "attachments": [
            {"filename": "../../etc/passwd", "data": b64(b"x"), "mime-type": "text/plain"},
            {"filename": "b.bin", "data": b64(b"y"), "mime-type": "not a type"},
        ],
    }
    response = send(client, "POST", "/ticket_articles", headers, payload)
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["type"], body["internal"], body["sender"]) == ("note", True, "Agent")
    assert body["created_by_id"] == agent.pk
    assert body["from"] == agent.display_name
    names = [a["filename"] for a in body["attachments"]]
    assert names == [".._.._etc_passwd", "b.bin"]
    assert body["attachments"][1]["preferences"]["Content-Type"] == "application/octet-stream"


def test_email_article_goes_out(
    client: Client, headers, ticket, settings, django_capture_on_commit_callbacks
) -> None:
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    payload = {
        "ticket_id": ticket.pk,
        "type": "email",
        "subject": "Ihre Meldebescheinigung",
        "body": "<p>Guten Tag,</p><p>anbei.</p>",
        "content_type": "text/html",
        "cc": "kollege@stadt.example",
        "attachments": [{"filename": "m.pdf", "data": b64(PDF), "mime-type": "application/pdf"}],
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = send(client, "POST", "/ticket_articles", headers, payload)
    assert response.status_code == 201, response.content
    article = Article.objects.get(pk=response.json()["id"])
    assert article.kind == ArticleKind.EMAIL
    assert article.to == ticket.citizen.email
    assert article.cc == "kollege@stadt.example"
    assert "Guten Tag," in article.body and "<p>" not in article.body
    assert "Ihr Bürgerbüro" in article.body  # the department's signature, as from the desk
    assert article.delivery_status == "sent"
    assert len(mail.outbox) == 1
    sent = mail.outbox[0]
    assert sent.to == [ticket.citizen.email]
    assert f"[Vorgang#{ticket.number}]" in sent.subject
    assert sent.attachments[0][0] == "m.pdf"


def test_email_bad_recipient_and_internal_are_422(client: Client, headers, ticket) -> None:
    base = {"ticket_id": ticket.pk, "type": "email", "body": "x"}
    assert (
        send(client, "POST", "/ticket_articles", headers, {**base, "to": "kein"}).status_code == 422
    )
    internal = send(client, "POST", "/ticket_articles", headers, {**base, "internal": True})
    assert internal.status_code == 422
    assert ticket.articles.count() == 1


def test_citizen_adds_a_web_message(client: Client, ticket) -> None:
    citizen = auth(ticket.citizen)
    payload = {"ticket_id": ticket.pk, "body": "Hier mein Nachweis", "type": "web"}
    response = send(client, "POST", "/ticket_articles", citizen, payload)
    assert response.status_code == 201, response.content
    assert response.json()["sender"] == "Customer"
    assert response.json()["internal"] is False
    for refused in ({"internal": True}, {"type": "note"}, {"type": "email"}):
        answer = send(client, "POST", "/ticket_articles", citizen, {**payload, **refused})
        assert answer.status_code == 403, refused
    other_case = TicketFactory(department=ticket.department)
    foreign = send(
        client, "POST", "/ticket_articles", citizen, {**payload, "ticket_id": other_case.pk}
    )
    assert foreign.status_code == 404


@pytest.mark.parametrize(
    ("payload", "status", "needle"),
    [
        ({"body": "x"}, 422, "ticket_id is missing"),
        ({"ticket_id": "abc", "body": "x"}, 422, "whole number"),
        ({"ticket_id": 999999, "body": "x"}, 404, "does not exist"),
        ({"body": "x", "type_id": 99}, 422, "type_id"),
        ({"body": "x", "sender": "Robot"}, 422, "sender"),
        ({"body": ""}, 422, "empty"),
        ({"body": "x", "attachments": "nope"}, 422, "must be a list"),
        ({"body": "x", "attachments": [{"data": "eA=="}]}, 422, "needs a filename"),
        ({"body": "x", "attachments": [{"filename": "a", "data": 5}]}, 422, "base64 text"),
        ({"body": "x", "attachments": [{"filename": "a", "data": "!!"}]}, 422, "not valid base64"),
        ({"body": {"nested": 1}}, 422, "must be text"),
    ],
)
def test_bad_articles(client: Client, headers, ticket, payload, status, needle) -> None:
    if "ticket_id" not in payload and "ticket_id is missing" not in needle:
        payload = {"ticket_id": ticket.pk, **payload}
    response = send(client, "POST", "/ticket_articles", headers, payload)
    assert response.status_code == status, response.content
    assert needle in response.json()["error_human"]
    assert ticket.articles.count() == 1


def test_article_too_large_is_413(client: Client, headers, ticket, settings) -> None:
    settings.VORGANG_MAIL_MAX_BYTES = 100
    payload = {
        "ticket_id": ticket.pk,
        "body": "x",
        "attachments": [{"filename": "a", "data": b64(b"0" * 200)}],
    }
    response = send(client, "POST", "/ticket_articles", headers, payload)
    assert response.status_code == 413
    too_long = send(client, "POST", "/ticket_articles", headers, "{" + " " * 2_000_000 + "}")
    assert too_long.status_code == 413


def test_unknown_article_fields_are_named(client: Client, headers, ticket) -> None:
    payload = {"ticket_id": ticket.pk, "body": "x", "time_unit": "5", "colour": "red"}
    response = send(client, "POST", "/ticket_articles", headers, payload)
    assert response.status_code == 201
    assert response["X-Vorgang-Ignored-Fields"] == "colour"


# --- raw message and attachments -------------------------------------------------------------


def test_plain_gives_the_raw_message_or_404(client: Client, headers, ticket) -> None:
    raw = b"From: a@example.org\r\nSubject: Test\r\n\r\nHallo\r\n"
    received = services.add_article(
        None, ticket, services.ArticleInput(body="Hallo", kind="email", sender="citizen", raw=raw)
    )
    response = send(client, "GET", f"/ticket_article_plain/{received.pk}", headers)
    assert response.status_code == 200
    assert response.content == raw
    assert response["Content-Type"] == "message/rfc822"
    assert response["Content-Disposition"].startswith("attachment;")
    without = ticket.articles.first()
    missing = send(client, "GET", f"/ticket_article_plain/{without.pk}", headers)
    assert missing.status_code == 404
    assert "raw" in missing.json()["error_human"]


def test_attachment_download(client: Client, headers, ticket) -> None:
    article = with_attachment(ticket, name='evil"; filename=x.html')
    attachment = article.attachments.get()
    path = f"/ticket_attachment/{ticket.pk}/{article.pk}/{attachment.pk}"
    response = send(client, "GET", path, headers)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF
    assert response["Content-Type"] == "application/pdf"
    parsed = EmailMessage()
    parsed["Content-Disposition"] = response["Content-Disposition"]
    assert parsed.get_content_disposition() == "attachment"
    assert parsed.get_filename() == 'evil"; filename=x.html'  # one quoted name, not two
    assert response["X-Content-Type-Options"] == "nosniff"
    wrong_article = f"/ticket_attachment/{ticket.pk}/{article.pk + 1}/{attachment.pk}"
    assert send(client, "GET", wrong_article, headers).status_code == 404
    other = TicketFactory(department=ticket.department)
    wrong_ticket = f"/ticket_attachment/{other.pk}/{article.pk}/{attachment.pk}"
    assert send(client, "GET", wrong_ticket, headers).status_code == 404


def test_attachment_after_merge_by_old_and_new_case(client: Client, headers, ticket) -> None:
    article = with_attachment(ticket)
    attachment = article.attachments.get()
    target = TicketFactory(department=ticket.department)
    services.merge(None, ticket, target)
    for named in (ticket.pk, target.pk):
        path = f"/ticket_attachment/{named}/{article.pk}/{attachment.pk}"
        response = send(client, "GET", path, headers)
        assert response.status_code == 200, named


def test_missing_blob_is_404_not_500(client: Client, headers, ticket) -> None:
    from django.core.files.storage import default_storage

    article = with_attachment(ticket)
    attachment = Attachment.objects.get(article=article)
    default_storage.delete(attachment.blob.path)
    path = f"/ticket_attachment/{ticket.pk}/{article.pk}/{attachment.pk}"
    assert send(client, "GET", path, headers).status_code == 404


def test_other_department_cannot_download(client: Client, ticket) -> None:
    article = with_attachment(ticket)
    attachment = article.attachments.get()
    stranger = AgentFactory(departments={DepartmentFactory(): ["full"]})
    path = f"{API}/ticket_attachment/{ticket.pk}/{article.pk}/{attachment.pk}"
    assert client.get(path, **auth(stranger)).status_code == 404
    assert client.get(path, **auth(CitizenFactory())).status_code == 404
