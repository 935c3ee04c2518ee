"""The online-service API: listing services and submitting to them, status by status."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client

from tests.catalogue.conftest import JPEG, PDF, licence_data
from tests.factories import (
    AdminFactory,
    AgentFactory,
    CitizenFactory,
    DepartmentFactory,
    TenantFactory,
)
from vorgang.accounts import services as accounts
from vorgang.accounts.models import ApiToken, Role, User
from vorgang.catalogue import demo as catalogue_demo
from vorgang.catalogue.models import OnlineService
from vorgang.core import demo as core_demo
from vorgang.tickets.models import Ticket

pytestmark = pytest.mark.django_db

URL = "/api/v1/services"
SUBMIT = f"{URL}/fuehrerscheinantrag/submissions"


@pytest.fixture
def catalogue(tenant) -> dict[str, OnlineService]:
    for spec in core_demo.DEPARTMENTS:
        accounts.create_department(spec.name, address=spec.address, tenant=tenant)
    catalogue_demo.load(tenant)
    return {s.slug: s for s in OnlineService.objects.all()}


@pytest.fixture
def integration(tenant) -> User:
    return accounts.create_user(
        "formserver", email="formserver@stadt.example", role=Role.INTEGRATION, tenant=tenant
    )


def auth(user: User) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Token token={ApiToken.issue(user)}"}


def body(**changes: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "citizen": {
            "email": "lukas.mueller@example.org",
            "firstname": "Lukas",
            "lastname": "Müller",
            "external_id": "bundid:1234",
            "trust_level": "substantial",
        },
        "data": licence_data(),
        "attachments": [
            {
                "filename": "passfoto.jpg",
                "data": base64.b64encode(JPEG).decode(),
                "mime-type": "image/jpeg",
                "document": "photo",
            },
            {
                "filename": "erste-hilfe.pdf",
                "data": base64.b64encode(PDF).decode(),
                "mime-type": "application/pdf",
                "document": "first_aid",
            },
        ],
    }
    values.update(changes)
    return values


def post(client: Client, headers: dict[str, str], payload: Any, url: str = SUBMIT, **extra):
    raw = payload if isinstance(payload, str | bytes) else json.dumps(payload)
    return client.post(url, data=raw, content_type="application/json", **headers, **extra)


# --- reading --------------------------------------------------------------------------------


def test_401_without_a_token(client: Client, catalogue) -> None:
    assert client.get(URL).status_code == 401
    response = post(client, {}, body())
    assert response.status_code == 401
    assert set(response.json()) == {"error", "error_human"}
    assert Ticket.objects.count() == 0


def test_list_of_the_tenants_active_services(client: Client, catalogue, integration) -> None:
    catalogue["anmeldung"].active = False
    catalogue["anmeldung"].save()
    foreign_department = DepartmentFactory(tenant=TenantFactory())
    OnlineService.objects.create(
        tenant=foreign_department.tenant,
        slug="fremd",
        name_de="Fremder Dienst",
        department=foreign_department,
        schema={"type": "object", "properties": {}},
    )
    response = client.get(URL, **auth(integration))
    assert response.status_code == 200
    listed = response.json()
    assert [s["slug"] for s in listed] == ["eheschliessung-auslandsbezug", "fuehrerscheinantrag"]
    licence = listed[1]
    assert {
        "slug",
        "name",
        "department",
        "leika",
        "schema",
        "documents",
        "expected_processing_days",
    } <= set(licence)
    assert licence["name"] == "Führerscheinantrag"
    assert licence["department"] == "Führerscheinstelle"
    assert licence["leika"] == "99086001011000"
    assert licence["expected_processing_days"] == 21
    assert licence["schema"] == catalogue_demo.DRIVING_LICENCE["schema"]
    assert [d["key"] for d in licence["documents"]] == ["photo", "eye_test", "first_aid"]


def test_one_service_and_404s(client: Client, catalogue, integration) -> None:
    headers = auth(integration)
    response = client.get(f"{URL}/eheschliessung-auslandsbezug", **headers)
    assert response.status_code == 200
    assert response.json()["expected_processing_days"] == 42
    missing = client.get(f"{URL}/hundesteuer", **headers)
    assert missing.status_code == 404
    assert missing.json()["error"] == "not found"
    foreign_department = DepartmentFactory(tenant=TenantFactory())
    OnlineService.objects.create(
        tenant=foreign_department.tenant,
        slug="fremd",
        name_de="Fremder Dienst",
        department=foreign_department,
        schema={"type": "object", "properties": {}},
    )
    assert client.get(f"{URL}/fremd", **headers).status_code == 404


# --- submitting --------------------------------------------------------------------------------


def test_201_for_an_integration_account(client: Client, catalogue, integration) -> None:
    response = post(client, auth(integration), body())
    assert response.status_code == 201, response.content
    answer = response.json()
    ticket = Ticket.objects.get()
    assert answer["id"] == ticket.pk
    assert answer["number"] == ticket.number
    assert answer["case_url"].startswith(settings.BASE_URL)
    try:
        import vorgang.portal.links  # noqa: F401
    except ImportError:
        assert answer["case_url"] == f"{settings.BASE_URL}/case/{ticket.number}/"
    assert ticket.service == catalogue["fuehrerscheinantrag"]
    assert ticket.articles.get().kind == "api"
    assert ticket.articles.get().attachments.count() == 2
    assert ticket.citizen.external_id == "bundid:1234"
    assert ticket.citizen.trust_level == "substantial"


def test_201_for_an_admin_403_for_agents_and_citizens(client: Client, catalogue, tenant) -> None:
    assert post(client, auth(AdminFactory(tenant=tenant)), body()).status_code == 201
    agent = AgentFactory(departments={catalogue["fuehrerscheinantrag"].department: ["full"]})
    response = post(client, auth(agent), body())
    assert response.status_code == 403
    assert response.json()["error"] == "forbidden"
    assert post(client, auth(CitizenFactory()), body()).status_code == 403
    assert Ticket.objects.count() == 1


def test_replay_with_the_idempotency_key_is_200_with_the_same_body(
    client: Client, catalogue, integration
) -> None:
    headers = {**auth(integration), "HTTP_IDEMPOTENCY_KEY": "7e1c-0001"}
    first = post(client, headers, body())
    again = post(client, headers, body())
    assert (first.status_code, again.status_code) == (201, 200)
    assert (again.json()["id"], again.json()["number"]) == (
        first.json()["id"],
        first.json()["number"],
    )
    assert again.json()["case_url"].startswith(settings.BASE_URL)
    assert Ticket.objects.count() == 1
    other = post(client, {**headers, "HTTP_IDEMPOTENCY_KEY": "7e1c-0002"}, body())
    assert other.status_code == 201
    assert Ticket.objects.count() == 2


def test_422_with_field_errors(client: Client, catalogue, integration) -> None:
    payload = body(data=licence_data(birth_date=None, licence_class="Z"))
    response = post(client, auth(integration), payload, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 422
    answer = response.json()
    assert answer["error"] == "invalid data"
    assert answer["errors"] == {
        "birth_date": ["Please enter your date of birth."],
        "licence_class": ["Please choose one of the options offered for “Licence class”."],
    }
    assert "Please enter your date of birth." in answer["error_human"]
    german = post(client, auth(integration), payload, HTTP_ACCEPT_LANGUAGE="de")
    assert german.json()["errors"]["birth_date"] == ["Bitte geben Sie Ihr Geburtsdatum an."]
    assert Ticket.objects.count() == 0


def test_422_for_documents_and_citizen(client: Client, catalogue, integration) -> None:
    payload = body(citizen={"firstname": 7}, attachments=[])
    response = post(client, auth(integration), payload, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 422
    assert response.json()["errors"] == {"citizen.firstname": ["firstname must be text."]}
    payload = body(citizen={"lastname": "Müller"}, attachments=[])
    errors = post(client, auth(integration), payload, HTTP_ACCEPT_LANGUAGE="en").json()["errors"]
    assert errors == {
        "citizen.email": ["Please enter your e-mail address."],
        "documents.photo": ["Please upload “Biometric passport photo”."],
        "documents.first_aid": ["Please upload “First-aid course certificate”."],
    }


def test_422_for_invalid_base64(client: Client, catalogue, integration) -> None:
    payload = body()
    payload["attachments"][0]["data"] = "das ist kein base64!"
    response = post(client, auth(integration), payload, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 422
    assert response.json()["errors"] == {"attachments.0.data": ["data is not valid base64."]}
    assert Ticket.objects.count() == 0


def test_400_for_invalid_json(client: Client, catalogue, integration) -> None:
    response = post(client, auth(integration), '{"citizen": ', HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid JSON",
        "error_human": "The request body is not valid JSON (line 1, column 13: Expecting value).",
    }
    assert post(client, auth(integration), "[1, 2]").status_code == 400


def test_413_from_content_length_and_from_decoded_size(
    client: Client, catalogue, integration, settings
) -> None:
    response = post(client, auth(integration), body(), CONTENT_LENGTH=str(10**12))
    assert response.status_code == 413
    assert response.json()["error"] == "too large"
    settings.VORGANG_SUBMISSION_MAX_BYTES = 300
    response = post(client, auth(integration), body(), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 413
    assert "the limit for all files is 300 B" in response.json()["error_human"]
    assert Ticket.objects.count() == 0


def test_415_for_other_content(client: Client, catalogue, integration) -> None:
    response = client.post(SUBMIT, data="x=1", content_type="text/plain", **auth(integration))
    assert response.status_code == 415


def test_multipart_with_files_named_by_document(client: Client, catalogue, integration) -> None:
    payload = body()
    del payload["attachments"]
    response = client.post(
        SUBMIT,
        {
            "payload": json.dumps(payload),
            "photo": SimpleUploadedFile("passfoto.jpg", JPEG, "image/jpeg"),
            "first_aid": SimpleUploadedFile("erste-hilfe.pdf", PDF, "application/pdf"),
            "attachments": SimpleUploadedFile("anschreiben.pdf", PDF, "application/pdf"),
        },
        **auth(integration),
        HTTP_IDEMPOTENCY_KEY="multi-1",
    )
    assert response.status_code == 201, response.content
    ticket = Ticket.objects.get()
    names = sorted(ticket.articles.get().attachments.values_list("filename", flat=True))
    assert names == ["anschreiben.pdf", "erste-hilfe.pdf", "passfoto.jpg"]
    missing_payload = client.post(SUBMIT, {"x": "1"}, **auth(integration))
    assert missing_payload.status_code == 400


def test_tenant_wall_for_submissions(client: Client, catalogue, tenant) -> None:
    other = TenantFactory()
    outsider = accounts.create_user(
        "fremd", email="fremd@anderswo.example", role=Role.INTEGRATION, tenant=other
    )
    response = post(client, auth(outsider), body())
    assert response.status_code == 404
    assert client.get(f"{URL}/fuehrerscheinantrag", **auth(outsider)).status_code == 404
    assert client.get(URL, **auth(outsider)).json() == []
    assert Ticket.objects.count() == 0


def test_inactive_service_is_404(client: Client, catalogue, integration) -> None:
    service = catalogue["fuehrerscheinantrag"]
    service.active = False
    service.save()
    assert post(client, auth(integration), body()).status_code == 404


def test_html_in_data_is_stored_as_text(client: Client, catalogue, integration) -> None:
    payload = body(data=licence_data(first_name="<img src=x onerror=alert(1)>"))
    assert post(client, auth(integration), payload).status_code == 201
    assert Ticket.objects.get().data["first_name"] == "<img src=x onerror=alert(1)>"


def test_openapi_documents_the_endpoints(client: Client) -> None:
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    assert "/api/v1/services" in paths
    assert "/api/v1/services/{slug}/submissions" in paths
    post_op = paths["/api/v1/services/{slug}/submissions"]["post"]
    assert "multipart/form-data" in post_op["requestBody"]["content"]


def test_user_command_creates_integration_accounts(tenant) -> None:
    call_command(
        "user",
        "create",
        "formular-server",
        "--email",
        "fs@stadt.example",
        "--role",
        "integration",
        "--no-input",
    )
    assert User.objects.get(username="formular-server").role == Role.INTEGRATION
