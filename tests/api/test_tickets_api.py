"""/tickets, /tickets/search, /ticket_merge, /ticket_history: shapes, writes and every 4xx."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from tests.api.helpers import API, auth, b64, send
from tests.factories import (
    AdminFactory,
    AgentFactory,
    CitizenFactory,
    DepartmentFactory,
    TenantFactory,
    TicketFactory,
)
from vorgang.accounts.models import Organisation, Role, User
from vorgang.attributes.models import CaseAttribute
from vorgang.tickets import services
from vorgang.tickets.models import Article, History, Link, State, Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def department(tenant):
    return DepartmentFactory(tenant=tenant, name="Führerscheinstelle")


@pytest.fixture
def agent(department):
    return AgentFactory(username="anna", departments={department: ["full"]})


@pytest.fixture
def headers(agent):
    return auth(agent)


@pytest.fixture
def ticket(department):
    return TicketFactory(department=department, title="Umschreibung Führerschein")


def new_ticket(**changes):
    body = {
        "title": "Antrag auf Ersatzführerschein",
        "group": "Führerscheinstelle",
        "customer_id": "guess:lena.schulz@example.org",
        "article": {"subject": "Antrag", "body": "Mein Führerschein ist verloren.", "type": "note"},
    }
    body.update(changes)
    return body


# --- shapes ----------------------------------------------------------------------------------


def test_show_has_zammads_fields(client: Client, headers, ticket) -> None:
    response = send(client, "GET", f"/tickets/{ticket.pk}", headers)
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == ticket.pk
    assert body["number"] == ticket.number and isinstance(body["number"], str)
    assert body["group_id"] == ticket.department_id
    assert body["state_id"] == ticket.state_id
    assert body["priority_id"] == ticket.priority_id
    assert body["owner_id"] is None
    assert body["customer_id"] == ticket.citizen_id
    assert body["article_count"] == 1
    assert body["created_at"].endswith("Z") and len(body["created_at"]) == 24
    assert body["close_at"] is None and body["pending_time"] is None
    assert "group" not in body


def test_show_expanded_adds_names_and_tags(client: Client, headers, ticket) -> None:
    services.tag(None, ticket, "eilig")
    body = send(client, "GET", f"/tickets/{ticket.pk}?expand=true", headers).json()
    assert body["group"] == "Führerscheinstelle"
    assert body["state"] == "new"
    assert body["priority"] == "2 normal"
    assert body["customer"] == ticket.citizen.email
    assert body["owner"] is None
    assert body["tags"] == ["eilig"]


def test_list_pages_and_empty_past_the_end(client: Client, headers, department) -> None:
    made = [TicketFactory(department=department) for _ in range(3)]
    first = send(client, "GET", "/tickets?per_page=2&page=1", headers).json()
    second = send(client, "GET", "/tickets?per_page=2&page=2", headers).json()
    beyond = send(client, "GET", "/tickets?per_page=2&page=3", headers).json()
    assert [t["id"] for t in first + second] == [t.pk for t in made]
    assert beyond == []
    assert send(client, "GET", "/tickets?page=x", headers).status_code == 422
    assert send(client, "GET", "/tickets?per_page=0", headers).status_code == 422


def test_list_is_limited_to_readable_departments(client: Client, headers, department) -> None:
    mine = TicketFactory(department=department)
    TicketFactory(department=DepartmentFactory())
    TicketFactory(department=DepartmentFactory(tenant=TenantFactory()))
    listed = send(client, "GET", "/tickets", headers).json()
    assert [t["id"] for t in listed] == [mine.pk]


def test_updated_by_is_the_last_actor(client: Client, headers, agent, ticket) -> None:
    services.set_title(agent, ticket, "Neu")
    body = send(client, "GET", f"/tickets/{ticket.pk}", headers).json()
    assert body["updated_by_id"] == agent.pk
    assert body["created_by_id"] is None


# --- create ----------------------------------------------------------------------------------


def test_create_with_guessed_citizen_and_note(client: Client, headers, department, agent) -> None:
    response = send(client, "POST", "/tickets", headers, new_ticket(tags="eilig, Ausland"))
    assert response.status_code == 201, response.content
    body = response.json()
    ticket = Ticket.objects.get(pk=body["id"])
    assert ticket.department == department
    assert ticket.citizen.email == "lena.schulz@example.org"
    assert ticket.citizen.role == Role.CITIZEN
    assert ticket.created_by == agent
    assert sorted(ticket.tags.values_list("name", flat=True)) == ["Ausland", "eilig"]
    article = ticket.articles.get()
    assert (article.kind, article.sender, article.subject) == ("note", "agent", "Antrag")
    assert body["article_count"] == 1
    assert response.get("X-Vorgang-Ignored-Fields") is None
    # a second guess finds the same citizen
    again = send(client, "POST", "/tickets", headers, new_ticket()).json()
    assert again["customer_id"] == ticket.citizen_id


def test_create_by_ids_and_names(client: Client, headers, department, agent) -> None:
    citizen = CitizenFactory(email="max@example.org")
    organisation = Organisation.objects.create(tenant=department.tenant, name="Autohaus Süd")
    state = State.objects.get(name="open")
    payload = new_ticket(
        group=None,
        group_id=department.pk,
        customer_id=None,
        customer="max@example.org",
        state_id=state.pk,
        priority="3 high",
        owner="anna",
        organization=organisation.name,
        tags=["a", "b"],
    )
    del payload["group"]
    del payload["customer_id"]
    response = send(client, "POST", "/tickets", headers, payload)
    assert response.status_code == 201, response.content
    ticket = Ticket.objects.get(pk=response.json()["id"])
    assert ticket.citizen == citizen
    assert ticket.state == state
    assert ticket.priority.name == "3 high"
    assert ticket.owner == agent
    assert ticket.organisation == organisation


def test_create_with_attachment_and_internal_note(client: Client, headers) -> None:
    article = {
        "body": "<p>Scan anbei</p><script>alert(1)</script>",
        "content_type": "text/html",
        "internal": True,
        "attachments": [
            {"filename": "scan.pdf", "data": b64(b"%PDF-1.4"), "mime-type": "application/pdf"}
        ],
    }
    response = send(client, "POST", "/tickets", headers, new_ticket(article=article))
    assert response.status_code == 201, response.content
    stored = Article.objects.get(ticket_id=response.json()["id"])
    assert stored.internal is True
    assert "<script" not in stored.body and "Scan anbei" in stored.body
    attachment = stored.attachments.get()
    assert (attachment.filename, attachment.content_type) == ("scan.pdf", "application/pdf")
    assert attachment.blob.read() == b"%PDF-1.4"


def test_create_with_an_email_article_queues_it(client: Client, headers) -> None:
    article = {"type": "email", "subject": "Ihr Antrag", "body": "Guten Tag, wir haben ..."}
    response = send(client, "POST", "/tickets", headers, new_ticket(article=article))
    assert response.status_code == 201, response.content
    stored = Article.objects.get(ticket_id=response.json()["id"])
    assert stored.kind == "email"
    assert stored.to == "lena.schulz@example.org"
    assert stored.delivery_status in ("queued", "sent")
    assert stored.message_id.startswith("<vorgang.")
    assert "[Vorgang#" in stored.subject


def test_create_with_links(client: Client, headers, ticket) -> None:
    payload = new_ticket(links={"Ticket": {"parent": [ticket.pk]}})
    response = send(client, "POST", "/tickets", headers, payload)
    assert response.status_code == 201, response.content
    link = Link.objects.get()
    assert (link.source_id, link.target_id, link.kind) == (
        response.json()["id"],
        ticket.pk,
        "child",
    )


def test_create_names_unknown_fields(client: Client, headers) -> None:
    payload = new_ticket(flavour="vanilla", number="999", article={"body": "x", "mood": "good"})
    response = send(client, "POST", "/tickets", headers, payload)
    assert response.status_code == 201
    assert response["X-Vorgang-Ignored-Fields"] == "article.mood, flavour"


def test_create_with_custom_attributes(client: Client, headers, tenant) -> None:
    CaseAttribute.objects.create(
        tenant=tenant, name="service_type", label_de="Dienstart", data_type="text"
    )
    response = send(client, "POST", "/tickets", headers, new_ticket(service_type="Umtausch"))
    assert response.status_code == 201, response.content
    assert response.json()["service_type"] == "Umtausch"
    assert Ticket.objects.get().attributes == {"service_type": "Umtausch"}
    wrong = send(client, "POST", "/tickets", headers, new_ticket(service_type=7))
    assert wrong.status_code == 422
    assert Ticket.objects.count() == 1


@pytest.mark.django_db(transaction=True)  # the events are delivered at the request's commit
def test_create_checks_attributes_once_and_indexes_the_case_once(
    client: Client, headers, tenant, settings
) -> None:
    """A new case is two events (the case, its first article): one re-index (right after
    the commit, no task), one look for webhooks, and the attribute definitions read once
    for the check."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django_tasks_db.models import DBTaskResult

    settings.VORGANG_SEARCH_SYNC = False  # as on PostgreSQL: the worker indexes changes
    CaseAttribute.objects.create(
        tenant=tenant, name="aktenzeichen", label_de="Aktenzeichen", data_type="text"
    )
    TicketFactory()  # the number series' counter row exists (its first draw creates it)
    DBTaskResult.objects.all().delete()
    with CaptureQueriesContext(connection) as queries:
        response = send(client, "POST", "/tickets", headers, new_ticket(aktenzeichen="A-1"))
    assert response.status_code == 201, response.content
    assert response.json()["aktenzeichen"] == "A-1"
    ticket = Ticket.objects.get(pk=response.json()["id"])
    assert ticket.attributes == {"aktenzeichen": "A-1"}
    sql = [q["sql"] for q in queries.captured_queries]
    definitions = [s for s in sql if s.startswith('SELECT * FROM "attributes_caseattribute"')]
    assert len(definitions) == 1
    assert len([s for s in sql if 'FROM "webhooks_webhook"' in s]) == 1
    # One transaction, no savepoints: the service checks its input before it writes.
    assert not [s for s in sql if "SAVEPOINT" in s]
    assert not DBTaskResult.objects.filter(task_path__startswith="vorgang.search.tasks.").exists()
    assert len([s for s in sql if "INSERT INTO search_searchdocument" in s]) == 1
    # The history has the attribute although the service did not check it a second time.
    assert ticket.history.filter(action="updated", field="aktenzeichen", new_value="A-1").exists()


