"""A receiver that hangs never slows the request that created the case.

Real commits (transactional_db), so the after-commit event runs inside the request
as in production, with the database task backend: the request only writes the
delivery and its task row; the worker meets the hanging receiver later.
"""

from __future__ import annotations

import base64
import json
import time

import pytest
from django.test import Client
from django_tasks_db.models import DBTaskResult

from tests.catalogue.conftest import JPEG, PDF, licence_data
from vorgang.accounts import services as accounts
from vorgang.accounts.models import ApiToken, Role
from vorgang.catalogue import demo as catalogue_demo
from vorgang.core import demo as core_demo
from vorgang.tickets.models import Ticket
from vorgang.webhooks.models import DeliveryStatus, WebhookDelivery
from vorgang.webhooks.tasks import deliver_webhook

from .conftest import make_webhook

pytestmark = pytest.mark.django_db(transaction=True)

HANG_SECONDS = 30  # the receiver holds each request this long unless released


def submission() -> dict[str, object]:
    return {
        "citizen": {"email": "lukas.mueller@example.org", "firstname": "Lukas"},
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


def test_case_creation_returns_while_the_receiver_hangs(
    client: Client, tenant, receiver, settings
) -> None:
    for spec in core_demo.DEPARTMENTS:
        accounts.create_department(spec.name, address=spec.address, tenant=tenant)
    catalogue_demo.load(tenant)
    formserver = accounts.create_user(
        "formserver", email="formserver@stadt.example", role=Role.INTEGRATION, tenant=tenant
    )
    make_webhook(receiver.url, ["ticket.created", "article.created"])
    receiver.hang = True

    started = time.monotonic()
    response = client.post(
        "/api/v1/services/fuehrerscheinantrag/submissions",
        data=json.dumps(submission()),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Token token={ApiToken.issue(formserver)}",
    )
    took = time.monotonic() - started

    assert response.status_code == 201, response.content
    ticket = Ticket.objects.get()
    # The request did not wait for the receiver (which would hold it HANG_SECONDS).
    assert took < HANG_SECONDS / 3
    assert not receiver.arrived.is_set()
    deliveries = list(WebhookDelivery.objects.order_by("pk"))
    assert sorted(d.event for d in deliveries) == ["article.created", "ticket.created"]
    assert all(d.status == DeliveryStatus.PENDING and d.attempts == 0 for d in deliveries)
    assert all(d.payload["ticket"]["id"] == ticket.pk for d in deliveries)
    queued = DBTaskResult.objects.filter(task_path="vorgang.webhooks.tasks.deliver_webhook")
    assert sorted(t.args_kwargs["args"][0] for t in queued) == [d.pk for d in deliveries]

    # The worker does meet the hanging receiver: a timeout, and a retry later.
    settings.VORGANG_WEBHOOK_TIMEOUT = 0.5
    assert deliver_webhook.call(deliveries[0].pk) == "retry"
    assert receiver.arrived.is_set()
    deliveries[0].refresh_from_db()
    assert deliveries[0].last_error == "timed out"
