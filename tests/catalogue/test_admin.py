"""Online services in the configuration admin: the tenant's own, checked on save."""

from __future__ import annotations

import json
from html import unescape
from typing import Any

import pytest
from django.test import Client

from tests.factories import AdminFactory, DepartmentFactory, TenantFactory
from vorgang.catalogue import demo as catalogue_demo
from vorgang.catalogue.models import OnlineService

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client: Client, tenant) -> Client:
    client.force_login(AdminFactory(tenant=tenant))
    return client


def form_data(service: dict[str, Any], department_id: int, **changes: Any) -> dict[str, str]:
    values = {
        "slug": service["slug"],
        "name_de": service["name_de"],
        "name_en": service["name_en"],
        "description_de": service["description_de"],
        "description_en": service["description_en"],
        "leika": service["leika"],
        "department": str(department_id),
        "active": "on",
        "processing_time": service["processing_time"],
        "processing_days": str(service["processing_days"]),
        "confirmation_de": service["confirmation_de"],
        "confirmation_en": service["confirmation_en"],
        "schema": json.dumps(service["schema"]),
        "ui": json.dumps(service["ui"]),
        "documents": json.dumps(service["documents"]),
    }
    values.update(changes)
    return values


def test_admin_sees_only_its_tenants_services(admin_client: Client, demo_services) -> None:
    foreign_department = DepartmentFactory(tenant=TenantFactory())
    foreign = OnlineService.objects.create(
        tenant=foreign_department.tenant,
        slug="fremd",
        name_de="Fremder Dienst",
        department=foreign_department,
        schema={"type": "object", "properties": {}},
    )
    page = admin_client.get("/admin/catalogue/onlineservice/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Führerscheinantrag" in html
    assert "Fremder Dienst" not in html
    change = admin_client.get(f"/admin/catalogue/onlineservice/{foreign.pk}/change/")
    assert change.status_code in (302, 404)


def test_json_is_shown_pretty_printed(admin_client: Client, licence: OnlineService) -> None:
    page = admin_client.get(f"/admin/catalogue/onlineservice/{licence.pk}/change/")
    html = unescape(page.content.decode())
    assert '{\n  "$schema": "https://json-schema.org/draft/2020-12/schema",' in html
    assert "Biometrisches Passfoto" in html


def test_new_service_is_checked_and_lands_in_the_admins_tenant(
    admin_client: Client, departments, tenant
) -> None:
    definition = {**catalogue_demo.REGISTRATION, "slug": "ummeldung", "name_de": "Ummeldung"}
    response = admin_client.post(
        "/admin/catalogue/onlineservice/add/", form_data(definition, departments["bb"].pk)
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    created = OnlineService.objects.get(slug="ummeldung")
    assert created.tenant_id == tenant.pk
    assert created.ui == catalogue_demo.REGISTRATION["ui"]


def test_invalid_definition_is_refused_with_the_checks_message(
    admin_client: Client, departments
) -> None:
    ui = {"order": ["first_name", "shoe_size"]}
    response = admin_client.post(
        "/admin/catalogue/onlineservice/add/",
        form_data(catalogue_demo.REGISTRATION, departments["bb"].pk, ui=json.dumps(ui)),
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 200
    html = unescape(response.content.decode())
    assert "\"order\" names 'shoe_size', which is not a property of the schema." in html
    assert not OnlineService.objects.exists()


def test_broken_json_and_taken_slug(admin_client: Client, demo_services, departments) -> None:
    response = admin_client.post(
        "/admin/catalogue/onlineservice/add/",
        form_data(catalogue_demo.REGISTRATION, departments["bb"].pk, schema="{kaputt"),
    )
    assert response.status_code == 200
    assert OnlineService.objects.count() == 3
    response = admin_client.post(
        "/admin/catalogue/onlineservice/add/",
        form_data(catalogue_demo.REGISTRATION, departments["bb"].pk),
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 200
    assert "Another online service has the short name anmeldung." in unescape(
        response.content.decode()
    )
    assert OnlineService.objects.count() == 3


def test_department_of_another_tenant_is_not_offered(admin_client: Client, departments) -> None:
    foreign = DepartmentFactory(tenant=TenantFactory())
    response = admin_client.post(
        "/admin/catalogue/onlineservice/add/",
        form_data(catalogue_demo.REGISTRATION, foreign.pk),
    )
    assert response.status_code == 200
    assert not OnlineService.objects.exists()