def test_checked_attributes_of_another_tenant_are_checked_again(department) -> None:
    """``CheckedAttributes`` vouch for their own tenant only."""
    from vorgang.core.errors import InvalidInput

    other = TenantFactory()
    forged = services.CheckedAttributes(other.pk, {"erfunden": "x"})
    with pytest.raises(InvalidInput, match="Unknown attributes"):
        services.create_ticket(None, department=department, title="x", attributes=forged)
    assert not Ticket.objects.exists()


@pytest.mark.parametrize(
    ("changes", "needle"),
    [
        ({"group": "Gibt es nicht"}, "Unknown group"),
        ({"group": None}, "group must be a name"),
        ({"group_id": 999999}, "Unknown group"),
        ({"state": "erfunden"}, "Unknown state"),
        ({"state_id": "x"}, "whole number"),
        ({"priority": "9 extreme"}, "Unknown priority"),
        ({"owner": "niemand"}, "Unknown owner"),
        ({"customer_id": 999999}, "Unknown customer"),
        ({"customer_id": "guess:not-an-address"}, "not a valid e-mail"),
        ({"customer_id": None, "customer": "unbekannt@example.org"}, "Unknown customer"),
        ({"organization": "Gibt es nicht"}, "Unknown organization"),
        ({"title": ""}, "title"),
        ({"title": ["x"]}, "must be text"),
        ({"tags": 5}, "tags"),
        ({"state": "merged"}, "cannot start"),
        ({"state": "pending reminder"}, "pending date"),
        ({"state": "pending reminder", "pending_time": "morgen"}, "ISO 8601"),
        ({"state": "pending reminder", "pending_time": "2030-01-01T10:00:00"}, "time zone"),
        ({"article": "text"}, "must be an object"),
        ({"article": {"body": "x", "type": "fax"}}, "Unknown article type"),
        ({"article": {"body": "x", "internal": "vielleicht"}}, "true or false"),
        ({"article": {"body": "x", "content_type": "image/png"}}, "content_type"),
        ({"article": {"body": "", "type": "note"}}, "empty"),
        ({"links": {"Ticket": {"sibling": [1]}}}, "link type"),
        ({"links": [1]}, "links must"),
    ],
)
def test_create_422s_write_nothing(client: Client, headers, changes, needle) -> None:
    payload = new_ticket()
    payload.update(changes)
    response = send(client, "POST", "/tickets", headers, payload)
    assert response.status_code == 422, response.content
    body = response.json()
    assert set(body) == {"error", "error_human"}
    assert needle.lower() in body["error_human"].lower()
    assert Ticket.objects.count() == 0
    assert User.objects.filter(email="lena.schulz@example.org").count() <= 1


