"""Users, organizations, groups and roles in the API: shapes, rules, bad input, walls."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.factories import (
    AdminFactory,
    AgentFactory,
    CitizenFactory,
    DepartmentFactory,
    TenantFactory,
    UserFactory,
)
from vorgang.accounts.models import (
    Department,
    DepartmentAccess,
    Organisation,
    Role,
    User,
)

from .helpers import call

pytestmark = pytest.mark.django_db


@pytest.fixture
def dep(tenant) -> Department:
    return DepartmentFactory(tenant=tenant, name="Führerscheinstelle")


@pytest.fixture
def admin(tenant) -> User:
    return AdminFactory(tenant=tenant, username="root")


@pytest.fixture
def agent(dep) -> User:
    return AgentFactory(username="anna", departments={dep: ["full"]})


@pytest.fixture
def citizen(tenant) -> User:
    return CitizenFactory(tenant=tenant, email="lukas@example.org", first_name="Lukas")


@pytest.fixture
def stranger():
    """A user of another tenant: never visible across the wall."""
    other = TenantFactory()
    return CitizenFactory(tenant=other, email="fremd@example.org")


# --- users: reading ---------------------------------------------------------------------------


def test_user_has_zammad_shape(client: Client, agent, dep, citizen) -> None:
    body = call(client, agent, "get", f"/users/{agent.pk}").json()
    assert body["id"] == agent.pk
    assert body["login"] == "anna"
    assert body["role_ids"] == [2]
    assert body["group_ids"] == {str(dep.pk): ["full"]}
    assert body["created_at"].endswith("Z") and len(body["created_at"]) == 24
    assert "roles" not in body
    shown = call(client, agent, "get", f"/users/{citizen.pk}").json()
    assert shown["role_ids"] == [3]
    assert shown["group_ids"] == {}


def test_admin_has_admin_and_agent_role_ids(client: Client, admin) -> None:
    body = call(client, admin, "get", f"/users/{admin.pk}?expand=true").json()
    assert body["role_ids"] == [1, 2]
    assert body["roles"] == ["Admin", "Agent"]


def test_expand_adds_names(client: Client, admin, agent, dep) -> None:
    organisation = Organisation.objects.create(tenant=agent.tenant, name="Stadtwerke")
    agent.organisation = organisation
    agent.save()
    body = call(client, admin, "get", f"/users/{agent.pk}?expand=true").json()
    assert body["organization_id"] == organisation.pk
    assert body["organization"] == "Stadtwerke"
    assert body["roles"] == ["Agent"]
    assert body["groups"] == {"Führerscheinstelle": ["full"]}


def test_me_is_the_caller(client: Client, citizen) -> None:
    body = call(client, citizen, "get", "/users/me").json()
    assert body["id"] == citizen.pk


def test_agent_lists_users_of_own_tenant_only(client: Client, agent, citizen, stranger) -> None:
    ids = [u["id"] for u in call(client, agent, "get", "/users").json()]
    assert agent.pk in ids and citizen.pk in ids
    assert stranger.pk not in ids
    assert ids == sorted(ids)


def test_users_page_through_and_end_with_empty_list(client: Client, agent, citizen) -> None:
    first = call(client, agent, "get", "/users?page=1&per_page=1").json()
    second = call(client, agent, "get", "/users?page=2&per_page=1").json()
    assert len(first) == 1 and len(second) == 1
    assert first[0]["id"] != second[0]["id"]
    assert call(client, agent, "get", "/users?page=50&per_page=1").json() == []
    bad = call(client, agent, "get", "/users?page=zero")
    assert bad.status_code == 422
    assert set(bad.json()) == {"error", "error_human"}


def test_citizen_and_integration_see_only_themselves(client: Client, agent, citizen) -> None:
    assert [u["id"] for u in call(client, citizen, "get", "/users").json()] == [citizen.pk]
    assert call(client, citizen, "get", f"/users/{agent.pk}").status_code == 404
    assert call(client, citizen, "get", f"/users/{citizen.pk}").status_code == 200
    integration = UserFactory(role=Role.INTEGRATION)
    assert [u["id"] for u in call(client, integration, "get", "/users").json()] == [integration.pk]


def test_unknown_and_foreign_users_are_404(client: Client, agent, stranger) -> None:
    assert call(client, agent, "get", f"/users/{stranger.pk}").status_code == 404
    assert call(client, agent, "get", "/users/999999").status_code == 404
    assert call(client, agent, "get", "/users/not-a-number").status_code == 404


def test_search_finds_by_words_across_fields(client: Client, agent, citizen, stranger) -> None:
    hits = call(client, agent, "get", "/users/search?query=lukas%20example").json()
    assert [u["id"] for u in hits] == [citizen.pk]
    assert call(client, agent, "get", "/users/search?query=fremd").json() == []
    limited = call(client, agent, "get", "/users/search?query=&limit=1").json()
    assert len(limited) == 1
    assert call(client, agent, "get", "/users/search?query=a&limit=x").status_code == 422


def test_citizens_may_not_search_users(client: Client, citizen) -> None:
    response = call(client, citizen, "get", "/users/search?query=a")
    assert response.status_code == 403
    assert response.json()["error"]


# --- users: creating and updating -------------------------------------------------------------


def test_agent_creates_a_citizen(client: Client, agent) -> None:
    organisation = Organisation.objects.create(tenant=agent.tenant, name="Stadtwerke")
    response = call(
        client,
        agent,
        "post",
        "/users",
        {
            "firstname": "Erika",
            "lastname": "Muster",
            "email": "erika@example.org",
            "organization": "Stadtwerke",
            "note": "VIP",
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["role_ids"] == [3]
    assert body["organization_id"] == organisation.pk
    assert body["login"].startswith("citizen-")
    assert response["X-Vorgang-Ignored-Fields"] == "note"
    created = User.objects.get(pk=body["id"])
    assert created.role == Role.CITIZEN
    assert created.tenant_id == agent.tenant_id
    assert not created.has_usable_password()


@pytest.mark.parametrize(
    "extra",
    [{"role_ids": [2]}, {"roles": ["Admin"]}, {"group_ids": {"1": ["full"]}}],
    ids=["role_ids", "roles", "group_ids"],
)
def test_agent_may_not_create_staff_or_grant_access(client: Client, agent, extra) -> None:
    response = call(client, agent, "post", "/users", {"email": "x@example.org", **extra})
    assert response.status_code == 403
    assert not User.objects.filter(email="x@example.org").exists()


def test_admin_creates_an_agent_with_group_ids_by_id_and_name(client: Client, admin, dep) -> None:
    second = DepartmentFactory(tenant=admin.tenant, name="Bürgerbüro")
    response = call(
        client,
        admin,
        "post",
        "/users",
        {
            "login": "bernd",
            "email": "bernd@stadt.example",
            "roles": ["Agent"],
            "password": "sehr-geheim-123",
            "group_ids": {str(dep.pk): ["read", "change"], "Bürgerbüro": "full"},
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["login"] == "bernd"
    assert body["role_ids"] == [2]
    assert body["group_ids"] == {str(dep.pk): ["change", "read"], str(second.pk): ["full"]}
    assert User.objects.get(username="bernd").check_password("sehr-geheim-123")


def test_admin_creates_an_admin_from_role_ids(client: Client, admin) -> None:
    response = call(
        client, admin, "post", "/users", {"email": "chef@stadt.example", "role_ids": [1, 2]}
    )
    assert response.status_code == 201
    assert User.objects.get(email="chef@stadt.example").role == Role.ADMIN
    assert response.json()["login"] == "chef@stadt.example"


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"email": "not-an-address"}, "not a valid e-mail"),
        ({"firstname": "Ohne Adresse"}, "not a valid e-mail"),
        ({"email": "a@example.org", "firstname": 5}, "firstname must be text"),
        ({"email": "a@example.org", "active": "yes"}, "active must be true or false"),
        ({"email": "a@example.org", "role_ids": [2, 3]}, "exactly one role"),
        ({"email": "a@example.org", "role_ids": [99]}, "Unknown role"),
        ({"email": "a@example.org", "role_ids": "3"}, "non-empty list"),
        ({"email": "a@example.org", "organization": "Gibt es nicht"}, "Unknown organisation"),
        ({"email": "a@example.org", "organization_id": 999999}, "Unknown organisation"),
        ({"email": "a@example.org", "role_ids": [2], "group_ids": {"Nirgends": ["full"]}}, "group"),
        ({"email": "a@example.org", "role_ids": [2], "group_ids": ["full"]}, "group_ids must"),
        ({"email": "a@example.org", "firstname": "x" * 151}, "at most 150"),
        ({"email": "a@example.org", "password": "geheim-geheim"}, "case link"),
    ],
)
def test_bad_user_input_is_422_and_writes_nothing(client: Client, admin, body, fragment) -> None:
    before = User.objects.count()
    response = call(client, admin, "post", "/users", body)
    assert response.status_code == 422, response.content
    assert fragment in response.json()["error_human"]
    assert User.objects.count() == before


def test_unknown_access_level_rolls_the_new_user_back(client: Client, admin, dep) -> None:
    response = call(
        client,
        admin,
        "post",
        "/users",
        {"email": "halb@stadt.example", "role_ids": [2], "group_ids": {str(dep.pk): ["boss"]}},
    )
    assert response.status_code == 422
    assert "Unknown access level" in response.json()["error_human"]
    assert not User.objects.filter(email="halb@stadt.example").exists()


def test_department_of_another_tenant_is_unknown(client: Client, admin) -> None:
    foreign = DepartmentFactory(tenant=TenantFactory())
    response = call(
        client,
        admin,
        "post",
        "/users",
        {"email": "z@stadt.example", "role_ids": [2], "group_ids": {str(foreign.pk): ["full"]}},
    )
    assert response.status_code == 422
    assert not DepartmentAccess.objects.filter(department=foreign).exists()


def test_duplicate_citizen_address_and_login_are_422(client: Client, agent, citizen) -> None:
    again = call(client, agent, "post", "/users", {"email": "LUKAS@example.org"})
    assert again.status_code == 422
    assert "already used" in again.json()["error_human"]
    taken = call(client, agent, "post", "/users", {"email": "n@example.org", "login": "anna"})
    assert taken.status_code == 422


@pytest.mark.parametrize("raw", ["{not json", "[1, 2]", '"text"'])
def test_malformed_json_is_422(client: Client, agent, raw) -> None:
    response = call(client, agent, "post", "/users", raw=raw)
    assert response.status_code == 422
    assert "JSON" in response.json()["error_human"]


def test_agent_updates_a_citizen_but_not_an_agent(client: Client, agent, citizen, dep) -> None:
    response = call(
        client, agent, "put", f"/users/{citizen.pk}", {"lastname": "Neu", "phone": "0911 1"}
    )
    assert response.status_code == 200
    assert response.json()["lastname"] == "Neu"
    citizen.refresh_from_db()
    assert (citizen.last_name, citizen.phone) == ("Neu", "0911 1")
    colleague = AgentFactory(departments={dep: ["read"]})
    denied = call(client, agent, "put", f"/users/{colleague.pk}", {"lastname": "X"})
    assert denied.status_code == 403
    promote = call(client, agent, "put", f"/users/{citizen.pk}", {"role_ids": [2]})
    assert promote.status_code == 403
    citizen.refresh_from_db()
    assert citizen.role == Role.CITIZEN


def test_admin_replaces_group_ids_and_role_change_drops_access(client: Client, admin, dep) -> None:
    worker = AgentFactory(departments={dep: ["full"]})
    second = DepartmentFactory(tenant=admin.tenant)
    response = call(
        client, admin, "put", f"/users/{worker.pk}", {"group_ids": {str(second.pk): ["read"]}}
    )
    assert response.json()["group_ids"] == {str(second.pk): ["read"]}
    assert not DepartmentAccess.objects.filter(user=worker, department=dep).exists()
    demoted = call(client, admin, "put", f"/users/{worker.pk}", {"role_ids": [3]})
    assert demoted.status_code == 200
    assert demoted.json()["group_ids"] == {}
    assert not DepartmentAccess.objects.filter(user=worker).exists()


def test_admin_cannot_lock_themselves_out(client: Client, admin) -> None:
    for body in ({"role_ids": [2]}, {"active": False}):
        response = call(client, admin, "put", f"/users/{admin.pk}", body)
        assert response.status_code == 422
    admin.refresh_from_db()
    assert admin.role == Role.ADMIN and admin.is_active


def test_update_across_the_tenant_wall_is_404(client: Client, admin, stranger) -> None:
    response = call(client, admin, "put", f"/users/{stranger.pk}", {"lastname": "X"})
    assert response.status_code == 404
    stranger.refresh_from_db()
    assert stranger.last_name != "X"


# --- organizations ----------------------------------------------------------------------------


def test_organizations_create_list_show_update(client: Client, agent, citizen) -> None:
    created = call(client, agent, "post", "/organizations", {"name": "Stadtwerke", "domain": "x"})
    assert created.status_code == 201
    assert created["X-Vorgang-Ignored-Fields"] == "domain"
    org_id = created.json()["id"]
    call(client, agent, "put", f"/users/{citizen.pk}", {"organization_id": org_id})
    shown = call(client, agent, "get", f"/organizations/{org_id}?expand=true").json()
    assert shown["member_ids"] == [citizen.pk]
    assert shown["members"] == [citizen.username]
    updated = call(client, agent, "put", f"/organizations/{org_id}", {"note": "Versorger"})
    assert updated.json()["note"] == "Versorger"
    assert [o["id"] for o in call(client, agent, "get", "/organizations").json()] == [org_id]
    hits = call(client, agent, "get", "/organizations/search?query=werke").json()
    assert [o["name"] for o in hits] == ["Stadtwerke"]


def test_organization_bad_input(client: Client, agent) -> None:
    Organisation.objects.create(tenant=agent.tenant, name="Stadtwerke")
    assert call(client, agent, "post", "/organizations", {"name": "Stadtwerke"}).status_code == 422
    assert call(client, agent, "post", "/organizations", {}).status_code == 422
    assert call(client, agent, "post", "/organizations", {"name": 3}).status_code == 422
    assert call(client, agent, "put", "/organizations/999999", {"note": "x"}).status_code == 404


def test_citizen_sees_only_own_organization(client: Client, citizen) -> None:
    own = Organisation.objects.create(tenant=citizen.tenant, name="Eigene")
    other = Organisation.objects.create(tenant=citizen.tenant, name="Andere")
    citizen.organisation = own
    citizen.save()
    assert [o["id"] for o in call(client, citizen, "get", "/organizations").json()] == [own.pk]
    assert call(client, citizen, "get", f"/organizations/{other.pk}").status_code == 404
    assert call(client, citizen, "post", "/organizations", {"name": "Neu"}).status_code == 403


def test_organizations_of_another_tenant_are_invisible(client: Client, agent) -> None:
    foreign = Organisation.objects.create(tenant=TenantFactory(), name="Fremd")
    assert call(client, agent, "get", f"/organizations/{foreign.pk}").status_code == 404
    assert call(client, agent, "get", "/organizations").json() == []
    response = call(
        client, agent, "post", "/users", {"email": "q@example.org", "organization": "Fremd"}
    )
    assert response.status_code == 422


# --- groups -----------------------------------------------------------------------------------


def test_group_shape_with_sender_address_and_signature(client: Client, admin, dep, agent) -> None:
    dep.signature = "Ihre Führerscheinstelle"
    dep.save()
    body = call(client, admin, "get", f"/groups/{dep.pk}?expand=true").json()
    assert body["name"] == "Führerscheinstelle"
    assert body["email_address"] == dep.email_address
    assert body["email_address_id"] == dep.pk
    assert body["signature"] == "Ihre Führerscheinstelle"
    assert body["signature_id"] == dep.pk
    assert body["follow_up_possible"] == "yes"
    assert body["user_ids"] == [agent.pk]
    assert body["users"] == ["anna"]


def test_admin_sees_all_groups_agent_only_own(client: Client, admin, agent, dep) -> None:
    other = DepartmentFactory(tenant=admin.tenant, active=False)
    DepartmentFactory(tenant=TenantFactory())
    assert [g["id"] for g in call(client, admin, "get", "/groups").json()] == [dep.pk, other.pk]
    assert [g["id"] for g in call(client, agent, "get", "/groups").json()] == [dep.pk]
    assert call(client, agent, "get", f"/groups/{other.pk}").status_code == 404


def test_admin_creates_and_updates_a_group(client: Client, admin) -> None:
    created = call(
        client,
        admin,
        "post",
        "/groups",
        {
            "name": "Standesamt",
            "email_address": "standesamt@stadt.example",
            "signature": "Mit freundlichen Grüßen",
            "follow_up_possible": "new_ticket",
            "email_address_id": 7,
        },
    )
    assert created.status_code == 201, created.content
    assert created["X-Vorgang-Ignored-Fields"] == "email_address_id"
    body = created.json()
    assert body["follow_up_possible"] == "new_ticket"
    department = Department.objects.get(pk=body["id"])
    assert department.tenant_id == admin.tenant_id
    assert department.signature == "Mit freundlichen Grüßen"
    updated = call(
        client,
        admin,
        "put",
        f"/groups/{department.pk}",
        {"name": "Standesamt Mitte", "active": False, "follow_up_days": 30},
    )
    assert updated.status_code == 200
    department.refresh_from_db()
    assert (department.name, department.active, department.follow_up_days) == (
        "Standesamt Mitte",
        False,
        30,
    )


@pytest.mark.parametrize(
    "body",
    [
        {"name": "Ohne Adresse"},
        {"email_address": "x@stadt.example"},
        {"name": "Falsch", "email_address": "kein-mail"},
        {"name": "Doppelt", "email_address": "abteilung-dup@stadt.example"},
        {"name": "Regel", "email_address": "r@stadt.example", "follow_up_possible": "maybe"},
        {"name": "Tage", "email_address": "t@stadt.example", "follow_up_days": 0},
        {"name": "Tage", "email_address": "t@stadt.example", "follow_up_days": "viele"},
        {"name": ["Liste"], "email_address": "l@stadt.example"},
    ],
)
def test_bad_group_input_is_422(client: Client, admin, body) -> None:
    DepartmentFactory(tenant=admin.tenant, email_address="abteilung-dup@stadt.example")
    before = Department.objects.count()
    response = call(client, admin, "post", "/groups", body)
    assert response.status_code == 422, response.content
    assert Department.objects.count() == before


def test_group_writes_are_for_admins_only(client: Client, agent, dep) -> None:
    body = {"name": "Neu", "email_address": "neu@stadt.example"}
    assert call(client, agent, "post", "/groups", body).status_code == 403
    assert call(client, agent, "put", f"/groups/{dep.pk}", {"name": "X"}).status_code == 403
    dep.refresh_from_db()
    assert dep.name == "Führerscheinstelle"


def test_group_of_another_tenant_is_404_for_admins(client: Client, admin) -> None:
    foreign = DepartmentFactory(tenant=TenantFactory())
    assert call(client, admin, "get", f"/groups/{foreign.pk}").status_code == 404
    assert call(client, admin, "put", f"/groups/{foreign.pk}", {"name": "X"}).status_code == 404


# --- roles ------------------------------------------------------------------------------------


def test_roles_are_the_fixed_four(client: Client, agent) -> None:
    body = call(client, agent, "get", "/roles").json()
    assert [(r["id"], r["name"]) for r in body] == [
        (1, "Admin"),
        (2, "Agent"),
        (3, "Customer"),
        (4, "Integration"),
    ]
    assert call(client, agent, "get", "/roles/3").json()["default_at_signup"] is True
    assert call(client, agent, "get", "/roles/9").status_code == 404
    assert call(client, agent, "get", "/roles?page=2&per_page=4").json() == []


# --- permission matrix ------------------------------------------------------------------------

ACTORS = ["admin", "read", "overview", "change", "create", "full", "other", "citizen", "anon"]


def _actors(dep: Department, citizen: User) -> dict[str, User | None]:
    other = DepartmentFactory(tenant=dep.tenant)
    people: dict[str, User | None] = {
        "admin": AdminFactory(tenant=dep.tenant),
        "other": AgentFactory(departments={other: ["full"]}),
        "citizen": citizen,
        "anon": None,
    }
    for level in ("read", "overview", "change", "create", "full"):
        people[level] = AgentFactory(departments={dep: [level]})
    return people


def _expect(actor: str, staff: int, citizen: int, anon: int = 401) -> int:
    if actor == "anon":
        return anon
    return citizen if actor == "citizen" else staff


@pytest.mark.parametrize("actor", ACTORS)
def test_directory_permission_matrix(client: Client, dep, citizen, actor) -> None:
    people = _actors(dep, citizen)
    user = people[actor]
    another = CitizenFactory(tenant=dep.tenant)
    in_dep = actor in ("read", "overview", "change", "create", "full")
    cases: list[tuple[str, str, Any, int]] = [
        ("get", "/users", None, _expect(actor, 200, 200)),
        ("get", "/users/search?query=a", None, _expect(actor, 200, 403)),
        ("get", f"/users/{another.pk}", None, _expect(actor, 200, 404)),
        ("post", "/users", {"email": f"neu-{actor}@example.org"}, _expect(actor, 201, 403)),
        ("put", f"/users/{another.pk}", {"firstname": "Neu"}, _expect(actor, 200, 403)),
        ("get", "/organizations", None, _expect(actor, 200, 200)),
        ("post", "/organizations", {"name": f"Org {actor}"}, _expect(actor, 201, 403)),
        ("get", "/groups", None, _expect(actor, 200, 403)),
        (
            "get",
            f"/groups/{dep.pk}",
            None,
            _expect(actor, 200 if actor == "admin" or in_dep else 404, 403),
        ),
        (
            "post",
            "/groups",
            {"name": f"G {actor}", "email_address": f"g-{actor}@stadt.example"},
            _expect(actor, 201 if actor == "admin" else 403, 403),
        ),
        (
            "put",
            f"/groups/{dep.pk}",
            {"signature": "Gruß"},
            _expect(actor, 200 if actor == "admin" else 403, 403),
        ),
        ("get", "/roles", None, _expect(actor, 200, 403)),
        ("get", "/roles/1", None, _expect(actor, 200, 403)),
    ]
    for method, path, body, expected in cases:
        response = call(client, user, method, path, body)
        assert response.status_code == expected, (actor, method, path, response.content)
        if expected >= 400:
            assert set(response.json()) == {"error", "error_human"}
