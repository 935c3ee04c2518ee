"""The webhooks' admin: tenant walls, the secret shown once, test events, the read-only log."""

from __future__ import annotations

import pytest
from django.test import Client
from django_tasks_db.models import DBTaskResult

from tests.factories import AdminFactory, AgentFactory, DepartmentFactory, TenantFactory
from vorgang.webhooks.models import DeliveryStatus, Webhook, WebhookDelivery
from vorgang.webhooks.tasks import deliver_webhook

from .conftest import make_webhook

pytestmark = pytest.mark.django_db

HOOKS = "/admin/webhooks/webhook/"
LOG = "/admin/webhooks/webhookdelivery/"


def form(**changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        "name": "Fachverfahren",
        "url": "https://fachverfahren.stadt.example/hooks",
        "events": ["ticket.created", "ticket.state_changed"],
        "secret": "",
        "active": "on",
    }
    data.update(changes)
    return data


@pytest.fixture
def admin_client(client: Client, tenant) -> Client:
    client.force_login(AdminFactory(tenant=tenant))
    return client


def test_new_webhook_gets_a_secret_shown_once(admin_client: Client, tenant) -> None:
    department = DepartmentFactory(tenant=tenant)
    response = admin_client.post(
        f"{HOOKS}add/", form(departments=[department.pk]), follow=True, HTTP_ACCEPT_LANGUAGE="en"
    )

    assert response.status_code == 200
    webhook = Webhook.objects.get()
    assert webhook.tenant_id == tenant.pk
    assert webhook.events == ["ticket.created", "ticket.state_changed"]
    assert list(webhook.departments.all()) == [department]
    assert len(webhook.secret) >= 32
    assert webhook.secret in response.content.decode()  # the message, once

    page = admin_client.get(f"{HOOKS}{webhook.pk}/change/").content.decode()
    assert webhook.secret not in page
    assert webhook.secret_hint in page
    assert 'type="password"' in page


def test_empty_secret_keeps_it_and_a_new_one_replaces_it(admin_client: Client, tenant) -> None:
    webhook = make_webhook("https://a.example/h", ["ticket.created"])
    old = webhook.secret
    response = admin_client.post(f"{HOOKS}{webhook.pk}/change/", form(name="Umbenannt"))
    assert response.status_code == 302, response.content.decode()[:2000]
    webhook.refresh_from_db()
    assert (webhook.name, webhook.secret) == ("Umbenannt", old)

    admin_client.post(f"{HOOKS}{webhook.pk}/change/", form(secret="ein-neues-geheimnis-42"))
    webhook.refresh_from_db()
    assert webhook.secret == "ein-neues-geheimnis-42"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"url": "ftp://fachverfahren.stadt.example/x"}, "http://"),
        ({"url": "file:///etc/passwd"}, "http://"),
        ({"events": []}, "This field is required"),
        ({"events": ["ticket.deleted"]}, "Select a valid choice"),
        ({"secret": "kurz"}, "at least 16"),
    ],
)
def test_bad_input_is_refused(admin_client: Client, changes, message) -> None:
    response = admin_client.post(f"{HOOKS}add/", form(**changes), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Webhook.objects.exists()


def test_filters_offer_only_the_own_tenants_departments(admin_client: Client, tenant) -> None:
    own = DepartmentFactory(tenant=tenant, name="Eigenes Amt")
    DepartmentFactory(tenant=TenantFactory(), name="Fremdes Amt")
    page = admin_client.get(f"{HOOKS}add/").content.decode()
    assert "Eigenes Amt" in page and str(own.pk) in page
    assert "Fremdes Amt" not in page
    response = admin_client.post(
        f"{HOOKS}add/",
        form(departments=[DepartmentFactory(tenant=TenantFactory()).pk]),
    )
    assert response.status_code == 200  # an invalid choice
    assert not Webhook.objects.exists()


def test_send_test_event_action(
    admin_client: Client, receiver, django_capture_on_commit_callbacks
) -> None:
    webhook = make_webhook(receiver.url, ["ticket.created"])
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            HOOKS,
            {"action": "send_test_event", "_selected_action": [webhook.pk]},
            follow=True,
            HTTP_ACCEPT_LANGUAGE="en",
        )
    assert "1 test event queued" in response.content.decode()
    delivery = WebhookDelivery.objects.get()
    assert delivery.event == "webhook.test"
    assert DBTaskResult.objects.filter(args_kwargs__args=[delivery.pk]).exists()
    assert deliver_webhook.call(delivery.pk) == "succeeded"
    assert receiver.requests[0].headers["X-Vorgang-Event"] == "webhook.test"