def test_owner_without_full_access_is_422(client: Client, headers, department) -> None:
    reader = AgentFactory(username="lesend", departments={department: ["read"]})
    response = send(client, "POST", "/tickets", headers, new_ticket(owner_id=reader.pk))
    assert response.status_code == 422
    assert "cannot own" in response.json()["error_human"]


def test_bad_base64_is_422(client: Client, headers) -> None:
    article = {"body": "x", "attachments": [{"filename": "a.pdf", "data": "kein base64!"}]}
    response = send(client, "POST", "/tickets", headers, new_ticket(article=article))
    assert response.status_code == 422
    assert response.json()["error_human"] == "article.attachments.0.data is not valid base64."
    assert Ticket.objects.count() == 0


@pytest.mark.parametrize("raw", ['{"title": ', "[1, 2]", b"\xff\xfe", '"just a string"'])
def test_malformed_json_is_422(client: Client, headers, raw) -> None:
    response = send(client, "POST", "/tickets", headers, raw)
    assert response.status_code == 422
    assert set(response.json()) == {"error", "error_human"}


def test_huge_bodies_are_413(client: Client, headers, settings) -> None:
    settings.VORGANG_MAIL_MAX_BYTES = 1000
    article = {"body": "x", "attachments": [{"filename": "a.bin", "data": b64(b"0" * 1500)}]}
    response = send(client, "POST", "/tickets", headers, new_ticket(article=article))
    assert response.status_code == 413
    assert response.json()["error"] == "too large"
    huge = send(client, "POST", "/tickets", headers, new_ticket(), CONTENT_LENGTH=str(10**10))
    assert huge.status_code == 413
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    search = send(client, "POST", "/tickets/search", headers, {"query": "x" * 500})
    assert search.status_code == 413
    assert search.json()["error"] == "too large"
    assert Ticket.objects.count() == 0


