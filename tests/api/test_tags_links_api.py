"""Tags and links of cases in the API: Zammad's shapes, access levels, bad input, walls."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.factories import (
    AdminFactory,
    AgentFactory,
    DepartmentFactory,
    TenantFactory,
    TicketFactory,
)
from vorgang.accounts.models import Department, User
from vorgang.tickets import services
from vorgang.tickets.models import History, Link, Tag, Ticket

from .helpers import call

pytestmark = pytest.mark.django_db


@pytest.fixture
def dep(tenant) -> Department:
    return DepartmentFactory(tenant=tenant)


@pytest.fixture
def case(dep) -> Ticket:
    return TicketFactory(department=dep)


@pytest.fixture
def other_case(dep) -> Ticket:
    return TicketFactory(department=dep)


@pytest.fixture
def agent(dep) -> User:
    return AgentFactory(departments={dep: ["full"]})


def tag_body(case: Ticket, item: Any = "Eilt", **changes: Any) -> dict[str, Any]:
    return {"object": "Ticket", "o_id": case.pk, "item": item, **changes}


# --- tags -------------------------------------------------------------------------------------


def test_add_list_and_remove_tags(client: Client, agent, case) -> None:
    added = call(client, agent, "post", "/tags/add", tag_body(case))
    assert added.status_code == 201
    assert added.json() is True
    call(client, agent, "post", "/tags/add", tag_body(case, "Antrag"))
    listed = call(client, agent, "get", f"/tags?object=Ticket&o_id={case.pk}").json()
    assert listed == {"tags": ["Antrag", "Eilt"]}
    removed = call(client, agent, "delete", "/tags/remove", tag_body(case))
    assert removed.status_code == 200
    assert removed.json() is True
    assert list(case.tags.values_list("name", flat=True)) == ["Antrag"]
    actions = History.objects.filter(ticket=case, action__startswith="tag_").values_list(
        "action", flat=True
    )
    assert list(actions) == ["tag_added", "tag_added", "tag_removed"]


def test_adding_twice_and_removing_an_absent_tag_change_nothing(
    client: Client, agent, case
) -> None:
    call(client, agent, "post", "/tags/add", tag_body(case))
    again = call(client, agent, "post", "/tags/add", tag_body(case))
    assert again.status_code == 201
    assert case.tags.count() == 1
    absent = call(client, agent, "delete", "/tags/remove", tag_body(case, "Nie da"))
    assert absent.status_code == 200
    assert case.tags.count() == 1


def test_tag_params_may_come_in_the_query_string(client: Client, agent, case) -> None:
    response = call(client, agent, "post", f"/tags/add?object=Ticket&o_id={case.pk}&item=Query")
    assert response.status_code == 201
    assert list(case.tags.values_list("name", flat=True)) == ["Query"]


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"object": "Ticket", "item": "x"}, 422),
        ({"object": "Ticket", "o_id": "abc", "item": "x"}, 422),
        ({"object": "Ticket", "o_id": True, "item": "x"}, 422),
        ({"object": "User", "o_id": 1, "item": "x"}, 422),
        ({"object": "Ticket", "o_id": "CASE", "item": ""}, 422),
        ({"object": "Ticket", "o_id": "CASE", "item": 5}, 422),
        ({"object": "Ticket", "o_id": "CASE"}, 422),
        ({"object": "Ticket", "o_id": 999999, "item": "x"}, 404),
    ],
)
def test_bad_tag_input(client: Client, agent, case, body, status) -> None:
    if body.get("o_id") == "CASE":
        body = {**body, "o_id": case.pk}
    response = call(client, agent, "post", "/tags/add", body)
    assert response.status_code == status, response.content
    assert set(response.json()) == {"error", "error_human"}
    assert case.tags.count() == 0


def test_malformed_json_and_bad_list_params(client: Client, agent, case) -> None:
    assert call(client, agent, "post", "/tags/add", raw="{oops").status_code == 422
    assert call(client, agent, "delete", "/tags/remove", raw="[]").status_code == 422
    assert call(client, agent, "get", "/tags?object=Ticket").status_code == 422
    assert call(client, agent, "get", "/tags?object=Ticket&o_id=x").status_code == 422
    assert (
        call(client, agent, "get", f"/tags?object=Organization&o_id={case.pk}").status_code == 422
    )


def test_merged_case_takes_no_tags(client: Client, agent, case, other_case) -> None:
    services.merge(None, case, other_case)
    response = call(client, agent, "post", "/tags/add", tag_body(case))
    assert response.status_code == 422
    assert "merged" in response.json()["error_human"]


def test_tag_search(client: Client, agent, case, other_case, tenant) -> None:
    for name in ("Eilt", "Eilig", "Antrag"):
        services.tag(None, case, name)
    services.tag(None, other_case, "Antrag")
    Tag.objects.create(tenant=TenantFactory(), name="Eilt fremd")
    hits = call(client, agent, "get", "/tag_search?term=eil").json()
    assert [h["value"] for h in hits] == ["Eilig", "Eilt"]
    assert all(set(h) == {"id", "value"} for h in hits)
    popular = call(client, agent, "get", "/tag_search?limit=1").json()
    assert [h["value"] for h in popular] == ["Antrag"]
    assert call(client, agent, "get", "/tag_search?limit=0").status_code == 422


def test_tags_across_the_tenant_wall(client: Client, case) -> None:
    outsider = AgentFactory(tenant=TenantFactory())
    assert call(client, outsider, "get", f"/tags?object=Ticket&o_id={case.pk}").status_code == 404
    assert call(client, outsider, "post", "/tags/add", tag_body(case)).status_code == 404
    assert case.tags.count() == 0


# --- links ------------------------------------------------------------------------------------


def link_body(target: Ticket, source: Ticket, link_type: str = "normal") -> dict[str, Any]:
    return {
        "link_type": link_type,
        "link_object_target": "Ticket",
        "link_object_target_value": target.pk,
        "link_object_source": "Ticket",
        "link_object_source_number": source.number,
    }


def links_of(client: Client, user: User, case: Ticket) -> Any:
    return call(client, user, "get", f"/links?link_object=Ticket&link_object_value={case.pk}")


def test_add_and_list_a_parent_link_from_both_sides(
    client: Client, agent, case, other_case
) -> None:
    added = call(client, agent, "post", "/links/add", link_body(case, other_case, "parent"))
    assert added.status_code == 201, added.content
    assert added.json()["link_object_source_value"] == other_case.pk
    # "source is parent of target": other_case is the parent of case.
    body = links_of(client, agent, case).json()
    assert body["links"] == [
        {"link_type": "parent", "link_object": "Ticket", "link_object_value": other_case.pk}
    ]
    asset = body["assets"]["Ticket"][str(other_case.pk)]
    assert asset["number"] == other_case.number
    assert asset["group_id"] == other_case.department_id
    back = links_of(client, agent, other_case).json()["links"]
    assert back == [{"link_type": "child", "link_object": "Ticket", "link_object_value": case.pk}]
    assert Link.objects.count() == 1


def test_link_twice_is_422_and_remove_works(client: Client, agent, case, other_case) -> None:
    call(client, agent, "post", "/links/add", link_body(case, other_case))
    again = call(client, agent, "post", "/links/add", link_body(case, other_case))
    assert again.status_code == 422
    removed = call(client, agent, "delete", "/links/remove", link_body(case, other_case))
    assert removed.status_code == 200
    assert removed.json() == {}
    assert Link.objects.count() == 0
    gone = call(client, agent, "delete", "/links/remove", link_body(case, other_case))
    assert gone.status_code == 404


def test_remove_takes_the_source_id_as_zammad_py_sends_it(
    client: Client, agent, case, other_case
) -> None:
    services.link(None, case, other_case)
    body = link_body(case, other_case)
    body["link_object_source_number"] = str(other_case.pk)
    response = call(client, agent, "delete", "/links/remove", body)
    assert response.status_code == 200
    assert Link.objects.count() == 0


@pytest.mark.parametrize(
    ("changes", "status"),
    [
        ({"link_type": "sibling"}, 422),
        ({"link_type": 3}, 422),
        ({"link_object_target_value": None}, 422),
        ({"link_object_target_value": "abc"}, 422),
        ({"link_object_target": "User"}, 422),
        ({"link_object_source": "User"}, 422),
        ({"link_object_source_number": None}, 422),
        ({"link_object_source_number": ["1"]}, 422),
        ({"link_object_source_number": "no-such-number"}, 404),
        ({"link_object_target_value": 999999}, 404),
    ],
)
def test_bad_link_input(client: Client, agent, case, other_case, changes, status) -> None:
    response = call(client, agent, "post", "/links/add", {**link_body(case, other_case), **changes})
    assert response.status_code == status, response.content
    assert Link.objects.count() == 0


def test_linking_a_case_to_itself_is_422(client: Client, agent, case) -> None:
    response = call(client, agent, "post", "/links/add", link_body(case, case))
    assert response.status_code == 422


def test_only_visible_links_are_listed(client: Client, dep, case) -> None:
    hidden = TicketFactory(department=DepartmentFactory(tenant=dep.tenant))
    services.link(None, case, hidden)
    reader = AgentFactory(departments={dep: ["read"]})
    body = links_of(client, reader, case).json()
    assert body == {"links": [], "assets": {"Ticket": {}}}


def test_link_to_a_case_of_another_department_needs_read_access(
    client: Client, agent, case, dep
) -> None:
    hidden = TicketFactory(department=DepartmentFactory(tenant=dep.tenant))
    response = call(client, agent, "post", "/links/add", link_body(case, hidden))
    assert response.status_code == 404
    assert Link.objects.count() == 0


# --- permission matrix ------------------------------------------------------------------------

LEVELS = ("read", "overview", "change", "create", "full")
ACTORS = ["admin", *LEVELS, "other", "citizen", "anon"]

# What each actor gets; the access rules are those of tickets.services.require:
# read (list) needs read or full; change needs overview-or-better to see the case
# (else 404) and change or full to act (else 403). Admins hold no case access by role.
EXPECTED: dict[str, dict[str, int]] = {
    "tags_list": {"read": 200, "full": 200},
    "tags_add": {"read": 403, "overview": 403, "full": 201},
    "tags_remove": {"read": 403, "overview": 403, "full": 200},
    "tag_search": {a: 200 for a in ("admin", *LEVELS, "other")},
    "links_list": {"read": 200, "full": 200},
    "links_add": {"read": 403, "full": 201},
    "links_remove": {"read": 403, "full": 200},
}


@pytest.mark.parametrize("actor", ACTORS)
def test_tags_and_links_permission_matrix(client: Client, dep, case, other_case, actor) -> None:
    citizen = case.citizen
    assert citizen is not None
    people: dict[str, User | None] = {
        "admin": AdminFactory(tenant=dep.tenant),
        "other": AgentFactory(departments={DepartmentFactory(tenant=dep.tenant): ["full"]}),
        "citizen": citizen,
        "anon": None,
    }
    for level in LEVELS:
        people[level] = AgentFactory(departments={dep: [level]})
    user = people[actor]
    services.tag(None, case, "Vorhanden")
    requests: dict[str, tuple[str, str, Any]] = {
        "tags_list": ("get", f"/tags?object=Ticket&o_id={case.pk}", None),
        "tags_add": ("post", "/tags/add", tag_body(case, "Neu")),
        "tags_remove": ("delete", "/tags/remove", tag_body(case, "Vorhanden")),
        "tag_search": ("get", "/tag_search?term=vor", None),
        "links_list": ("get", f"/links?link_object=Ticket&link_object_value={case.pk}", None),
        "links_add": ("post", "/links/add", link_body(case, other_case)),
        "links_remove": ("delete", "/links/remove", link_body(case, other_case)),
    }
    for name, (method, path, body) in requests.items():
        if actor == "anon":
            expected = 401
        elif actor == "citizen":
            expected = 403
        else:
            expected = EXPECTED[name].get(actor, 404)
        response = call(client, user, method, path, body)
        assert response.status_code == expected, (actor, name, response.content)
        assert isinstance(response.json(), (dict, list, bool))
    if actor != "full":
        assert list(case.tags.values_list("name", flat=True)) == ["Vorhanden"]
        assert not Link.objects.exists()
