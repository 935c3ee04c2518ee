"""The citizen writes and uploads on the case page: one article through the write path."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from vorgang.catalogue.models import ProvidedDocument
from vorgang.core import clock
from vorgang.portal.models import InformationRequest
from vorgang.tickets import services
from vorgang.tickets.models import Article, History

from .conftest import MB, PDF, PNG, World

pytestmark = pytest.mark.django_db


def _pdf(name: str = "sehtest.pdf", content: bytes = PDF) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/pdf")


def _wait_for_citizen(world: World, documents: list[str] | None = None) -> InformationRequest:
    request = InformationRequest.objects.create(
        ticket=world.ticket,
        documents=documents if documents is not None else ["eye_test"],
        questions="Bitte schicken Sie den Sehtest.",
        deadline=clock.now() + timedelta(days=14),
        created_at=clock.now(),
        created_by=world.agent,
    )
    services.change_state(
        world.agent, world.ticket, "pending_reminder", pending_until=request.deadline
    )
    return request


def test_message_with_upload_becomes_a_portal_article(
    client: Client, world: World, django_capture_on_commit_callbacks
) -> None:
    path = world.link()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            path, {"message": "Hier ist mein Sehtest.", "files": [_pdf()]}, follow=True
        )
    assert response.status_code == 200
    page = response.content.decode()
    assert "Vielen Dank. Ihre Nachricht ist bei uns angekommen." in page
    article = Article.objects.filter(ticket=world.ticket, kind="portal").get()
    assert article.sender == "citizen" and not article.internal
    assert article.created_by == world.citizen
    assert article.body == "Hier ist mein Sehtest."
    assert [a.filename for a in article.attachments.all()] == ["sehtest.pdf"]
    assert article.attachments.get().content_type == "application/pdf"
    assert History.objects.filter(
        ticket=world.ticket, action="article_added", new_value=f"portal:{article.pk}"
    ).exists()
    # It shows in the timeline, and the owner hears of it without the text.
    assert "Hier ist mein Sehtest." in page and "sehtest.pdf" in page
    assert len(mail.outbox) == 1
    note = mail.outbox[0]
    assert note.to == ["anna@stadt.example"]
    assert f"Neue Nachricht im Vorgang {world.ticket.number}" in note.subject
    assert "Sehtest" not in note.body
    assert f"/cases/{world.ticket.pk}/" in note.body


def test_no_owner_no_mail(client: Client, world: World, django_capture_on_commit_callbacks) -> None:
    services.assign(None, world.ticket, None)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(world.link(), {"message": "Hallo"})
    assert response.status_code == 302
    assert mail.outbox == []


def test_no_mail_to_an_owner_who_does_not_want_it(
    client: Client, world: World, django_capture_on_commit_callbacks
) -> None:
    from vorgang.notifications import preferences

    preferences.save(world.ticket.owner, in_app=["citizen_replied"], email=[])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(world.link(), {"message": "Hallo"})
    assert response.status_code == 302
    assert mail.outbox == []
    assert Article.objects.filter(ticket=world.ticket, kind="portal").exists()


def test_message_reopens_a_case_waiting_for_the_citizen(client: Client, world: World) -> None:
    request = _wait_for_citizen(world)
    path = world.link()
    assert "Wartet auf Ihre Antwort" in client.get(path).content.decode()
    response = client.post(path, {"document-eye_test": [_pdf()]})
    assert response.status_code == 302
    world.ticket.refresh_from_db()
    assert world.ticket.state.kind == "open" and world.ticket.pending_until is None
    request.refresh_from_db()
    assert request.answered_at is not None
    provided = ProvidedDocument.objects.get(ticket=world.ticket)
    assert provided.document_key == "eye_test"
    assert provided.attachment.filename == "sehtest.pdf"
    page = client.get(path).content.decode()
    assert "In Bearbeitung" in page and "Wartet auf Ihre Antwort" not in page
    assert "eingegangen" in page  # the requested document is marked received
    assert History.objects.filter(
        ticket=world.ticket, field="state", new_value="open", actor=None
    ).exists()


def test_waiting_without_a_request_stays_waiting(client: Client, world: World) -> None:
    services.change_state(
        None, world.ticket, "pending_reminder", pending_until=clock.now() + timedelta(days=2)
    )
    client.post(world.link(), {"message": "Noch eine Ergänzung."})
    world.ticket.refresh_from_db()
    assert world.ticket.state.kind == "pending_reminder"


def test_wrong_file_type_for_a_document_is_refused(client: Client, world: World) -> None:
    _wait_for_citizen(world)
    path = world.link()
    response = client.post(
        path,
        {
            "message": "Anbei",
            "document-eye_test": [SimpleUploadedFile("sehtest.png", PNG, "image/png")],
        },
    )
    assert response.status_code == 422
    page = response.content.decode()
    assert "Erlaubt sind: PDF" in page
    assert 'aria-invalid="true"' in page
    assert "Anbei" in page  # the text is kept
    assert not Article.objects.filter(ticket=world.ticket, kind="portal").exists()


def test_a_renamed_file_is_refused(client: Client, world: World) -> None:
    response = client.post(world.link(), {"files": [_pdf("rechnung.pdf", b"MZ\x90\x00exe")]})
    assert response.status_code == 422
    assert "keine echte PDF-Datei" in response.content.decode()
    assert not Article.objects.filter(ticket=world.ticket, kind="portal").exists()


def test_too_large_document_is_refused(client: Client, world: World) -> None:
    _wait_for_citizen(world)
    big = PDF + b"0" * (1 * MB)  # eye_test allows 1 MB
    response = client.post(world.link(), {"document-eye_test": [_pdf("gross.pdf", big)]})
    assert response.status_code == 422
    assert "zu groß" in response.content.decode()


def test_general_limit(client: Client, world: World, settings) -> None:
    settings.VORGANG_PORTAL_MAX_UPLOAD_BYTES = 1000
    response = client.post(world.link(), {"files": [_pdf("a.pdf", PDF + b"0" * 2000)]})
    assert response.status_code in (413, 422)
    assert "zu groß" in response.content.decode()
    assert not Article.objects.filter(ticket=world.ticket, kind="portal").exists()


def test_empty_post_asks_for_a_message(client: Client, world: World) -> None:
    response = client.post(world.link(), {"message": "   "})
    assert response.status_code == 422
    assert "Bitte schreiben Sie eine Nachricht oder wählen Sie eine Datei aus." in (
        response.content.decode()
    )


def test_forms_need_the_csrf_token(world: World) -> None:
    strict = Client(enforce_csrf_checks=True)
    assert strict.post(world.link(), {"message": "Hallo"}).status_code == 403
    assert strict.post("/c/new/", {"number": "1", "email": "a@example.org"}).status_code == 403
    assert not Article.objects.filter(ticket=world.ticket, kind="portal").exists()


def test_expired_link_cannot_post(client: Client, world: World, monkeypatch) -> None:
    path = world.link()
    later = clock.now() + timedelta(days=40)
    monkeypatch.setattr(clock, "now", lambda: later)
    assert client.post(path, {"message": "Hallo"}).status_code == 410
    assert not Article.objects.filter(ticket=world.ticket, kind="portal").exists()


def test_html_in_the_message_is_stored_and_shown_as_text(client: Client, world: World) -> None:
    path = world.link()
    client.post(path, {"message": "<script>alert(1)</script>"})
    article = Article.objects.get(ticket=world.ticket, kind="portal")
    assert article.content_type == "text/plain"
    page = client.get(path).content.decode()
    assert "<script>alert(1)" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_an_email_answer_also_settles_the_request(
    world: World, django_capture_on_commit_callbacks
) -> None:
    request = _wait_for_citizen(world)
    with django_capture_on_commit_callbacks(execute=True):
        services.add_article(
            None,
            world.ticket,
            services.ArticleInput(body="Sehtest kommt per Post.", kind="email", sender="citizen"),
        )
    request.refresh_from_db()
    world.ticket.refresh_from_db()
    assert request.answered_at is not None
    assert world.ticket.state.kind == "open"
    assert [m.to for m in mail.outbox] == [["anna@stadt.example"]]


def test_a_message_on_a_case_without_requests_costs_one_query(
    world: World, django_assert_num_queries
) -> None:
    """The portal's subscriber asks whether anything is open before it loads anything,
    and what the event says about the article (a note, a case-page message, the message
    that opened the case) costs no query at all."""
    from vorgang.portal.subscribers import settle_on_citizen_reply
    from vorgang.tickets import events

    def event(**about: object) -> events.Event:
        return events.Event(events.ARTICLE_CREATED, world.ticket.pk, None, 1, dict(about))

    with django_assert_num_queries(0):
        settle_on_citizen_reply(event(kind="email", sender="citizen", internal=True))
        settle_on_citizen_reply(event(kind="portal", sender="citizen", internal=False))
        settle_on_citizen_reply(event(kind="email", sender="citizen", opens_case=True))
        settle_on_citizen_reply(event(kind="email", sender="system", internal=False))
    with django_assert_num_queries(1):
        settle_on_citizen_reply(event(kind="email", sender="citizen", internal=False))
