"""/api/v1/object_manager_attributes: admins define custom case attributes (Zammad shape)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from tests.factories import (
    AdminFactory,
    AgentFactory,
    CitizenFactory,
    DepartmentFactory,
    TenantFactory,
)
from vorgang.accounts.models import ApiToken, Role, User
from vorgang.attributes.models import CaseAttribute
from vorgang.tickets import services

pytestmark = pytest.mark.django_db

BASE = "/api/v1/object_manager_attributes"


class Api:
    def __init__(self, client: Client, user: User | None) -> None:
        self.client = client
        self.headers = {"HTTP_AUTHORIZATION": f"Token token={ApiToken.issue(user)}"} if user else {}

    def get(self, path: str) -> Any:
        return self.client.get(path, **self.headers)

    def send(self, method: str, path: str, body: Any = None, raw: str | None = None) -> Any:
        data = raw if raw is not None else json.dumps(body if body is not None else {})
        return getattr(self.client, method)(
            path, data=data, content_type="application/json", **self.headers
        )


@pytest.fixture
def admin(tenant) -> User:
    return AdminFactory(tenant=tenant)


@pytest.fixture
def api(client: Client, admin) -> Api:
    return Api(client, admin)


SELECT = {
    "name": "service_type",
    "object": "Ticket",
    "display": "Leistungsart",
    "display_en": "Service type",
    "data_type": "select",
    "data_option": {
        "options": {"pass": "Reisepass", "ausweis": "Personalausweis"},
        "default": "",
        "null": False,
        "nulloption": True,
    },
    "active": True,
    "position": 1550,
    "screens": {"create_middle": {"-all-": {"shown": True}}},
}


def test_admin_creates_and_reads_an_attribute_in_zammad_shape(api: Api, tenant) -> None:
    response = api.send("post", BASE, SELECT)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["name"] == "service_type"
    assert body["object"] == "Ticket"
    assert body["display"] == "Leistungsart"
    assert body["display_en"] == "Service type"
    assert body["data_type"] == "select"
    assert body["data_option"]["options"] == {"pass": "Reisepass", "ausweis": "Personalausweis"}
    assert body["data_option"]["null"] is False
    assert body["position"] == 1550
    assert body["created_at"].endswith("Z")
    assert response["X-Vorgang-Ignored-Fields"] == "data_option.nulloption, screens"
    created = CaseAttribute.objects.get(pk=body["id"])
    assert created.tenant_id == tenant.pk
    assert created.required is True
    assert created.options == [["pass", "Reisepass"], ["ausweis", "Personalausweis"]]

    assert api.get(f"{BASE}/{body['id']}").json() == body
    listing = api.get(BASE)
    assert listing.status_code == 200
    assert [a["name"] for a in listing.json()] == ["service_type"]


@pytest.mark.parametrize(
    ("data_type", "option", "expected"),
    [
        ("input", {"type": "text", "maxlength": 40}, {"maxlength": 40, "type": "text"}),
        ("multiselect", {"options": {"a": "A", "b": "B"}, "default": ["a"]}, {"multiple": True}),
        ("select", {"options": {"a": "A"}, "multiple": True}, {"multiple": True}),
        ("date", {}, {"default": None}),
        ("datetime", {"future": True, "past": True}, {"future": True}),
        (
            "boolean",
            {"options": {"true": "yes", "false": "no"}, "default": False},
            {"default": False},
        ),
        ("integer", {"min": 0, "max": 4, "default": 1}, {"min": 0, "max": 4, "default": 1}),
    ],
)
def test_every_type_round_trips(api: Api, data_type, option, expected) -> None:
    body = {"name": "field_x", "display": "Feld", "data_type": data_type, "data_option": option}
    response = api.send("post", BASE, body)
    assert response.status_code == 201, response.content
    out = response.json()
    for key, value in expected.items():
        assert out["data_option"][key] == value
    assert out["data_option"]["null"] is True
    ours = CaseAttribute.objects.get(pk=out["id"]).data_type
    assert out["data_type"] == ("input" if ours == "text" else ours)


def test_update_changes_labels_options_and_active(api: Api) -> None:
    created = api.send("post", BASE, SELECT).json()
    response = api.send(
        "put",
        f"{BASE}/{created['id']}",
        {
            "display": "Art der Leistung",
            "active": False,
            "data_option": {"options": {"pass": "Pass", "kinderpass": "Kinderreisepass"}},
        },
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["display"] == "Art der Leistung"
    assert body["display_en"] == "Service type"
    assert body["active"] is False
    assert list(body["data_option"]["options"]) == ["pass", "kinderpass"]
    assert body["data_option"]["null"] is False  # not sent: kept


def test_name_and_type_cannot_change(api: Api) -> None:
    created = api.send("post", BASE, SELECT).json()
    response = api.send("put", f"{BASE}/{created['id']}", {"data_type": "input"})
    assert response.status_code == 422
    assert "type of an attribute cannot change" in response.json()["error_human"]
    response = api.send("put", f"{BASE}/{created['id']}", {"name": "kind"})
    assert response.status_code == 422
    assert CaseAttribute.objects.get(pk=created["id"]).name == "service_type"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({**SELECT, "name": "state_id"}, "built-in case field"),
        ({**SELECT, "name": "Service Type"}, "lowercase letters"),
        ({**SELECT, "object": "User"}, "Only attributes of the object Ticket"),
        ({**SELECT, "data_type": "tree_select"}, "Unsupported data_type"),
        ({**SELECT, "data_option": {"options": {}}}, "at least one option"),
        ({**SELECT, "data_option": {"options": "pass"}}, "data_option.options"),
        ({**SELECT, "data_option": []}, "data_option must be a JSON object"),
        ({**SELECT, "data_option": {"options": {"a": "A"}, "default": "b"}}, "must be one of"),
        ({**SELECT, "active": "yes"}, "active must be true or false"),
        ({**SELECT, "position": "1"}, "position must be a whole number"),
        ({**SELECT, "display": 5}, "display must be text"),
        ({"display": "x", "data_type": "input"}, "name is missing"),
        ({"name": "x", "display": "x"}, "data_type is missing"),
        ({"name": "x", "data_type": "input"}, "display is missing"),
        (
            {
                "name": "n",
                "display": "N",
                "data_type": "integer",
                "data_option": {"min": 5, "max": 1},
            },
            "maximum must not be less",
        ),
        (
            {"name": "n", "display": "N", "data_type": "integer", "data_option": {"min": True}},
            "min must be a whole number",
        ),
    ],
)
def test_bad_definitions_get_422(api: Api, body, message) -> None:
    response = api.send("post", BASE, body)
    assert response.status_code == 422, response.content
    assert set(response.json()) == {"error", "error_human"}
    assert message in response.json()["error_human"]
    assert not CaseAttribute.objects.exists()


def test_malformed_json_and_duplicates_get_422(api: Api) -> None:
    assert api.send("post", BASE, raw="{not json").status_code == 422
    assert api.send("post", BASE, raw="[1, 2]").status_code == 422
    assert api.send("post", BASE, SELECT).status_code == 201
    response = api.send("post", BASE, SELECT)
    assert response.status_code == 422
    assert "already an attribute named service_type" in response.json()["error_human"]


def test_delete_unused_at_once_and_refuse_used(api: Api, tenant) -> None:
    used = api.send("post", BASE, SELECT).json()
    spare = api.send(
        "post", BASE, {"name": "spare", "display": "Frei", "data_type": "boolean"}
    ).json()
    services.create_ticket(
        None,
        department=DepartmentFactory(tenant=tenant),
        title="Antrag",
        attributes={"service_type": "pass"},
    )
    response = api.send("delete", f"{BASE}/{spare['id']}")
    assert response.status_code == 200
    assert response.json() == {}
    assert not CaseAttribute.objects.filter(pk=spare["id"]).exists()
    response = api.send("delete", f"{BASE}/{used['id']}")
    assert response.status_code == 422
    assert "deactivate it instead" in response.json()["error_human"]
    assert CaseAttribute.objects.filter(pk=used["id"]).exists()
    assert api.send("delete", f"{BASE}/{spare['id']}").status_code == 404


def test_execute_migrations_is_a_no_op_that_answers_200(api: Api) -> None:
    created = api.send("post", BASE, SELECT).json()
    response = api.send("post", "/api/v1/object_manager_attributes_execute_migrations")
    assert response.status_code == 200
    assert response.json() == {}
    assert api.get(f"{BASE}/{created['id']}").json()["active"] is True


@pytest.mark.parametrize("role", ["agent", "citizen", "integration"])
def test_non_admins_get_403(client: Client, tenant, role) -> None:
    existing = CaseAttribute.objects.create(
        tenant=tenant, name="urgent", label_de="Dringend", data_type="boolean"
    )
    if role == "agent":
        user = AgentFactory(tenant=tenant, departments={DepartmentFactory(tenant=tenant): ["full"]})
    elif role == "citizen":
        user = CitizenFactory(tenant=tenant)
    else:
        user = AdminFactory(tenant=tenant, role=Role.INTEGRATION)
    api = Api(client, user)
    calls = [
        api.get(BASE),
        api.get(f"{BASE}/{existing.pk}"),
        api.send("post", BASE, SELECT),
        api.send("put", f"{BASE}/{existing.pk}", {"active": False}),
        api.send("delete", f"{BASE}/{existing.pk}"),
        api.send("post", "/api/v1/object_manager_attributes_execute_migrations"),
    ]
    assert [r.status_code for r in calls] == [403] * 6
    assert all(set(r.json()) == {"error", "error_human"} for r in calls)
    existing.refresh_from_db()
    assert existing.active is True
    assert CaseAttribute.objects.count() == 1


def test_anonymous_gets_401(client: Client, tenant) -> None:
    api = Api(client, None)
    assert api.get(BASE).status_code == 401
    assert api.send("post", BASE, SELECT).status_code == 401
    assert (
        api.send("post", "/api/v1/object_manager_attributes_execute_migrations").status_code == 401
    )
    assert not CaseAttribute.objects.exists()


def test_other_tenants_attributes_are_invisible(api: Api) -> None:
    foreign = CaseAttribute.objects.create(
        tenant=TenantFactory(), name="secret", label_de="Geheim", data_type="boolean"
    )
    assert api.get(BASE).json() == []
    assert api.get(f"{BASE}/{foreign.pk}").status_code == 404
    assert api.send("put", f"{BASE}/{foreign.pk}", {"active": False}).status_code == 404
    assert api.send("delete", f"{BASE}/{foreign.pk}").status_code == 404
    foreign.refresh_from_db()
    assert foreign.active is True
    # The same name is free in this tenant.
    assert api.send("post", BASE, {**SELECT, "name": "secret"}).status_code == 201


def test_openapi_describes_the_endpoints(api: Api) -> None:
    schema = api.get("/api/v1/openapi.json").json()
    paths = schema["paths"]
    assert {"get", "post"} <= set(paths["/api/v1/object_manager_attributes"])
    assert {"get", "put", "delete"} <= set(
        paths["/api/v1/object_manager_attributes/{attribute_id}"]
    )
    assert "post" in paths["/api/v1/object_manager_attributes_execute_migrations"]


@pytest.mark.parametrize(
    "body",
    [
        SELECT,
        {
            "name": "docs",
            "display": "Unterlagen",
            "data_type": "multiselect",
            "data_option": {"options": {"a": "A", "b": "B"}, "default": ["b"]},
        },
        {"name": "note_text", "display": "Vermerk", "data_type": "input"},
        {"name": "copies", "display": "Anzahl", "data_type": "integer"},
        {"name": "urgent", "display": "Eilig", "data_type": "boolean"},
        {"name": "due", "display": "Frist", "data_type": "date"},
        {"name": "slot", "display": "Termin", "data_type": "datetime"},
    ],
)
def test_put_of_what_get_returned_changes_nothing(api: Api, body) -> None:
    """Clients often read an attribute, change one field and send the whole object back."""
    created = api.send("post", BASE, body).json()
    response = api.send("put", f"{BASE}/{created['id']}", created)
    assert response.status_code == 200, response.content
    again = response.json()
    assert {k: v for k, v in again.items() if k != "updated_at"} == {
        k: v for k, v in created.items() if k != "updated_at"
    }
