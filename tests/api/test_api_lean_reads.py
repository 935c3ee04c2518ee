"""The API's hot paths stay lean and never serve from stale state.

Shows, lists and the token check were cut down to a few hand-tuned queries
(bench/api.py, README "REST API under load"); these tests pin what must not change
with that: revoking a token, deactivating its user or taking away an access level
works on the very next request (nothing is cached between requests), a case's
JSON reflects its current articles, history, attributes and names, and the number
of queries per request stays small.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.api.helpers import send
from tests.factories import (
    AgentFactory,
    CitizenFactory,
    DepartmentFactory,
    TenantFactory,
    TicketFactory,
)
from vorgang.accounts import services as accounts
from vorgang.accounts.models import ApiToken, DepartmentAccess, Role, User
from vorgang.attributes.models import CaseAttribute
from vorgang.tickets import services
from vorgang.tickets.models import State

pytestmark = pytest.mark.django_db


@pytest.fixture
def department(tenant):
    return DepartmentFactory(tenant=tenant, name="Bürgeramt")


@pytest.fixture
def agent(department):
    return AgentFactory(username="bert", departments={department: ["full"]})


@pytest.fixture
def token(agent) -> str:
    return ApiToken.issue(agent)


def headers(token: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Token token={token}"}


def show(client: Client, token: str, pk: int, query: str = ""):
    return send(client, "GET", f"/tickets/{pk}{query}", headers(token))


# --- nothing stale between requests --------------------------------------------------------------


def test_revoking_a_token_works_on_the_next_request(client: Client, token, department) -> None:
    ticket = TicketFactory(department=department)
    assert show(client, token, ticket.pk).status_code == 200
    ApiToken.objects.update(revoked_at=timezone.now())
    assert show(client, token, ticket.pk).status_code == 401


def test_expiry_works_on_the_next_request(client: Client, token, department) -> None:
    ticket = TicketFactory(department=department)
    ApiToken.objects.update(expires_at=timezone.now() + timedelta(hours=1))
    assert show(client, token, ticket.pk).status_code == 200
    ApiToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert show(client, token, ticket.pk).status_code == 401


def test_deactivating_the_user_works_on_the_next_request(
    client: Client, token, agent, department
) -> None:
    ticket = TicketFactory(department=department)
    assert show(client, token, ticket.pk).status_code == 200
    User.objects.filter(pk=agent.pk).update(is_active=False)
    assert show(client, token, ticket.pk).status_code == 401


def test_the_token_authenticates_its_own_user_only(client: Client, agent, department) -> None:
    other = AgentFactory(username="carla", departments={DepartmentFactory(): ["full"]})
    ApiToken.issue(other)
    mine = ApiToken.issue(agent)
    body = send(client, "GET", "/users/me", headers(mine)).json()
    assert body["id"] == agent.pk
    assert body["login"] == "bert"


def test_access_levels_are_read_per_request(client: Client, token, agent, department) -> None:
    ticket = TicketFactory(department=department)
    assert show(client, token, ticket.pk).status_code == 200
    DepartmentAccess.objects.filter(user=agent).delete()
    assert show(client, token, ticket.pk).status_code == 404
    assert send(client, "GET", "/tickets", headers(token)).json() == []
    DepartmentAccess.objects.create(user=agent, department=department, level="read")
    assert show(client, token, ticket.pk).status_code == 200


def test_a_deactivated_department_closes_its_cases_at_once(
    client: Client, token, department
) -> None:
    ticket = TicketFactory(department=department)
    assert show(client, token, ticket.pk).status_code == 200
    type(department).objects.filter(pk=department.pk).update(active=False)
    assert show(client, token, ticket.pk).status_code == 404


def test_overview_level_lists_nothing_in_the_api(client: Client, department) -> None:
    """The API returns whole cases, so it needs ``read`` (``overview`` only lists in the desk)."""
    viewer = AgentFactory(departments={department: ["overview"]})
    ticket = TicketFactory(department=department)
    token = ApiToken.issue(viewer)
    assert show(client, token, ticket.pk).status_code == 404
    assert send(client, "GET", "/tickets", headers(token)).json() == []


# --- the JSON is the case as it is now ----------------------------------------------------------


def test_show_follows_changes_of_names_attributes_and_articles(
    client: Client, token, agent, department, tenant
) -> None:
    ticket = TicketFactory(department=department)
    before = show(client, token, ticket.pk, "?expand=true").json()
    assert before["article_count"] == 1
    assert "aktenzeichen" not in before

    CaseAttribute.objects.create(
        tenant=tenant, name="aktenzeichen", label_de="Aktenzeichen", data_type="text"
    )
    department.name = "Bürgerbüro"
    department.save()
    services.add_article(agent, ticket, services.ArticleInput(body="Rückruf vereinbart."))
    state = State.objects.get(name="open")
    State.objects.filter(pk=state.pk).update(name="in Arbeit")
    services.change_state(agent, ticket, State.objects.get(pk=state.pk))

    after = show(client, token, ticket.pk, "?expand=true").json()
    assert after["aktenzeichen"] is None
    assert after["group"] == "Bürgerbüro"
    assert after["state"] == "in Arbeit"
    assert after["article_count"] == 2
    assert after["updated_by_id"] == agent.pk


def test_citizens_count_only_their_visible_articles(client: Client, department, agent) -> None:
    citizen = CitizenFactory()
    ticket = TicketFactory(department=department, citizen=citizen)
    services.add_article(
        agent, ticket, services.ArticleInput(body="Intern: Akte angefordert.", internal=True)
    )
    citizen_token = ApiToken.issue(citizen)
    agent_token = ApiToken.issue(agent)
    assert show(client, citizen_token, ticket.pk).json()["article_count"] == 1
    assert show(client, agent_token, ticket.pk).json()["article_count"] == 2


def test_list_and_search_keep_the_order_and_the_wall(
    client: Client, token, department, tenant
) -> None:
    mine = [TicketFactory(department=department) for _ in range(3)]
    TicketFactory(department=DepartmentFactory(tenant=tenant))
    listed = send(client, "GET", "/tickets?expand=true", headers(token)).json()
    assert [t["id"] for t in listed] == [t.pk for t in mine]
    assert all(t["group"] == "Bürgeramt" and t["tags"] == [] for t in listed)


# --- few queries ----------------------------------------------------------------------------------


def queries(client: Client, method: str, path: str, token: str) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as captured:
        response = send(client, method, path, headers(token))
    return response.status_code, len(captured.captured_queries)


def test_show_and_list_need_few_queries(client: Client, token, department) -> None:
    tickets = [TicketFactory(department=department) for _ in range(5)]
    send(client, "GET", "/users/me", headers(token))  # last_used_at written: not counted below
    # token and user, access levels, the case with its counts, the attribute names
    assert queries(client, "GET", f"/tickets/{tickets[0].pk}", token) == (200, 4)
    # ... the page's ids, then its cases with their counts
    assert queries(client, "GET", "/tickets?per_page=3", token) == (200, 5)
    # expand: the ids as a subquery, names by joins in the same query, tags in one more
    assert queries(client, "GET", "/tickets?per_page=3&expand=true", token) == (200, 5)


# --- citizens by address --------------------------------------------------------------------------


def test_citizen_lookup_ignores_case_and_takes_the_oldest(tenant) -> None:
    first = accounts.find_or_create_citizen(tenant, "Lena.Schulz@Example.org")
    User.objects.create(
        username="lena-2", email="lena.schulz@example.org", tenant=tenant, role=Role.CITIZEN
    )
    assert accounts.find_or_create_citizen(tenant.pk, "LENA.SCHULZ@example.org") == first
    assert accounts.find_or_create_citizen(tenant, "lena.schulz@example.org") == first
    elsewhere = accounts.find_or_create_citizen(TenantFactory(), "lena.schulz@example.org")
    assert elsewhere != first
    assert elsewhere.tenant_id != tenant.pk