def test_delivery_log_is_read_only_within_the_tenant(admin_client: Client) -> None:
    own_hook = make_webhook("https://a.example/h", ["ticket.created"], name="Eigener Hook")
    own = WebhookDelivery.objects.create(
        webhook=own_hook,
        event="ticket.created",
        payload={"ticket": {"title": "Antrag von Erika Mustermann"}},
        status=DeliveryStatus.FAILED,
        attempts=8,
        last_status_code=503,
        response_time_ms=87,
        last_error="HTTP 503 Service Unavailable (gave up after 8 attempts)",
    )
    foreign_hook = make_webhook(
        "https://b.example/h", ["ticket.created"], tenant=TenantFactory(), name="Fremder Hook"
    )
    foreign = WebhookDelivery.objects.create(webhook=foreign_hook, event="ticket.created")

    page = admin_client.get(LOG).content.decode()
    assert f"{LOG}{own.pk}/change/" in page
    assert f"{LOG}{foreign.pk}/change/" not in page
    assert "503" in page and "87" in page and "gave up after 8 attempts" in page
    assert "Fremder Hook" not in page  # not even in the webhook filter
    assert admin_client.get(f"{LOG}?webhook={own_hook.pk}").status_code == 200

    detail = admin_client.get(f"{LOG}{own.pk}/change/").content.decode()
    assert str(own.delivery_id) in detail
    assert "Mustermann" not in detail  # the payload holds case content
    assert admin_client.get(f"{LOG}{foreign.pk}/change/").status_code in (302, 404)
    assert admin_client.get(f"{LOG}add/").status_code == 403
    assert admin_client.post(f"{LOG}{own.pk}/delete/").status_code == 403


def test_resend_action(admin_client: Client, django_capture_on_commit_callbacks) -> None:
    hook = make_webhook("https://a.example/h", ["ticket.created"])
    done = WebhookDelivery.objects.create(
        webhook=hook, event="ticket.created", payload={"x": 1}, status=DeliveryStatus.FAILED
    )
    pending = WebhookDelivery.objects.create(webhook=hook, event="ticket.created")
    foreign = WebhookDelivery.objects.create(
        webhook=make_webhook("https://b.example/h", ["ticket.created"], tenant=TenantFactory()),
        event="ticket.created",
        status=DeliveryStatus.FAILED,
    )

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            LOG,
            {"action": "resend", "_selected_action": [done.pk, pending.pk, foreign.pk]},
            follow=True,
            HTTP_ACCEPT_LANGUAGE="en",
        )

    page = response.content.decode()
    assert "1 delivery queued again" in page
    assert "still being attempted" in page
    copies = WebhookDelivery.objects.filter(resent_from__isnull=False)
    assert [(c.resent_from_id, c.payload) for c in copies] == [(done.pk, {"x": 1})]
    assert not WebhookDelivery.objects.filter(resent_from=foreign).exists()


def test_deleting_a_webhook_takes_its_log(admin_client: Client) -> None:
    hook = make_webhook("https://a.example/h", ["ticket.created"])
    WebhookDelivery.objects.create(webhook=hook, event="ticket.created")
    response = admin_client.post(f"{HOOKS}{hook.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Webhook.objects.exists() and not WebhookDelivery.objects.exists()


def test_agents_and_other_tenants_admins_do_not_reach_a_webhook(client: Client) -> None:
    hook = make_webhook("https://a.example/h", ["ticket.created"])
    client.force_login(AgentFactory())
    assert client.get(HOOKS).status_code == 302
    client.force_login(AdminFactory(tenant=TenantFactory()))
    assert client.get(f"{HOOKS}{hook.pk}/change/").status_code in (302, 404)
    assert f"{HOOKS}{hook.pk}/change/" not in client.get(HOOKS).content.decode()