# --- update ----------------------------------------------------------------------------------


def test_update_fields_and_add_article(client: Client, headers, ticket, agent, department) -> None:
    other = DepartmentFactory(tenant=department.tenant, name="Bürgerbüro")
    AgentFactory(departments={other: ["full"]})
    agent_access = AgentFactory  # noqa: F841  # (readability: other department has its agent)
    from vorgang.accounts import access

    access.grant(agent, other.pk, ["create"])
    payload = {
        "title": "Neuer Titel",
        "state": "pending reminder",
        "pending_time": (timezone.now() + timedelta(days=2)).isoformat(),
        "priority_id": 3,
        "owner_id": agent.pk,
        "tags": ["eins"],
        "article": {"body": "Rückruf vereinbart", "type": "phone", "sender": "Customer"},
        "id": ticket.pk,
        "number": ticket.number,
    }
    response = send(client, "PUT", f"/tickets/{ticket.pk}?expand=true", headers, payload)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["title"] == "Neuer Titel"
    assert body["state"] == "pending reminder"
    assert body["pending_time"] is not None
    assert body["owner"] == "anna"
    assert body["tags"] == ["eins"]
    assert body["article_count"] == 2
    phone = Article.objects.filter(ticket=ticket).last()
    assert (phone.kind, phone.sender) == ("phone", "citizen")
    assert response.get("X-Vorgang-Ignored-Fields") is None
    # tags are the whole list; moving to another department; unassigning
    moved = send(
        client, "PUT", f"/tickets/{ticket.pk}", headers, {"tags": [], "group": "Bürgerbüro"}
    )
    assert moved.status_code == 200, moved.content
    ticket.refresh_from_db()
    assert ticket.department == other and list(ticket.tags.all()) == []
    assert ticket.owner is None  # anna has no full access in Bürgerbüro


def test_update_is_all_or_nothing(client: Client, headers, ticket) -> None:
    payload = {"title": "Geändert", "state": "erfunden"}
    response = send(client, "PUT", f"/tickets/{ticket.pk}", headers, payload)
    assert response.status_code == 422
    ticket.refresh_from_db()
    assert ticket.title == "Umschreibung Führerschein"


