"""Online notifications in the API: own ones only, Zammad's shape, mark read, delete."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.factories import (
    AdminFactory,
    AgentFactory,
    CitizenFactory,
    DepartmentFactory,
    TicketFactory,
)
from vorgang.accounts.models import Department, User
from vorgang.notifications import services
from vorgang.notifications.models import NotificationKind, OnlineNotification
from vorgang.tickets.models import Ticket

from .helpers import call

pytestmark = pytest.mark.django_db


@pytest.fixture
def dep(tenant) -> Department:
    return DepartmentFactory(tenant=tenant)


@pytest.fixture
def case(dep) -> Ticket:
    return TicketFactory(department=dep)


@pytest.fixture
def agent(dep) -> User:
    return AgentFactory(username="anna", departments={dep: ["full"]})


@pytest.fixture
def colleague(dep) -> User:
    return AgentFactory(username="bernd", departments={dep: ["full"]})


@pytest.fixture
def notice(agent, colleague, case) -> OnlineNotification:
    created = services.notify(agent, case, NotificationKind.ASSIGNED, colleague.pk)
    assert created is not None
    return created


def test_list_has_zammad_shape(client: Client, agent, notice, case) -> None:
    body = call(client, agent, "get", "/online_notifications").json()
    assert len(body) == 1
    item = body[0]
    assert item["id"] == notice.pk
    assert item["o_id"] == case.pk
    assert item["object"] == "Ticket"
    assert item["type"] == "update"
    assert item["reason"] == "assigned"
    assert item["seen"] is False
    assert item["user_id"] == notice.user_id
    assert item["created_by_id"] == notice.actor_id
    assert item["created_at"].endswith("Z")
    assert "created_by" not in item


def test_expand_adds_names(client: Client, agent, notice, case) -> None:
    item = call(client, agent, "get", "/online_notifications?expand=true").json()[0]
    assert item["user"] == "anna"
    assert item["created_by"] == "bernd"
    assert item["ticket_number"] == case.number


def test_newest_first_and_paging(client: Client, agent, dep, notice) -> None:
    later = services.notify(agent, TicketFactory(department=dep), NotificationKind.MENTION)
    assert later is not None
    ids = [n["id"] for n in call(client, agent, "get", "/online_notifications").json()]
    assert ids == [later.pk, notice.pk]
    page = call(client, agent, "get", "/online_notifications?per_page=1&page=2").json()
    assert [n["id"] for n in page] == [notice.pk]
    assert call(client, agent, "get", "/online_notifications?page=3&per_page=1").json() == []


def test_mark_one_seen_and_back(client: Client, agent, notice, case) -> None:
    response = call(
        client,
        agent,
        "put",
        f"/online_notifications/{notice.pk}",
        {"seen": True, "id": notice.pk, "o_id": case.pk + 1, "colour": "red"},
    )
    assert response.status_code == 200
    assert response.json()["seen"] is True
    assert response["X-Vorgang-Ignored-Fields"] == "colour"
    notice.refresh_from_db()
    assert notice.seen is True
    assert notice.ticket_id == case.pk  # o_id is read-only
    call(client, agent, "put", f"/online_notifications/{notice.pk}", {"seen": False})
    notice.refresh_from_db()
    assert notice.seen is False


@pytest.mark.parametrize(("body", "raw"), [({}, ""), ({"seen": "yes"}, ""), (None, "{bad")])
def test_bad_seen_input_is_422(client: Client, agent, notice, body, raw) -> None:
    response = call(client, agent, "put", f"/online_notifications/{notice.pk}", body, raw)
    assert response.status_code == 422
    notice.refresh_from_db()
    assert notice.seen is False


def test_mark_all_as_read(client: Client, agent, colleague, dep, notice, case) -> None:
    services.notify(agent, TicketFactory(department=dep), NotificationKind.MENTION)
    theirs = services.notify(colleague, case, NotificationKind.MENTION)
    assert theirs is not None
    response = call(client, agent, "post", "/online_notifications/mark_all_as_read")
    assert response.status_code == 200
    assert response.json() == {}
    assert not OnlineNotification.objects.filter(user=agent, seen=False).exists()
    theirs.refresh_from_db()
    assert theirs.seen is False


def test_show_and_delete(client: Client, agent, notice) -> None:
    assert (
        call(client, agent, "get", f"/online_notifications/{notice.pk}").json()["id"] == notice.pk
    )
    response = call(client, agent, "delete", f"/online_notifications/{notice.pk}")
    assert response.status_code == 200
    assert not OnlineNotification.objects.filter(pk=notice.pk).exists()
    assert call(client, agent, "delete", f"/online_notifications/{notice.pk}").status_code == 404
    assert call(client, agent, "get", "/online_notifications/999999").status_code == 404


@pytest.mark.parametrize("actor", ["admin", "colleague", "citizen", "anon", "owner"])
def test_notifications_permission_matrix(
    client: Client, tenant, agent, colleague, notice, case, actor
) -> None:
    """Only the owner of a notification sees or changes it; everyone else gets 404 (401)."""
    people: dict[str, User | None] = {
        "admin": AdminFactory(tenant=tenant),
        "colleague": colleague,
        "citizen": case.citizen,
        "anon": None,
        "owner": agent,
    }
    user = people[actor]
    own = actor == "owner"
    missing = 401 if actor == "anon" else 404
    listed = call(client, user, "get", "/online_notifications")
    if actor == "anon":
        assert listed.status_code == 401
    else:
        assert [n["id"] for n in listed.json()] == ([notice.pk] if own else [])
    path = f"/online_notifications/{notice.pk}"
    assert call(client, user, "get", path).status_code == (200 if own else missing)
    assert call(client, user, "put", path, {"seen": True}).status_code == (200 if own else missing)
    marked = call(client, user, "post", "/online_notifications/mark_all_as_read")
    assert marked.status_code == (401 if actor == "anon" else 200)
    notice.refresh_from_db()
    assert notice.seen is own
    assert call(client, user, "delete", path).status_code == (200 if own else missing)
    assert OnlineNotification.objects.filter(pk=notice.pk).exists() is not own


def test_citizens_never_get_notifications(client: Client, case) -> None:
    citizen = case.citizen
    assert citizen is not None
    assert services.notify(citizen, case, NotificationKind.MENTION) is None
    assert call(client, CitizenFactory(), "get", "/online_notifications").json() == []
