"""Attribute definitions: names (reserved, format, unique per tenant), options, defaults,
and the configuration admin (tenant walls, admins only, fixed name and type, delete)."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from tests.factories import AdminFactory, AgentFactory, DepartmentFactory, TenantFactory
from vorgang.attributes import reserved
from vorgang.attributes.models import CaseAttribute
from vorgang.tickets import services

from .conftest import make_attribute

pytestmark = pytest.mark.django_db


def errors_of(tenant, **fields: Any) -> dict[str, list[str]]:
    attribute = CaseAttribute(tenant=tenant, label_de="Feld", **fields)
    with pytest.raises(ValidationError) as caught:
        attribute.full_clean()
    return caught.value.message_dict


@pytest.mark.parametrize(
    "name",
    [
        "title",
        "group",
        "group_id",
        "state",
        "priority_id",
        "owner",
        "customer_id",
        "organization",
        "number",
        "id",
        "article",
        "tags",
        "pending_time",
        "note",
        "created_at",
        "updated_at",
        "department",
        "citizen",
        "attributes",
        "service_id",
        "tag_ids",
        "select",
        "constructor",
    ],
)
def test_reserved_names_are_refused(tenant, name) -> None:
    assert reserved.is_reserved(name)
    assert (
        "built-in case field or reserved"
        in errors_of(tenant, name=name, data_type="text")["name"][0]
    )


@pytest.mark.parametrize("name", ["Service", "1st", "_x", "a-b", "straße", "a b", "x" * 41, ""])
def test_malformed_names_are_refused(tenant, name) -> None:
    assert "name" in errors_of(tenant, name=name, data_type="text")


def test_name_is_unique_per_tenant_only(tenant) -> None:
    make_attribute(tenant, "service_type", "text")
    assert (
        "already an attribute"
        in errors_of(tenant, name="service_type", data_type="text")["name"][0]
    )
    make_attribute(TenantFactory(), "service_type", "text")  # another tenant: fine
    assert CaseAttribute.objects.filter(name="service_type").count() == 2


def test_choice_types_need_options_and_others_have_none(tenant) -> None:
    assert "at least one option" in errors_of(tenant, name="kind", data_type="select")["options"][0]
    assert "options" in errors_of(tenant, name="kinds", data_type="multiselect", options=[])
    assert (
        "Only single and multiple"
        in errors_of(tenant, name="note_text", data_type="text", options=[["a", "A"]])["options"][0]
    )
    assert (
        "twice"
        in errors_of(tenant, name="kind", data_type="select", options=[["a", "A"], ["a", "B"]])[
            "options"
        ][0]
    )
    assert (
        "must not contain"
        in errors_of(tenant, name="kind", data_type="select", options=[["a=b", "A"]])["options"][0]
    )


def test_default_must_fit_the_type(tenant) -> None:
    assert (
        "must be one of"
        in errors_of(tenant, name="kind", data_type="select", options=[["a", "A"]], default="b")[
            "default"
        ][0]
    )
    assert (
        "between 1 and 3"
        in errors_of(
            tenant, name="copies", data_type="integer", min_value=1, max_value=3, default=7
        )["default"][0]
    )
    assert (
        "no default"
        in errors_of(tenant, name="due", data_type="date", default="2030-01-01")["default"][0]
    )


def test_bounds_fit_the_type(tenant) -> None:
    assert "max_value" in errors_of(tenant, name="n", data_type="integer", min_value=5, max_value=1)
    assert "max_length" in errors_of(tenant, name="t", data_type="text", max_length=10_000)
    assert "min_value" in errors_of(tenant, name="t", data_type="text", min_value=1)


def test_name_and_type_are_fixed_once_created(tenant) -> None:
    attribute = make_attribute(tenant, "urgent", "boolean")
    attribute.name = "dringend"
    attribute.data_type = "text"
    with pytest.raises(ValidationError) as caught:
        attribute.full_clean()
    assert set(caught.value.message_dict) >= {"name", "data_type"}


# --- the configuration admin ---------------------------------------------------------------


@pytest.fixture
def admin_client(client: Client, tenant) -> Client:
    client.force_login(AdminFactory(tenant=tenant))
    return client


def form(**changes: str) -> dict[str, str]:
    values = {
        "name": "service_type",
        "label_de": "Leistungsart",
        "label_en": "Service type",
        "data_type": "select",
        "options": "pass = Reisepass\nausweis = Personalausweis\nsonstiges",
        "default": "",
        "max_length": "",
        "min_value": "",
        "max_value": "",
        "active": "on",
        "position": "10",
    }
    values.update(changes)
    return values


ADD = "/admin/attributes/caseattribute/add/"


def test_admin_creates_an_attribute_in_its_tenant(admin_client: Client, tenant) -> None:
    response = admin_client.post(ADD, form(default="ausweis"))
    assert response.status_code == 302, response.content.decode()[:2000]
    created = CaseAttribute.objects.get(name="service_type")
    assert created.tenant_id == tenant.pk
    assert created.options == [
        ["pass", "Reisepass"],
        ["ausweis", "Personalausweis"],
        ["sonstiges", "sonstiges"],
    ]
    assert created.default == "ausweis"
    page = admin_client.get(
        f"/admin/attributes/caseattribute/{created.pk}/change/"
    ).content.decode()
    assert "pass = Reisepass" in page
    assert 'name="name"' not in page  # fixed once created


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"name": "state_id"}, "built-in case field"),
        ({"options": ""}, "at least one option"),
        ({"data_type": "integer", "options": "", "default": "zwei"}, "whole number"),
        ({"data_type": "boolean", "options": "", "default": "ja"}, "true or false"),
    ],
)
def test_admin_refuses_bad_definitions(admin_client: Client, changes, message) -> None:
    response = admin_client.post(ADD, form(**changes), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not CaseAttribute.objects.exists()


def test_admin_typed_defaults(admin_client: Client) -> None:
    response = admin_client.post(
        ADD, form(name="copies", data_type="integer", options="", default="3", min_value="1")
    )
    assert response.status_code == 302
    response = admin_client.post(
        ADD,
        form(name="docs", data_type="multiselect", options="a\nb\nc", default="a, c"),
    )
    assert response.status_code == 302
    assert CaseAttribute.objects.get(name="copies").default == 3
    assert CaseAttribute.objects.get(name="docs").default == ["a", "c"]


def test_admin_sees_only_its_tenant_and_agents_see_nothing(client: Client, tenant) -> None:
    own = make_attribute(tenant, "urgent", "boolean")
    foreign = make_attribute(TenantFactory(), "secret_flag", "boolean")
    client.force_login(AdminFactory(tenant=tenant))
    listing = client.get("/admin/attributes/caseattribute/").content.decode()
    assert "urgent" in listing
    assert "secret_flag" not in listing
    assert client.get(f"/admin/attributes/caseattribute/{foreign.pk}/change/").status_code in (
        302,
        404,
    )
    client.force_login(AgentFactory(tenant=tenant))
    assert client.get("/admin/attributes/caseattribute/").status_code in (302, 403)
    assert client.get(f"/admin/attributes/caseattribute/{own.pk}/change/").status_code in (
        302,
        403,
    )


def test_admin_cannot_delete_an_attribute_in_use(admin_client: Client, tenant) -> None:
    used = make_attribute(tenant, "urgent", "boolean")
    unused = make_attribute(tenant, "spare", "boolean")
    services.create_ticket(
        None,
        department=DepartmentFactory(tenant=tenant),
        title="Antrag",
        attributes={"urgent": True},
    )
    response = admin_client.post(
        f"/admin/attributes/caseattribute/{used.pk}/delete/", {"post": "yes"}
    )
    assert response.status_code == 403
    assert CaseAttribute.objects.filter(pk=used.pk).exists()
    response = admin_client.post(
        f"/admin/attributes/caseattribute/{unused.pk}/delete/", {"post": "yes"}
    )
    assert response.status_code == 302
    assert not CaseAttribute.objects.filter(pk=unused.pk).exists()