def test_update_invalid_transition_is_422(client: Client, headers, ticket) -> None:
    response = send(client, "PUT", f"/tickets/{ticket.pk}", headers, {"state": "new"})
    assert response.status_code == 200  # staying is fine
    services.change_state(None, ticket, "closed")
    again = send(client, "PUT", f"/tickets/{ticket.pk}", headers, {"state": "pending close"})
    assert again.status_code == 422


def test_update_customer(client: Client, headers, ticket) -> None:
    other = CitizenFactory(email="neu@example.org")
    response = send(client, "PUT", f"/tickets/{ticket.pk}", headers, {"customer_id": other.pk})
    assert response.status_code == 200
    assert response.json()["customer_id"] == other.pk
    agent_as_customer = send(
        client, "PUT", f"/tickets/{ticket.pk}", headers, {"customer": "anna@stadt.example"}
    )
    assert agent_as_customer.status_code == 422


def test_update_attributes_and_unknown(client: Client, headers, ticket, tenant) -> None:
    CaseAttribute.objects.create(
        tenant=tenant, name="aktenzeichen", label_de="AZ", data_type="text"
    )
    response = send(
        client, "PUT", f"/tickets/{ticket.pk}", headers, {"aktenzeichen": "32-1", "x": 1}
    )
    assert response.status_code == 200
    assert response.json()["aktenzeichen"] == "32-1"
    assert response["X-Vorgang-Ignored-Fields"] == "x"
    ticket.refresh_from_db()
    assert ticket.attributes == {"aktenzeichen": "32-1"}


def test_update_of_a_merged_case_is_422(client: Client, headers, department) -> None:
    source, target = TicketFactory(department=department), TicketFactory(department=department)
    services.merge(None, source, target)
    response = send(client, "PUT", f"/tickets/{source.pk}", headers, {"title": "x"})
    assert response.status_code == 422
    assert "merged" in response.json()["error_human"]


# --- delete ----------------------------------------------------------------------------------


def test_delete_by_admin_removes_everything_and_logs(
    client: Client, department, ticket, caplog
) -> None:
    admin = AdminFactory()
    merged = TicketFactory(department=department)
    services.merge(None, merged, ticket)
    services.link(None, ticket, TicketFactory(department=department))
    with caplog.at_level(logging.WARNING, logger="vorgang.audit"):
        response = send(client, "DELETE", f"/tickets/{ticket.pk}", auth(admin))
    assert response.status_code == 200
    assert response.json() == {}
    assert not Ticket.objects.filter(pk=ticket.pk).exists()
    assert not History.objects.filter(ticket_id=ticket.pk).exists()
    assert not Article.objects.filter(ticket_id=ticket.pk).exists()
    merged.refresh_from_db()
    assert merged.merged_into is None
    assert History.objects.filter(ticket=merged, action="merge_target_deleted").exists()
    assert f"number={ticket.number}" in caplog.text
    from vorgang.tickets import history

    assert list(history.verify()) == []
    assert send(client, "DELETE", f"/tickets/{ticket.pk}", auth(admin)).status_code == 404


def test_delete_by_agent_is_403_and_other_tenant_404(client: Client, headers, ticket) -> None:
    assert send(client, "DELETE", f"/tickets/{ticket.pk}", headers).status_code == 403
    outsider = AdminFactory(tenant=TenantFactory())
    assert send(client, "DELETE", f"/tickets/{ticket.pk}", auth(outsider)).status_code == 404
    assert Ticket.objects.filter(pk=ticket.pk).exists()


# --- search ----------------------------------------------------------------------------------


def test_search_by_fields_and_words(
    client: Client, headers, department, agent, search_index
) -> None:
    first = TicketFactory(department=department, title="Ersatzführerschein", body="verloren")
    second = TicketFactory(department=department, title="Umschreibung", body="aus Polen")
    services.change_state(None, second, "open")
    services.add_article(
        None, first, services.ArticleInput(body="geheim notiert", kind="note", internal=True)
    )
    TicketFactory(department=DepartmentFactory(), title="Ersatzführerschein")
    search_index()

    def ids(query: str, method: str = "GET") -> list[int]:
        if method == "GET":
            body = send(client, "GET", f"/tickets/search?query={query}", headers).json()
        else:
            body = send(client, "POST", "/tickets/search", headers, {"query": query}).json()
        return body["tickets"]

    assert ids("Ersatzführerschein") == [first.pk]
    assert ids("state.name:open") == [second.pk]
    assert ids("Polen") == [second.pk]
    assert ids(f"number:{first.number}") == [first.pk]
    assert ids('group.name:"Führerscheinstelle" verloren', "POST") == [first.pk]
    assert sorted(ids("*")) == sorted([first.pk, second.pk])
    assert ids("geheim") == [first.pk]  # agents find internal notes


