"""The webhook endpoints of the API: admins only, tenant walls, bad input as 422."""

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
from vorgang.accounts import services as accounts
from vorgang.accounts.models import ApiToken, Role, User
from vorgang.catalogue.models import OnlineService
from vorgang.webhooks.models import DeliveryStatus, Webhook, WebhookDelivery

from .conftest import make_webhook

pytestmark = pytest.mark.django_db

URL = "/api/v1/webhooks"


def auth(user: User) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Token token={ApiToken.issue(user)}"}


def send(client: Client, method: str, url: str, headers: dict[str, str], body: Any = None):
    raw = body if isinstance(body, str | bytes) or body is None else json.dumps(body)
    call = getattr(client, method)
    if raw is None:
        return call(url, **headers)
    return call(url, data=raw, content_type="application/json", **headers)


def valid(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Fachverfahren Führerschein",
        "url": "https://fachverfahren.stadt.example/hooks/vorgang",
        "events": ["ticket.created", "citizen.replied"],
    }
    body.update(changes)
    return body


@pytest.fixture
def admin(tenant) -> User:
    user: User = AdminFactory(tenant=tenant)
    return user


@pytest.fixture
def hook(tenant) -> Webhook:
    return make_webhook("http://127.0.0.1:9/x", ["ticket.created"])


@pytest.fixture
def delivery(hook) -> WebhookDelivery:
    return WebhookDelivery.objects.create(
        webhook=hook,
        event="ticket.created",
        payload={"event": "ticket.created", "ticket": {"title": "Antrag von Erika"}},
        status=DeliveryStatus.FAILED,
        attempts=8,
        last_status_code=503,
        response_time_ms=12,
        last_error="HTTP 503 (gave up after 8 attempts)",
    )


def every_endpoint(hook: Webhook, delivery: WebhookDelivery) -> list[tuple[str, str, Any]]:
    return [
        ("get", URL, None),
        ("post", URL, valid()),
        ("get", f"{URL}/{hook.pk}", None),
        ("put", f"{URL}/{hook.pk}", {"name": "Umbenannt"}),
        ("get", f"{URL}/{hook.pk}/deliveries", None),
        ("post", f"/api/v1/webhook_deliveries/{delivery.pk}/resend", None),
        ("delete", f"{URL}/{hook.pk}", None),
    ]


@pytest.mark.parametrize("role", ["agent", "citizen", "integration", "anonymous"])
def test_only_admins_reach_the_endpoints(client: Client, tenant, hook, delivery, role) -> None:
    department = DepartmentFactory(tenant=tenant)
    users = {
        # An agent with full access to every department is still no admin.
        "agent": lambda: AgentFactory(tenant=tenant, departments={department: ["full"]}),
        "citizen": lambda: CitizenFactory(tenant=tenant),
        "integration": lambda: accounts.create_user(
            "formserver", email="fs@stadt.example", role=Role.INTEGRATION, tenant=tenant
        ),
    }
    headers = auth(users[role]()) if role in users else {}
    expected = 401 if role == "anonymous" else 403
    for method, url, body in every_endpoint(hook, delivery):
        response = send(client, method, url, headers, body)
        assert response.status_code == expected, (method, url, response.content)
        assert set(response.json()) == {"error", "error_human"}
    assert Webhook.objects.count() == 1
    assert Webhook.objects.get().name == "Fachverfahren"
    assert WebhookDelivery.objects.count() == 1


def test_admin_reaches_every_endpoint(client: Client, admin, hook, delivery) -> None:
    headers = auth(admin)
    statuses = [
        send(client, method, url, headers, body).status_code
        for method, url, body in every_endpoint(hook, delivery)
    ]
    assert statuses == [200, 201, 200, 200, 200, 201, 200]


