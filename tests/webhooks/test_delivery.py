"""Deliveries against a real HTTP receiver: signature, delivery id, retries, backoff, limits.

The tasks run on the database backend (the default): events enqueue a task row, the
tests run the task function directly. Backoff is not waited for: the test reads the
computed next attempt, sets the clock there and runs the task again.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from datetime import timedelta

import pytest
from django_tasks_db.models import DBTaskResult

from tests.factories import TicketFactory
from vorgang.core import clock, scheduler
from vorgang.webhooks import dispatch, sending
from vorgang.webhooks.models import DeliveryStatus, WebhookDelivery
from vorgang.webhooks.tasks import deliver_webhook

from .conftest import SECRET, make_webhook

pytestmark = pytest.mark.django_db

TASK_PATH = "vorgang.webhooks.tasks.deliver_webhook"


def queued_tasks() -> list[DBTaskResult]:
    return list(DBTaskResult.objects.filter(task_path=TASK_PATH).order_by("enqueued_at"))


def new_case(commit, **kwargs):
    with commit(execute=True):
        return TicketFactory(**kwargs)


def only_delivery() -> WebhookDelivery:
    (delivery,) = WebhookDelivery.objects.all()
    return delivery


def at(monkeypatch, moment) -> None:
    """Pin the clock the delivery code reads."""
    monkeypatch.setattr(clock, "now", lambda: moment)


def test_new_case_is_delivered_signed_with_its_delivery_id(
    receiver, department, django_capture_on_commit_callbacks
) -> None:
    make_webhook(receiver.url, ["ticket.created"])
    ticket = new_case(django_capture_on_commit_callbacks, department=department)

    delivery = only_delivery()
    assert delivery.event == "ticket.created"
    assert delivery.status == DeliveryStatus.PENDING
    assert [t.args_kwargs["args"] for t in queued_tasks()] == [[delivery.pk]]
    assert receiver.requests == []  # nothing is sent before the worker runs the task

    assert deliver_webhook.call(delivery.pk) == "succeeded"

    (request,) = receiver.requests
    assert request.path == "/hooks/vorgang"
    assert request.headers["Content-Type"] == "application/json; charset=utf-8"
    assert request.headers["User-Agent"].startswith("Vorgang-Webhook/")
    assert request.headers["X-Vorgang-Event"] == "ticket.created"
    assert request.headers["X-Vorgang-Delivery"] == str(delivery.delivery_id)
    expected = hmac.new(SECRET.encode(), request.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(request.headers["X-Vorgang-Signature"], f"sha256={expected}")
    expected_sha1 = hmac.new(SECRET.encode(), request.body, hashlib.sha1).hexdigest()
    assert request.headers["X-Hub-Signature"] == f"sha1={expected_sha1}"
    wrong = hmac.new(b"another secret", request.body, hashlib.sha256).hexdigest()
    assert request.headers["X-Vorgang-Signature"] != f"sha256={wrong}"

    body = json.loads(request.body)
    assert body["delivery_id"] == str(delivery.delivery_id)
    assert body["event"] == "ticket.created"
    case = body["ticket"]
    assert case["id"] == ticket.pk
    assert case["number"] == ticket.number and isinstance(case["number"], str)
    assert (case["group_id"], case["group"]) == (department.pk, "Führerscheinstelle")
    assert (case["state"], case["priority"]) == ("new", "2 normal")
    assert case["customer_id"] == ticket.citizen_id
    assert case["created_at"].endswith("Z") and len(case["created_at"]) == 24
    assert body["article"] is None and body["changes"] == {}

    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SUCCEEDED
    assert delivery.attempts == 1
    assert delivery.last_status_code == 200
    assert delivery.response_time_ms is not None
    assert delivery.next_attempt_at is None
    # Running the task again (a duplicate) sends nothing more.
    assert deliver_webhook.call(delivery.pk) == "skipped"
    assert len(receiver.requests) == 1


def test_failures_are_retried_with_exponential_backoff(
    receiver, department, django_capture_on_commit_callbacks, monkeypatch
) -> None:
    make_webhook(receiver.url, ["ticket.created"])
    new_case(django_capture_on_commit_callbacks, department=department)
    delivery = only_delivery()
    receiver.fail_next = 2
    start = clock.now()
    at(monkeypatch, start)

    assert deliver_webhook.call(delivery.pk) == "retry"
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.PENDING, 1)
    assert delivery.last_status_code == 500
    assert delivery.last_error.startswith("HTTP 500")
    assert delivery.next_attempt_at == start + timedelta(seconds=30)
    # The retry is a task deferred to exactly that time.
    assert [t.run_after for t in queued_tasks()][-1] == delivery.next_attempt_at

    # Run early (a duplicate task): not due, nothing sent.
    assert deliver_webhook.call(delivery.pk) == "not_due"
    assert len(receiver.requests) == 1

    second = delivery.next_attempt_at
    at(monkeypatch, second)
    assert deliver_webhook.call(delivery.pk) == "retry"
    delivery.refresh_from_db()
    assert delivery.attempts == 2
    assert delivery.next_attempt_at == second + timedelta(seconds=60)  # doubled

    at(monkeypatch, delivery.next_attempt_at)
    assert deliver_webhook.call(delivery.pk) == "succeeded"
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (
        DeliveryStatus.SUCCEEDED,
        3,
        200,
    )
    assert delivery.last_error == ""
    # Every attempt carried the same delivery id and the same signed body.
    assert len({r.headers["X-Vorgang-Delivery"] for r in receiver.requests}) == 1
    assert len({r.body for r in receiver.requests}) == 1


def test_backoff_grows_and_is_capped() -> None:
    assert [dispatch.backoff_seconds(n) for n in range(1, 9)] == [
        30,
        60,
        120,
        240,
        480,
        960,
        1920,
        3600,
    ]
    assert dispatch.backoff_seconds(50) == 3600


def test_delivery_fails_after_the_configured_number_of_attempts(
    receiver, department, django_capture_on_commit_callbacks, monkeypatch, settings
) -> None:
    settings.VORGANG_WEBHOOK_MAX_ATTEMPTS = 3
    make_webhook(receiver.url, ["ticket.created"])
    new_case(django_capture_on_commit_callbacks, department=department)
    delivery = only_delivery()
    receiver.fail_next = 100
    receiver.fail_status = 503

    results = []
    for _ in range(3):
        delivery.refresh_from_db()
        at(monkeypatch, delivery.next_attempt_at or clock.now())
        results.append(deliver_webhook.call(delivery.pk))
    assert results == ["retry", "retry", "failed"]
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.attempts == 3
    assert delivery.last_status_code == 503
    assert "gave up after 3 attempts" in delivery.last_error
    assert delivery.next_attempt_at is None
    assert len(receiver.requests) == 3
    tasks_before = len(queued_tasks())
    assert deliver_webhook.call(delivery.pk) == "skipped"
    assert len(receiver.requests) == 3
    assert len(queued_tasks()) == tasks_before  # no retry after giving up


@pytest.mark.parametrize("status", [400, 401, 404, 410, 422])
def test_client_errors_fail_at_once(
    receiver, department, django_capture_on_commit_callbacks, status
) -> None:
    make_webhook(receiver.url, ["ticket.created"])
    new_case(django_capture_on_commit_callbacks, department=department)
    delivery = only_delivery()
    receiver.status = status
    tasks_before = len(queued_tasks())

    assert deliver_webhook.call(delivery.pk) == "failed"

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (
        DeliveryStatus.FAILED,
        1,
        status,
    )
    assert len(queued_tasks()) == tasks_before


def test_too_many_requests_is_retried_after_retry_after(
    receiver, department, django_capture_on_commit_callbacks, monkeypatch
) -> None:
    make_webhook(receiver.url, ["ticket.created"])
    new_case(django_capture_on_commit_callbacks, department=department)
    delivery = only_delivery()
    receiver.fail_next, receiver.fail_status = 1, 429
    receiver.reply_headers = {"Retry-After": "120"}
    now = clock.now()
    at(monkeypatch, now)

    assert deliver_webhook.call(delivery.pk) == "retry"

    delivery.refresh_from_db()
    assert delivery.last_status_code == 429
    assert delivery.next_attempt_at == now + timedelta(seconds=120)  # longer than the 30 s


def test_redirect_is_not_followed(receiver, department, django_capture_on_commit_callbacks) -> None:
    make_webhook(receiver.url, ["ticket.created"])
    new_case(django_capture_on_commit_callbacks, department=department)
    receiver.status = 302
    receiver.reply_headers = {"Location": "http://127.0.0.1:9/elsewhere"}
    delivery = only_delivery()

    assert deliver_webhook.call(delivery.pk) == "failed"

    delivery.refresh_from_db()
    assert delivery.last_status_code == 302
    assert len(receiver.requests) == 1


def test_receiver_that_is_down_is_retried(
    down_url, department, django_capture_on_commit_callbacks
) -> None:
    make_webhook(down_url, ["ticket.created"])
    new_case(django_capture_on_commit_callbacks, department=department)
    delivery = only_delivery()

    assert deliver_webhook.call(delivery.pk) == "retry"

    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PENDING
    assert delivery.last_status_code is None
    assert "connection failed" in delivery.last_error
    assert "refused" in delivery.last_error.lower()


def test_hanging_receiver_times_out_and_is_retried(
    receiver, department, django_capture_on_commit_callbacks, settings
) -> None:
    settings.VORGANG_WEBHOOK_TIMEOUT = 0.5
    make_webhook(receiver.url, ["ticket.created"])
    new_case(django_capture_on_commit_callbacks, department=department)
    delivery = only_delivery()
    receiver.hang = True

    assert deliver_webhook.call(delivery.pk) == "retry"

    delivery.refresh_from_db()
    assert delivery.last_error == "timed out"
    assert delivery.response_time_ms is not None and delivery.response_time_ms >= 450


def test_attempts_are_logged_without_the_payload(
    receiver, department, django_capture_on_commit_callbacks, caplog
) -> None:
    make_webhook(receiver.url, ["ticket.created"])
    new_case(
        django_capture_on_commit_callbacks,
        department=department,
        title="Antrag von Erika Mustermann, Hauptstraße 5",
    )
    delivery = only_delivery()
    receiver.fail_next = 1

    with caplog.at_level(logging.INFO, logger="vorgang.webhooks"):
        deliver_webhook.call(delivery.pk)

    lines = [r.getMessage() for r in caplog.records if r.name.startswith("vorgang.webhooks")]
    assert any(str(delivery.delivery_id) in line and ": 500 in " in line for line in lines)
    assert "Mustermann" in receiver.requests[0].body.decode()
    assert "Mustermann" not in caplog.text
    assert receiver.url not in caplog.text  # a URL may carry a token


def test_deactivated_webhook_stops_pending_deliveries(
    receiver, department, django_capture_on_commit_callbacks
) -> None:
    webhook = make_webhook(receiver.url, ["ticket.created"])
    new_case(django_capture_on_commit_callbacks, department=department)
    webhook.active = False
    webhook.save()

    delivery = only_delivery()
    assert deliver_webhook.call(delivery.pk) == "failed"

    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.last_error == "the webhook is inactive"
    assert receiver.requests == []


def test_resend_creates_a_new_delivery_with_the_same_payload(
    receiver, department, django_capture_on_commit_callbacks
) -> None:
    make_webhook(receiver.url, ["ticket.created"])
    new_case(django_capture_on_commit_callbacks, department=department)
    original = only_delivery()
    with pytest.raises(Exception, match="still being attempted"):
        dispatch.resend(original)
    deliver_webhook.call(original.pk)
    original.refresh_from_db()

    with django_capture_on_commit_callbacks(execute=True):
        copy = dispatch.resend(original)

    assert copy.pk != original.pk
    assert copy.delivery_id != original.delivery_id
    assert (copy.event, copy.payload, copy.resent_from_id) == (
        original.event,
        original.payload,
        original.pk,
    )
    assert queued_tasks()[-1].args_kwargs["args"] == [copy.pk]
    assert deliver_webhook.call(copy.pk) == "succeeded"
    first, second = receiver.requests
    assert second.headers["X-Vorgang-Delivery"] == str(copy.delivery_id)
    one, two = json.loads(first.body), json.loads(second.body)
    assert two["delivery_id"] == str(copy.delivery_id)
    assert {**one, "delivery_id": None} == {**two, "delivery_id": None}
    expected = hmac.new(SECRET.encode(), second.body, hashlib.sha256).hexdigest()
    assert second.headers["X-Vorgang-Signature"] == f"sha256={expected}"


def test_test_event_is_sent_without_a_case(
    receiver, tenant, django_capture_on_commit_callbacks
) -> None:
    webhook = make_webhook(receiver.url, ["ticket.created"])
    with django_capture_on_commit_callbacks(execute=True):
        delivery = dispatch.send_test(webhook)
    assert deliver_webhook.call(delivery.pk) == "succeeded"
    (request,) = receiver.requests
    assert request.headers["X-Vorgang-Event"] == "webhook.test"
    body = json.loads(request.body)
    assert body["webhook"] == {"id": webhook.pk, "name": webhook.name}
    assert body["ticket"] is None


def test_stale_pending_deliveries_are_queued_again(
    receiver, department, django_capture_on_commit_callbacks, monkeypatch
) -> None:
    make_webhook(receiver.url, ["ticket.created"])
    new_case(django_capture_on_commit_callbacks, department=department)
    delivery = only_delivery()
    DBTaskResult.objects.all().delete()  # the task was lost (a worker died)

    with django_capture_on_commit_callbacks(execute=True):
        assert dispatch.recover_stale() == 0  # too fresh: its task may still come
    at(monkeypatch, clock.now() + timedelta(minutes=6))
    with django_capture_on_commit_callbacks(execute=True):
        assert dispatch.recover_stale() == 1

    assert [t.args_kwargs["args"] for t in queued_tasks()] == [[delivery.pk]]
    assert deliver_webhook.call(delivery.pk) == "succeeded"
    # `vorgang scheduler` runs the recovery every minute.
    assert ("webhook-recovery", "vorgang.webhooks.dispatch.recover_stale", 60) in scheduler.JOBS


def test_a_claimed_attempt_in_flight_is_not_taken_twice(
    receiver, department, django_capture_on_commit_callbacks
) -> None:
    """While one worker's POST runs, the delivery carries a lease: a duplicate task waits."""
    make_webhook(receiver.url, ["ticket.created"])
    new_case(django_capture_on_commit_callbacks, department=department)
    delivery = only_delivery()
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        attempts=1, next_attempt_at=clock.now() + timedelta(seconds=70)
    )
    assert deliver_webhook.call(delivery.pk) == "not_due"
    assert receiver.requests == []


def test_urls_other_than_http_are_refused_without_a_request() -> None:
    for url in ("file:///etc/passwd", "ftp://example.org/x", "gopher://x"):
        outcome = sending.post(url, b"{}", {}, timeout_s=1)
        assert not outcome.ok and not outcome.temporary
        assert "http" in outcome.error
