"""Ticket states and priorities in Zammad's shapes, for every signed-in user."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.factories import AgentFactory, CitizenFactory, DepartmentFactory, UserFactory
from vorgang.accounts.models import ApiToken, Role, User
from vorgang.tickets.models import Priority, State

pytestmark = pytest.mark.django_db


def get(client: Client, user: User | None, path: str) -> Any:
    headers = {"HTTP_ACCEPT_LANGUAGE": "en"}
    if user is not None:
        headers["HTTP_AUTHORIZATION"] = f"Token token={ApiToken.issue(user)}"
    return client.get(f"/api/v1{path}", **headers)


@pytest.fixture
def agent(tenant) -> User:
    return AgentFactory(departments={DepartmentFactory(tenant=tenant): ["read"]})


def test_states_carry_zammad_state_type_ids(client: Client, agent) -> None:
    body = get(client, agent, "/ticket_states").json()
    by_name = {s["name"]: s for s in body}
    assert {name: s["state_type_id"] for name, s in by_name.items()} == {
        "new": 1,
        "open": 2,
        "pending reminder": 3,
        "pending close": 4,
        "closed": 5,
        "merged": 6,
    }
    assert by_name["new"]["default_create"] is True
    assert by_name["open"]["default_follow_up"] is True
    assert by_name["closed"]["default_create"] is False
    assert by_name["pending close"]["next_state_id"] == by_name["closed"]["id"]
    assert by_name["closed"]["ignore_escalation"] is True
    assert by_name["open"]["ignore_escalation"] is False
    assert all(s["active"] is True for s in body)
    assert [s["id"] for s in body] == sorted(s["id"] for s in body)


def test_state_expand_and_show(client: Client, agent) -> None:
    pending = State.objects.get(name="pending close")
    body = get(client, agent, f"/ticket_states/{pending.pk}?expand=true").json()
    assert body["state_type"] == "pending action"
    assert body["next_state"] == "closed"
    assert "state_type" not in get(client, agent, f"/ticket_states/{pending.pk}").json()


def test_inactive_state_is_listed_as_inactive(client: Client, agent) -> None:
    State.objects.filter(name="pending reminder").update(active=False)
    body = {s["name"]: s for s in get(client, agent, "/ticket_states").json()}
    assert body["pending reminder"]["active"] is False


def test_priorities(client: Client, agent) -> None:
    body = get(client, agent, "/ticket_priorities").json()
    assert [(p["name"], p["default_create"]) for p in body] == [
        ("1 low", False),
        ("2 normal", True),
        ("3 high", False),
    ]
    normal = Priority.objects.get(name="2 normal")
    shown = get(client, agent, f"/ticket_priorities/{normal.pk}").json()
    assert shown["id"] == normal.pk and shown["name"] == "2 normal"


def test_paging_and_unknown_ids(client: Client, agent) -> None:
    assert len(get(client, agent, "/ticket_states?per_page=2&page=1").json()) == 2
    assert get(client, agent, "/ticket_states?per_page=2&page=9").json() == []
    assert get(client, agent, "/ticket_priorities?page=9").json() == []
    assert get(client, agent, "/ticket_states/999999").status_code == 404
    assert get(client, agent, "/ticket_priorities/999999").status_code == 404
    assert get(client, agent, "/ticket_states/open").status_code == 404
    bad = get(client, agent, "/ticket_states?per_page=-1")
    assert bad.status_code == 422
    assert set(bad.json()) == {"error", "error_human"}


@pytest.mark.parametrize("kind", ["admin", "read", "citizen", "integration", "anon"])
def test_reference_permission_matrix(client: Client, tenant, kind) -> None:
    department = DepartmentFactory(tenant=tenant)
    users: dict[str, User | None] = {
        "admin": UserFactory(role=Role.ADMIN),
        "read": AgentFactory(departments={department: ["read"]}),
        "citizen": CitizenFactory(),
        "integration": UserFactory(role=Role.INTEGRATION),
        "anon": None,
    }
    state = State.objects.order_by("pk").first()
    priority = Priority.objects.order_by("pk").first()
    assert state is not None and priority is not None
    expected = 401 if kind == "anon" else 200
    for path in (
        "/ticket_states",
        f"/ticket_states/{state.pk}",
        "/ticket_priorities",
        f"/ticket_priorities/{priority.pk}",
    ):
        assert get(client, users[kind], path).status_code == expected, path
