"""The agent's request for information: permission, the mail with the link, the waiting state."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from vorgang.portal.models import InformationRequest
from vorgang.tickets import services
from vorgang.tickets.models import Article

from .conftest import PDF, World, make_agent, make_case, path_of

pytestmark = pytest.mark.django_db


def _deadline(days: int = 14) -> str:
    return (timezone.localdate() + timedelta(days=days)).isoformat()


def _send(client: Client, world: World, **extra) -> object:
    data = {
        "documents": ["eye_test", "photo"],
        "questions": "Tragen Sie beim Fahren eine Brille?",
        "deadline": _deadline(),
        "on_deadline": "remind",
    }
    data.update(extra)
    return client.post(f"/cases/{world.ticket.pk}/request-info/", data)


def test_the_form_lists_the_services_documents(agent_client: Client, world: World) -> None:
    response = agent_client.get(f"/cases/{world.ticket.pk}/request-info/")
    assert response.status_code == 200
    page = response.content.decode()
    for name in ("Reisepass oder Personalausweis", "Sehtest", "Passfoto"):
        assert name in page
    assert _deadline() in page  # default: in 14 days
    assert 'value="remind" checked' in page
    assert 'name="csrfmiddlewaretoken"' in page


def test_the_case_view_links_to_the_form(agent_client: Client, world: World) -> None:
    page = agent_client.get(f"/cases/{world.ticket.pk}/").content.decode()
    assert f"/cases/{world.ticket.pk}/request-info/" in page


def test_read_only_agent_may_not(client: Client, world: World) -> None:
    client.force_login(world.reader)
    assert client.get(f"/cases/{world.ticket.pk}/request-info/").status_code == 403
    assert _send(client, world).status_code == 403
    assert not InformationRequest.objects.exists()
    page = client.get(f"/cases/{world.ticket.pk}/").content.decode()
    assert "request-info" not in page


def test_other_department_is_not_found(client: Client, world: World) -> None:
    from vorgang.accounts import services as accounts

    other = accounts.create_department("Ordnungsamt", address="oa@stadt.example")
    client.force_login(make_agent("otto", other, "full"))
    assert client.get(f"/cases/{world.ticket.pk}/request-info/").status_code == 404


def test_request_queues_a_mail_with_the_link_and_the_case_waits(
    agent_client: Client, world: World, settings, django_capture_on_commit_callbacks
) -> None:
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    with django_capture_on_commit_callbacks(execute=True):
        response = _send(agent_client, world)
    assert response.status_code == 302
    assert response["Location"].endswith(f"/cases/{world.ticket.pk}/#information-requests")

    request = InformationRequest.objects.get()
    assert request.documents == ["eye_test", "photo"]
    assert request.on_deadline == "remind" and request.created_by == world.agent
    assert timezone.localtime(request.deadline).date() == timezone.localdate() + timedelta(14)

    mail = Article.objects.get(ticket=world.ticket, kind="email")
    assert mail.sender == "agent" and mail.delivery_status == "queued"
    assert mail.to == "max.mustermann@example.org"
    assert mail.subject.startswith(f"[Vorgang#{world.ticket.number}]")
    assert "Sehtest" in mail.body and "Passfoto" in mail.body
    assert "Tragen Sie beim Fahren eine Brille?" in mail.body
    url = next(w for w in mail.body.split() if w.startswith("http://testserver/c/"))

    from django_tasks_db.models import DBTaskResult

    assert DBTaskResult.objects.filter(
        task_path="vorgang.tickets.tasks.deliver_article", args_kwargs__args=[mail.pk]
    ).exists()

    world.ticket.refresh_from_db()
    assert world.ticket.state.kind == "pending_reminder"
    assert world.ticket.pending_until == request.deadline

    # The link in the mail opens the case page, which now waits for the citizen.
    page = Client().get(path_of(url)).content.decode()
    assert "Wartet auf Ihre Antwort" in page
    assert "Tragen Sie beim Fahren eine Brille?" in page
    assert page.count("fehlt noch") == 3  # passport (required), eye test, photo


def test_answer_through_the_case_page_reopens(
    agent_client: Client, world: World, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        _send(agent_client, world)
    url = next(
        w
        for w in Article.objects.get(ticket=world.ticket, kind="email").body.split()
        if w.startswith("http://testserver/c/")
    )
    from django.core.files.uploadedfile import SimpleUploadedFile

    citizen = Client()
    response = citizen.post(
        path_of(url),
        {
            "message": "Ja, ich trage eine Brille.",
            "document-eye_test": [SimpleUploadedFile("sehtest.pdf", PDF, "application/pdf")],
        },
    )
    assert response.status_code == 302
    world.ticket.refresh_from_db()
    assert world.ticket.state.kind == "open"
    request = InformationRequest.objects.get()
    assert request.answered_at is not None
    # The agent sees the answer and the file on the case view.
    page = agent_client.get(f"/cases/{world.ticket.pk}/").content.decode()
    assert "Ja, ich trage eine Brille." in page and "sehtest.pdf" in page


def test_request_needs_content_and_a_future_deadline(agent_client: Client, world: World) -> None:
    response = _send(agent_client, world, documents=[], questions="  ")
    assert response.status_code == 422
    response = _send(agent_client, world, deadline=timezone.localdate().isoformat())
    assert response.status_code == 422
    response = _send(agent_client, world, deadline="morgen")
    assert response.status_code == 422
    response = _send(agent_client, world, documents=["unbekannt"])
    assert response.status_code == 422
    response = _send(agent_client, world, on_deadline="explode")
    assert response.status_code == 422
    assert not InformationRequest.objects.exists()
    world.ticket.refresh_from_db()
    assert world.ticket.state.kind == "new"


def test_a_case_without_a_service_takes_questions_only(
    agent_client: Client, world: World, django_capture_on_commit_callbacks
) -> None:
    ticket = make_case(world.department, world.citizen, title="Frage")
    page = agent_client.get(f"/cases/{ticket.pk}/request-info/").content.decode()
    assert 'name="documents"' not in page
    response = agent_client.post(
        f"/cases/{ticket.pk}/request-info/",
        {"questions": "Welche Adresse?", "deadline": _deadline(7), "on_deadline": "close"},
    )
    assert response.status_code == 302
    assert InformationRequest.objects.get(ticket=ticket).on_deadline == "close"


def test_a_closed_case_is_reopened_to_wait(agent_client: Client, world: World) -> None:
    services.change_state(None, world.ticket, "closed")
    assert _send(agent_client, world).status_code == 302
    world.ticket.refresh_from_db()
    assert world.ticket.state.kind == "pending_reminder"
    assert world.ticket.closed_at is None


def test_deadline_shown_to_agents(agent_client: Client, world: World) -> None:
    _send(agent_client, world)
    page = agent_client.get(f"/cases/{world.ticket.pk}/").content.decode()
    assert "Tragen Sie beim Fahren eine Brille?" in page
    assert "Sehtest" in page and "Passfoto" in page