def test_search_shapes(client: Client, headers, ticket, search_index) -> None:
    search_index()
    plain = send(client, "GET", "/tickets/search?query=Umschreibung", headers).json()
    assert plain["tickets"] == [ticket.pk]
    assert plain["tickets_count"] == 1
    assert plain["assets"]["Ticket"][str(ticket.pk)]["number"] == ticket.number
    expanded = send(client, "GET", "/tickets/search?query=Umschreibung&expand=true", headers)
    assert isinstance(expanded.json(), list)
    assert expanded.json()[0]["group"] == "Führerscheinstelle"
    paged = send(client, "GET", "/tickets/search?query=*&limit=1&page=2", headers).json()
    assert paged["tickets"] == [] and paged["tickets_count"] == 1


def test_search_bad_input(client: Client, headers) -> None:
    unknown = send(client, "GET", "/tickets/search?query=farbe:blau", headers)
    assert unknown.status_code == 422
    assert "Unknown search field" in unknown.json()["error_human"]
    assert send(client, "GET", "/tickets/search?query=state_id:x", headers).status_code == 422
    assert send(client, "POST", "/tickets/search", headers, {"query": 5}).status_code == 422
    assert send(client, "GET", "/tickets/search?page=0", headers).status_code == 422


def test_citizen_search_does_not_see_internal_words(client: Client, ticket, search_index) -> None:
    services.add_article(
        None, ticket, services.ArticleInput(body="geheim notiert", kind="note", internal=True)
    )
    search_index()
    citizen_headers = auth(ticket.citizen)
    assert (
        send(client, "GET", "/tickets/search?query=geheim", citizen_headers).json()["tickets"] == []
    )
    assert send(client, "GET", "/tickets/search?query=Umschreibung", citizen_headers).json()[
        "tickets"
    ] == [ticket.pk]


def test_search_takes_zammads_field_names(
    client: Client, headers, tenant, department, agent, search_index
) -> None:
    firm = Organisation.objects.create(tenant=tenant, name="Musterfirma GmbH")
    erika = CitizenFactory(tenant=tenant, email="erika@example.org")
    first = TicketFactory(
        department=department, title="Ersatzführerschein", citizen=erika, organisation=firm
    )
    services.set_priority(None, first, "3 high")
    services.tag(None, first, "eilig")
    second = TicketFactory(department=department, title="Umschreibung")
    services.assign(None, second, agent)
    search_index()
    new_state = State.objects.get(name="new").pk

    def ids(query: str) -> list[int]:
        response = send(client, "POST", "/tickets/search", headers, {"query": query})
        assert response.status_code == 200, response.content
        return response.json()["tickets"]

    assert ids('priority.name:"3 high"') == [first.pk]
    high = Ticket.objects.get(pk=first.pk).priority_id
    assert ids(f"priority_id:{high}") == [first.pk]
    assert ids("owner.login:anna") == [second.pk]
    assert ids(f"owner.email:{agent.email}") == [second.pk]
    assert ids(f"owner_id:{agent.pk}") == [second.pk]
    assert ids("customer.email:erika@example.org") == [first.pk]
    assert ids(f"customer_id:{erika.pk}") == [first.pk]
    assert ids('organization.name:"Musterfirma GmbH"') == [first.pk]
    assert ids(f"organization_id:{firm.pk}") == [first.pk]
    assert sorted(ids(f"group_id:{department.pk} state_id:{new_state}")) == sorted(
        [first.pk, second.pk]
    )
    assert ids("tags:eilig") == [first.pk]
    assert ids("title:ersatz") == [first.pk]
    assert ids("Ersatzführerschein AND state.name:new") == [first.pk]


def test_search_all_is_newest_change_first(client: Client, headers, department, search_index):
    older, newer = TicketFactory(department=department), TicketFactory(department=department)
    Ticket.objects.filter(pk=newer.pk).update(updated_at=timezone.now() - timedelta(days=2))
    Ticket.objects.filter(pk=older.pk).update(updated_at=timezone.now() - timedelta(days=1))
    search_index()
    for query in ("*", "", " * "):
        body = send(client, "POST", "/tickets/search", headers, {"query": query}).json()
        assert body["tickets"] == [older.pk, newer.pk] and body["tickets_count"] == 2
    large = send(client, "GET", "/tickets/search?query=Antrag&per_page=300", headers).json()
    assert sorted(large["tickets"]) == sorted([older.pk, newer.pk])


