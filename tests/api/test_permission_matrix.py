"""Who gets what from the case and article endpoints: every role against every endpoint.

The rules are the UI's (selectors + services): a case one may not read does not exist
(404); a readable case one may not change is 403; ``change`` or ``create`` alone do not
open a case (Zammad's levels: only ``read`` and ``full`` do); admins see cases only
through their department access, but deleting is theirs alone; citizens see their own
cases and may add public web messages.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client

from tests.api.helpers import auth, send
from tests.factories import (
    AdminFactory,
    AgentFactory,
    CitizenFactory,
    DepartmentFactory,
    TicketFactory,
)
from vorgang.search.indexing import reindex_all
from vorgang.tickets import services
from vorgang.tickets.models import Article, Ticket

pytestmark = pytest.mark.django_db

ROLES = [
    "admin",
    "read",
    "overview",
    "create",
    "change",
    "full",
    "other_department",
    "citizen",
    "other_citizen",
    "anonymous",
]


@dataclass
class World:
    ticket: Ticket
    other: Ticket  # a second case of the same department (merge target)
    article: Article  # public, with a raw message and an attachment
    headers: dict[str, str]


def build(role: str, tenant: Any) -> World:
    department = DepartmentFactory(tenant=tenant, name="Ordnungsamt")
    ticket = TicketFactory(department=department, title="Sondernutzung Gehweg")
    other = TicketFactory(department=department, citizen=ticket.citizen)
    article = services.add_article(
        None,
        ticket,
        services.ArticleInput(
            body="Nachweis",
            kind="email",
            sender="citizen",
            raw=b"Subject: Nachweis\r\n\r\nNachweis\r\n",
            attachments=[services.AttachmentInput("nachweis.pdf", b"%PDF-1.4", "application/pdf")],
        ),
    )
    if role == "admin":
        user = AdminFactory()
    elif role in ("read", "overview", "create", "change", "full"):
        user = AgentFactory(departments={department: [role]})
    elif role == "other_department":
        user = AgentFactory(departments={DepartmentFactory(tenant=tenant): ["full"]})
    elif role == "citizen":
        user = ticket.citizen
    elif role == "other_citizen":
        user = CitizenFactory()
    else:
        user = None
    return World(ticket, other, article, auth(user) if user is not None else {})


def call(client: Client, endpoint: str, world: World):
    t, a = world.ticket, world.article
    attachment = a.attachments.get()
    h = world.headers
    department = t.department.name
    if endpoint == "show":
        return send(client, "GET", f"/tickets/{t.pk}", h)
    if endpoint == "list":
        return send(client, "GET", "/tickets", h)
    if endpoint == "search":
        reindex_all()  # the test's transaction never commits: no subscriber fills the index
        return send(client, "GET", f"/tickets/search?query=number:{t.number}", h)
    if endpoint == "create":
        body = {"title": "Neu", "group": department, "article": {"body": "Hallo", "type": "web"}}
        return send(client, "POST", "/tickets", h, body)
    if endpoint == "update":
        body = {"article": {"body": "Ergänzung", "type": "web"}}
        return send(client, "PUT", f"/tickets/{t.pk}", h, body)
    if endpoint == "delete":
        return send(client, "DELETE", f"/tickets/{t.pk}", h)
    if endpoint == "merge":
        return send(client, "PUT", f"/ticket_merge/{t.pk}/{world.other.number}", h)
    if endpoint == "history":
        return send(client, "GET", f"/ticket_history/{t.pk}", h)
    if endpoint == "articles":
        return send(client, "GET", f"/ticket_articles/by_ticket/{t.pk}", h)
    if endpoint == "article":
        return send(client, "GET", f"/ticket_articles/{a.pk}", h)
    if endpoint == "add_article":
        body = {"ticket_id": t.pk, "body": "Noch etwas", "type": "web"}
        return send(client, "POST", "/ticket_articles", h, body)
    if endpoint == "plain":
        return send(client, "GET", f"/ticket_article_plain/{a.pk}", h)
    if endpoint == "attachment":
        return send(client, "GET", f"/ticket_attachment/{t.pk}/{a.pk}/{attachment.pk}", h)
    raise AssertionError(endpoint)


# Expected status per endpoint, in the order of ROLES.
#              admin read ovw  create chg  full other citz ocitz anon
EXPECTED: dict[str, list[int]] = {
    "show":        [404, 200, 404, 404, 404, 200, 404, 200, 404, 401],
    "list":        [200, 200, 200, 200, 200, 200, 200, 200, 200, 401],
    "search":      [200, 200, 200, 200, 200, 200, 200, 200, 200, 401],
    "create":      [403, 403, 403, 201, 403, 201, 403, 201, 201, 401],
    "update":      [404, 403, 404, 404, 404, 200, 404, 200, 404, 401],
    "delete":      [200, 403, 403, 403, 403, 403, 403, 403, 403, 401],
    "merge":       [404, 403, 404, 404, 404, 200, 404, 403, 403, 401],
    "history":     [404, 200, 404, 404, 404, 200, 404, 403, 404, 401],
    "articles":    [404, 200, 404, 404, 404, 200, 404, 200, 404, 401],
    "article":     [404, 200, 404, 404, 404, 200, 404, 200, 404, 401],
    "add_article": [404, 403, 404, 404, 404, 201, 404, 201, 404, 401],
    "plain":       [404, 200, 404, 404, 404, 200, 404, 200, 404, 401],
    "attachment":  [404, 200, 404, 404, 404, 200, 404, 200, 404, 401],
}  # fmt: skip
# Who finds the case in a list or search (200 alone says nothing about that).
SEES_IN_LISTS = {"read", "full", "citizen"}

CASES = [(endpoint, role) for endpoint in EXPECTED for role in ROLES]


@pytest.mark.parametrize(("endpoint", "role"), CASES)
def test_matrix(client: Client, tenant, endpoint: str, role: str) -> None:
    world = build(role, tenant)
    articles_before = Article.objects.count()
    response = call(client, endpoint, world)
    expected = EXPECTED[endpoint][ROLES.index(role)]
    assert response.status_code == expected, (endpoint, role, response.content[:300])
    if response.status_code >= 400:
        assert set(response.json()) == {"error", "error_human"}
        assert Article.objects.count() == articles_before  # nothing half-written
    if endpoint == "list" and expected == 200:
        listed = [t["id"] for t in response.json()]
        assert (world.ticket.pk in listed) == (role in SEES_IN_LISTS)
    if endpoint == "search" and expected == 200:
        found = response.json()["tickets"]
        assert (world.ticket.pk in found) == (role in SEES_IN_LISTS)
    if endpoint == "delete" and expected == 200:
        assert not Ticket.objects.filter(pk=world.ticket.pk).exists()
    if endpoint == "update" and role == "citizen":
        assert Article.objects.count() == articles_before + 1


def test_citizen_update_fields_beyond_a_message_are_ignored(client: Client, tenant) -> None:
    world = build("citizen", tenant)
    body = {"title": "Gekapert", "state": "closed", "article": {"body": "Hallo", "type": "web"}}
    response = send(client, "PUT", f"/tickets/{world.ticket.pk}", world.headers, body)
    assert response.status_code == 200
    assert response["X-Vorgang-Ignored-Fields"] == "state, title"
    world.ticket.refresh_from_db()
    assert world.ticket.title == "Sondernutzung Gehweg"
    assert world.ticket.state.name == "new"


def test_citizen_creates_only_for_themselves(client: Client, tenant) -> None:
    world = build("citizen", tenant)
    other = CitizenFactory(email="jemand@example.org")
    body = {
        "title": "Mein Anliegen",
        "group": world.ticket.department.name,
        "customer_id": other.pk,
        "owner_id": 1,
        "article": {"body": "Hallo", "type": "web"},
    }
    response = send(client, "POST", "/tickets", world.headers, body)
    assert response.status_code == 201
    assert response.json()["customer_id"] == world.ticket.citizen_id
    assert response["X-Vorgang-Ignored-Fields"] == "customer_id, owner_id"
    article = Article.objects.get(ticket_id=response.json()["id"])
    assert (article.kind, article.sender, article.internal) == ("web", "citizen", False)