def test_create_shows_the_secret_once(client: Client, admin, tenant) -> None:
    department = DepartmentFactory(tenant=tenant, name="Führerscheinstelle")
    service = OnlineService.objects.create(
        tenant=tenant,
        slug="fuehrerscheinantrag",
        name_de="Führerscheinantrag",
        department=department,
        schema={"type": "object", "properties": {}},
    )
    headers = auth(admin)
    body = valid(department_ids=["Führerscheinstelle"], service_ids=[service.pk])

    created = send(client, "post", URL, headers, body)

    assert created.status_code == 201, created.content
    data = created.json()
    webhook = Webhook.objects.get()
    assert data["id"] == webhook.pk
    assert data["secret"] == webhook.secret and len(webhook.secret) >= 32
    assert data["secret_hint"] == "…" + webhook.secret[-4:]
    assert data["events"] == ["ticket.created", "citizen.replied"]
    assert (data["department_ids"], data["service_ids"]) == ([department.pk], [service.pk])
    assert data["active"] is True
    assert data["created_at"].endswith("Z")
    assert webhook.tenant_id == admin.tenant_id

    shown = send(client, "get", f"{URL}/{webhook.pk}", headers).json()
    assert shown["secret"] is None
    assert webhook.secret not in json.dumps(shown)
    listed = send(client, "get", URL, headers).json()
    assert [w["id"] for w in listed] == [webhook.pk]
    assert webhook.secret not in json.dumps(listed)


def test_given_secret_is_kept(client: Client, admin) -> None:
    secret = "s" * 20
    response = send(client, "post", URL, auth(admin), valid(secret=secret))
    assert response.status_code == 201
    assert Webhook.objects.get().secret == secret


def test_update_changes_only_the_fields_given(client: Client, admin, hook, tenant) -> None:
    department = DepartmentFactory(tenant=tenant)
    old_secret = hook.secret
    response = send(
        client,
        "put",
        f"{URL}/{hook.pk}",
        auth(admin),
        {"events": ["ticket.state_changed"], "department_ids": [department.pk]},
    )
    assert response.status_code == 200, response.content
    hook.refresh_from_db()
    assert hook.events == ["ticket.state_changed"]
    assert hook.name == "Fachverfahren" and hook.secret == old_secret
    assert list(hook.departments.all()) == [department]
    assert response.json()["secret"] is None

    send(client, "put", f"{URL}/{hook.pk}", auth(admin), {"secret": "n" * 24, "active": False})
    hook.refresh_from_db()
    assert (hook.secret, hook.active) == ("n" * 24, False)


def test_delete_removes_the_hook_and_its_log(client: Client, admin, hook, delivery) -> None:
    response = send(client, "delete", f"{URL}/{hook.pk}", auth(admin))
    assert (response.status_code, response.json()) == (200, {})
    assert not Webhook.objects.exists()
    assert not WebhookDelivery.objects.exists()
    assert send(client, "get", f"{URL}/{hook.pk}", auth(admin)).status_code == 404


def test_deliveries_are_listed_without_payload(client: Client, admin, hook, delivery) -> None:
    newer = WebhookDelivery.objects.create(webhook=hook, event="ticket.created", payload={})
    response = send(client, "get", f"{URL}/{hook.pk}/deliveries", auth(admin))
    assert response.status_code == 200
    listed = response.json()
    assert [d["id"] for d in listed] == [newer.pk, delivery.pk]
    old = listed[1]
    assert old["delivery_id"] == str(delivery.delivery_id)
    assert (old["status"], old["attempts"], old["last_status_code"]) == ("failed", 8, 503)
    assert old["response_time_ms"] == 12
    assert "gave up" in old["last_error"]
    assert "payload" not in old
    assert "Erika" not in response.content.decode()
    page2 = send(client, "get", f"{URL}/{hook.pk}/deliveries?page=2&per_page=1", auth(admin))
    assert [d["id"] for d in page2.json()] == [delivery.pk]
    past_end = send(client, "get", f"{URL}/{hook.pk}/deliveries?page=3&per_page=1", auth(admin))
    assert past_end.json() == []