def test_search_errors_name_the_problem(client: Client, headers, ticket, search_index) -> None:
    search_index()
    state = send(client, "GET", "/tickets/search?query=state.name:verloren", headers)
    assert state.status_code == 422 and "verloren" in state.json()["error_human"]
    group = send(client, "GET", "/tickets/search?query=group_id:Amt", headers)
    assert group.status_code == 422 and "group_id:" in group.json()["error_human"]
    far = send(client, "GET", "/tickets/search?query=Umschreibung&page=10001", headers)
    assert far.status_code == 422


def test_search_never_returns_a_case_moved_out_of_reach(
    client: Client, headers, ticket, search_index
) -> None:
    """The index may lag a change (a task on PostgreSQL); the hits are checked again."""
    search_index()
    Ticket.objects.filter(pk=ticket.pk).update(department=DepartmentFactory(tenant=ticket.tenant))
    body = send(client, "GET", "/tickets/search?query=Umschreibung", headers).json()
    assert body["tickets"] == [] and body["assets"]["Ticket"] == {}


# --- merge, history --------------------------------------------------------------------------


def test_merge_by_number(client: Client, headers, department) -> None:
    source, target = TicketFactory(department=department), TicketFactory(department=department)
    response = send(client, "PUT", f"/ticket_merge/{source.pk}/{target.number}", headers)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["result"] == "success"
    assert body["source_ticket"]["state_id"] == State.objects.get(kind="merged").pk
    assert body["target_ticket"]["article_count"] == 2
    again = send(client, "PUT", f"/ticket_merge/{source.pk}/{target.number}", headers)
    assert again.status_code == 422
    missing = send(client, "PUT", f"/ticket_merge/{source.pk}/000000", headers)
    assert missing.status_code == 404
    itself = send(client, "PUT", f"/ticket_merge/{target.pk}/{target.number}", headers)
    assert itself.status_code == 422


def test_history_in_zammads_shape(client: Client, headers, ticket, agent) -> None:
    services.change_state(agent, ticket, "open")
    services.tag(agent, ticket, "eilig")
    response = send(client, "GET", f"/ticket_history/{ticket.pk}", headers)
    assert response.status_code == 200
    history = response.json()["history"]
    kinds = [(h["history_type"], h["history_object"], h["history_attribute"]) for h in history]
    assert kinds[0] == ("created", "Ticket", None)
    assert ("created", "Ticket::Article", None) in kinds
    assert ("updated", "Ticket", "state") in kinds
    assert ("added", "Tag", None) in kinds
    state_change = next(h for h in history if h["history_attribute"] == "state")
    assert (state_change["value_from"], state_change["value_to"]) == ("new", "open")
    assert state_change["created_by_id"] == agent.pk
    assert response.json()["assets"]["User"][str(agent.pk)]["login"] == "anna"


def test_unknown_ids_are_404(client: Client, headers) -> None:
    for method, path in [
        ("GET", "/tickets/999999"),
        ("GET", f"/tickets/{2**80}"),  # beyond any engine's integers
        ("GET", f"/tickets/{2**63}"),
        ("PUT", "/tickets/999999"),
        ("GET", "/ticket_history/999999"),
        ("PUT", "/ticket_merge/999999/1"),
    ]:
        response = send(client, method, path, headers, {})
        assert response.status_code == 404, (method, path)
        assert set(response.json()) == {"error", "error_human"}


def test_non_numeric_ids_and_unknown_paths_are_json_404(client: Client, headers) -> None:
    for path in ("/tickets/abc", "/no/such/thing", "/ticket_history/1.5"):
        response = client.get(API + path, **headers)
        assert response.status_code == 404, path
        assert response["Content-Type"].startswith("application/json")
        assert set(response.json()) == {"error", "error_human"}


def test_wrong_method_is_json_405(client: Client, headers, ticket) -> None:
    response = client.patch(f"{API}/tickets/{ticket.pk}", data="{}", **headers)
    assert response.status_code == 405
    assert response.json()["error"] == "method not allowed"
    assert "GET" in response["Allow"]