def test_resend(client: Client, admin, delivery, django_capture_on_commit_callbacks) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = send(
            client, "post", f"/api/v1/webhook_deliveries/{delivery.pk}/resend", auth(admin)
        )
    assert response.status_code == 201
    copy = WebhookDelivery.objects.get(pk=response.json()["id"])
    assert copy.resent_from_id == delivery.pk
    assert copy.payload == delivery.payload
    assert response.json()["status"] == "pending"

    # The copy is still pending: it cannot be re-sent yet.
    again = send(client, "post", f"/api/v1/webhook_deliveries/{copy.pk}/resend", auth(admin))
    assert again.status_code == 422
    assert "still being attempted" in again.json()["error_human"]


def test_resend_of_an_inactive_hook_is_refused(client: Client, admin, hook, delivery) -> None:
    hook.active = False
    hook.save()
    response = send(client, "post", f"/api/v1/webhook_deliveries/{delivery.pk}/resend", auth(admin))
    assert response.status_code == 422
    assert "inactive" in response.json()["error_human"]


def test_other_tenants_hooks_and_deliveries_are_not_found(client: Client, hook, delivery) -> None:
    foreign_admin = AdminFactory(tenant=TenantFactory())
    headers = auth(foreign_admin)
    for method, url, body in every_endpoint(hook, delivery)[2:]:
        assert send(client, method, url, headers, body).status_code == 404, (method, url)
    assert send(client, "get", URL, headers).json() == []
    hook.refresh_from_db()
    assert hook.name == "Fachverfahren"


BAD_BODIES: list[tuple[Any, str]] = [
    (valid(url="ftp://fachverfahren.stadt.example/x"), "url"),
    (valid(url="file:///etc/passwd"), "url"),
    (valid(url="javascript:alert(1)"), "url"),
    (valid(url="nicht eine URL"), "url"),
    (valid(url="https://"), "url"),
    (valid(events=["ticket.deleted"]), "ticket.deleted"),
    (valid(events=[]), "events"),
    (valid(events="ticket.created"), "events"),
    (valid(secret="kurz"), "secret"),
    (valid(name=""), "name"),
    (valid(active="yes"), "active"),
    (valid(department_ids=[999999]), "999999"),
    (valid(department_ids=["Gibt es nicht"]), "Gibt es nicht"),
    (valid(service_ids=["unbekannt"]), "unbekannt"),
    (valid(colour="blue"), "colour"),
    ({"name": "ohne URL", "events": ["ticket.created"]}, "url"),
    ("{not json", "JSON"),
    ("[1, 2]", "JSON object"),
]


@pytest.mark.parametrize(("body", "named"), BAD_BODIES)
def test_bad_input_is_a_422_that_names_the_problem(client: Client, admin, body, named) -> None:
    response = send(client, "post", URL, auth(admin), body)
    assert response.status_code == 422, response.content
    assert named in response.json()["error_human"]
    assert not Webhook.objects.exists()


def test_department_of_another_tenant_is_unknown(client: Client, admin) -> None:
    foreign = DepartmentFactory(tenant=TenantFactory())
    response = send(client, "post", URL, auth(admin), valid(department_ids=[foreign.pk]))
    assert response.status_code == 422
    assert not Webhook.objects.exists()


def test_bad_update_changes_nothing(client: Client, admin, hook) -> None:
    response = send(
        client, "put", f"{URL}/{hook.pk}", auth(admin), {"name": "Neu", "url": "ftp://x.example"}
    )
    assert response.status_code == 422
    hook.refresh_from_db()
    assert (hook.name, hook.url) == ("Fachverfahren", "http://127.0.0.1:9/x")


def test_openapi_describes_the_endpoints(client: Client) -> None:
    schema = client.get("/api/v1/openapi.json").json()
    assert {"/api/v1/webhooks", "/api/v1/webhooks/{webhook_id}"} <= set(schema["paths"])
    post = schema["paths"]["/api/v1/webhooks"]["post"]
    body = post["requestBody"]["content"]["application/json"]["schema"]
    assert {"name", "url", "events"} <= set(body["required"])
