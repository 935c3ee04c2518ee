"""From a domain event to deliveries, and from a delivery to HTTP attempts.

``on_event`` runs after the commit of the request that changed a case: it only
writes delivery rows and enqueues one task per row (by id), so a receiver that is
slow or down never slows the request. ``attempt`` is the work of that task: one
POST, then success, a retry after an exponential backoff, or failure.

Safe to run twice: a delivery is claimed by a compare-and-set on its attempt
counter before the POST, and while the POST runs its ``next_attempt_at`` is set
to a lease, so a second task for the same delivery finds it not due and leaves it.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from vorgang.core import clock
from vorgang.core.errors import InvalidInput
from vorgang.tickets import events
from vorgang.tickets.models import Article, SenderKind, Ticket

from . import payloads, sending
from .models import TEST_EVENT, DeliveryStatus, Webhook, WebhookDelivery, WebhookEvent

log = logging.getLogger(__name__)

DEFAULT_MAX_ATTEMPTS = 8
# Exponential backoff: 30 s after the first failure, doubling, at most an hour.
BACKOFF_BASE_SECONDS = 30
BACKOFF_MAX_SECONDS = 3600
# A task may start a moment before the time it was deferred to.
DUE_TOLERANCE = timedelta(seconds=2)
# A pending delivery this long past due has lost its task (a worker died); queue it again.
STALE_AFTER = timedelta(minutes=5)

DOMAIN_EVENTS = (
    events.TICKET_CREATED,
    events.TICKET_UPDATED,
    events.TICKET_MERGED,
    events.ARTICLE_CREATED,
)


def max_attempts() -> int:
    value = getattr(settings, "VORGANG_WEBHOOK_MAX_ATTEMPTS", None)
    return max(1, int(value if value is not None else DEFAULT_MAX_ATTEMPTS))


def backoff_seconds(failed_attempts: int) -> int:
    """Seconds to wait after the n-th failed attempt (1-based): 30, 60, 120, ... 3600."""
    exponent = max(0, failed_attempts - 1)
    return min(BACKOFF_MAX_SECONDS, BACKOFF_BASE_SECONDS * 2 ** min(exponent, 20))


# --- from domain events to deliveries ----------------------------------------------------


def webhook_events(event: events.Event, article: Article | None) -> list[str]:
    """The webhook events one domain event stands for (a state change is also an update)."""
    if event.name == events.TICKET_CREATED:
        return [WebhookEvent.TICKET_CREATED]
    if event.name == events.TICKET_MERGED:
        return [WebhookEvent.TICKET_UPDATED, WebhookEvent.TICKET_STATE_CHANGED]
    names: list[str]
    if event.name == events.TICKET_UPDATED:
        names = [WebhookEvent.TICKET_UPDATED]
        if "state" in event.changes:
            names.append(WebhookEvent.TICKET_STATE_CHANGED)
        return names
    if event.name == events.ARTICLE_CREATED and article is not None:
        names = [WebhookEvent.ARTICLE_CREATED]
        if _is_citizen_reply(article):
            names.append(WebhookEvent.CITIZEN_REPLIED)
        return names
    return []


def _is_citizen_reply(article: Article) -> bool:
    """A public message of the citizen on a case that already had one (not its first)."""
    if article.sender != SenderKind.CITIZEN or article.internal:
        return False
    return Article.objects.filter(ticket_id=article.ticket_id, pk__lt=article.pk).exists()


def _changes(event: events.Event, ticket: Ticket) -> dict[str, Any]:
    if event.name == events.TICKET_MERGED:
        # The source case became "merged"; its previous state is not in the event.
        return {"state": [None, ticket.state.name], "merged_into_id": event.changes.get("target")}
    return dict(event.changes)


def matches(webhook: Webhook, ticket: Ticket, changes: dict[str, Any]) -> bool:
    """Whether the webhook's department and online-service filters let this case through."""
    department_ids = {d.pk for d in webhook.departments.all()}
    if department_ids:
        seen = {ticket.department_id}
        moved = changes.get("department")
        if isinstance(moved, list):
            seen.update(moved)  # a case moved away is news for the old department's system
        if not seen & department_ids:
            return False
    service_ids = {s.pk for s in webhook.services.all()}
    return not service_ids or ticket.service_id in service_ids


def on_event(event: events.Event) -> list[int]:
    """Create and queue the deliveries for one domain event; their ids."""
    # The active webhooks of the case's tenant, in one query: with none (the usual
    # case) this is all the request pays for an event.
    hooks = list(
        Webhook.objects.filter(active=True, tenant__tickets__pk=event.ticket_id).prefetch_related(
            "departments", "services"
        )
    )
    if not hooks:
        return []
    ticket = (
        Ticket.objects.select_related("state", "priority", "department", "service")
        .filter(pk=event.ticket_id)
        .first()
    )
    if ticket is None:
        return []
    article = None
    if event.article_id is not None:
        article = (
            Article.objects.filter(pk=event.article_id, ticket_id=ticket.pk)
            .prefetch_related("attachments__blob")
            .first()
        )
    names = webhook_events(event, article)
    changes = _changes(event, ticket)
    wanted = [
        (hook, name)
        for hook in hooks
        for name in names
        if name in hook.events and matches(hook, ticket, changes)
    ]
    if not wanted:
        return []
    occurred_at = clock.now()
    built: dict[str, dict[str, Any]] = {}
    with transaction.atomic():
        created = []
        for hook, name in wanted:
            if name not in built:
                built[name] = payloads.build(
                    name,
                    occurred_at=occurred_at,
                    ticket=ticket,
                    article=article,
                    changes=changes,
                    actor_id=event.actor_id,
                )
            created.append(
                WebhookDelivery.objects.create(webhook=hook, event=name, payload=built[name]).pk
            )
        _enqueue_after_commit(created)
    return created


def _enqueue_after_commit(delivery_ids: list[int]) -> None:
    from .tasks import deliver_webhook

    def enqueue() -> None:
        for pk in delivery_ids:
            try:
                deliver_webhook.enqueue(pk)
            except Exception as exc:
                # The row stays pending; recover_stale queues it again.
                log.warning("webhook delivery %s could not be queued: %s", pk, type(exc).__name__)

    transaction.on_commit(enqueue)


# --- admin actions: re-send, test ---------------------------------------------------------


def resend(delivery: WebhookDelivery) -> WebhookDelivery:
    """A new delivery (with a new delivery id) of the same event and payload."""
    if delivery.status == DeliveryStatus.PENDING:
        raise InvalidInput(_("This delivery is still being attempted; wait until it ends."))
    if not delivery.webhook.active:
        raise InvalidInput(_("The webhook is inactive; activate it first."))
    with transaction.atomic():
        copy = WebhookDelivery.objects.create(
            webhook=delivery.webhook,
            event=delivery.event,
            payload=delivery.payload,
            resent_from=delivery,
        )
        _enqueue_after_commit([copy.pk])
    return copy


def send_test(webhook: Webhook) -> WebhookDelivery:
    if not webhook.active:
        raise InvalidInput(_("The webhook is inactive; activate it first."))
    with transaction.atomic():
        delivery = WebhookDelivery.objects.create(
            webhook=webhook,
            event=TEST_EVENT,
            payload=payloads.test_payload(webhook, occurred_at=clock.now()),
        )
        _enqueue_after_commit([delivery.pk])
    return delivery


def recover_stale() -> int:
    """Queue again the pending deliveries whose task was lost; how many (scheduler job)."""
    limit = clock.now() - STALE_AFTER
    stale = WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING).filter(
        Q(next_attempt_at__lte=limit) | Q(next_attempt_at__isnull=True, created_at__lte=limit)
    )
    ids = list(stale.values_list("pk", flat=True)[:500])
    _enqueue_after_commit(ids)
    return len(ids)


# --- one attempt ----------------------------------------------------------------------------


def attempt(delivery_pk: int) -> str:
    """Make the next attempt of a delivery if it is due.

    Returns ``succeeded``, ``failed``, ``retry`` (a new task is deferred to the next
    attempt), ``not_due`` or ``skipped`` (finished, gone, or claimed by another run).
    """
    delivery = WebhookDelivery.objects.select_related("webhook").filter(pk=delivery_pk).first()
    if delivery is None or delivery.status != DeliveryStatus.PENDING:
        return "skipped"
    now = clock.now()
    if delivery.next_attempt_at is not None and delivery.next_attempt_at > now + DUE_TOLERANCE:
        return "not_due"
    hook = delivery.webhook
    if not hook.active:
        _record(
            delivery.pk,
            delivery.attempts,
            status=DeliveryStatus.FAILED,
            error="the webhook is inactive",
        )
        return "failed"
    number = delivery.attempts + 1
    timeout_s = sending.timeout()
    lease = now + timedelta(seconds=timeout_s + 60)
    claimed = WebhookDelivery.objects.filter(
        pk=delivery.pk, status=DeliveryStatus.PENDING, attempts=delivery.attempts
    ).update(attempts=number, next_attempt_at=lease, updated_at=now)
    if not claimed:
        return "skipped"

    body = payloads.body(str(delivery.delivery_id), delivery.payload)
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": sending.user_agent(),
        sending.EVENT_HEADER: delivery.event,
        sending.DELIVERY_HEADER: str(delivery.delivery_id),
        sending.SIGNATURE_HEADER: sending.signature(hook.secret, body),
        sending.HUB_SIGNATURE_HEADER: sending.hub_signature(hook.secret, body),
    }
    outcome = sending.post(hook.url, body, headers, timeout_s=timeout_s)
    # Status and timing only: the payload and the URL (which may carry a token) stay out.
    log.info(
        "webhook %s delivery %s (%s) attempt %d: %s in %d ms",
        hook.pk,
        delivery.delivery_id,
        delivery.event,
        number,
        outcome.status_code if outcome.status_code is not None else outcome.error,
        outcome.elapsed_ms,
    )
    fields: dict[str, Any] = {
        "status_code": outcome.status_code,
        "elapsed_ms": outcome.elapsed_ms,
    }
    if outcome.ok:
        _record(delivery.pk, number, status=DeliveryStatus.SUCCEEDED, **fields)
        return "succeeded"
    if not outcome.temporary:
        _record(delivery.pk, number, status=DeliveryStatus.FAILED, error=outcome.error, **fields)
        return "failed"
    if number >= max_attempts():
        error = f"{outcome.error} (gave up after {number} attempts)"
        _record(delivery.pk, number, status=DeliveryStatus.FAILED, error=error, **fields)
        log.warning("webhook %s delivery %s failed for good", hook.pk, delivery.delivery_id)
        return "failed"
    delay = float(backoff_seconds(number))
    if outcome.retry_after is not None:
        delay = min(float(BACKOFF_MAX_SECONDS), max(delay, outcome.retry_after))
    next_at = clock.now() + timedelta(seconds=delay)
    _record(
        delivery.pk,
        number,
        status=DeliveryStatus.PENDING,
        error=outcome.error,
        next_attempt_at=next_at,
        **fields,
    )
    _defer(delivery.pk, next_at)
    return "retry"


def _record(
    pk: int,
    attempts: int,
    *,
    status: str,
    error: str = "",
    status_code: int | None = None,
    elapsed_ms: int | None = None,
    next_attempt_at: Any = None,
) -> None:
    WebhookDelivery.objects.filter(pk=pk, attempts=attempts).update(
        status=status,
        last_status_code=status_code,
        response_time_ms=elapsed_ms,
        last_error=error,
        next_attempt_at=next_attempt_at,
        updated_at=clock.now(),
    )


def _defer(pk: int, run_after: Any) -> None:
    from .tasks import deliver_webhook

    backend = deliver_webhook.get_backend()
    if not backend.supports_defer:
        # e.g. the immediate backend: it cannot wait; recover_stale queues it later.
        log.warning("webhook delivery %s: the task backend cannot schedule a retry", pk)
        return
    try:
        deliver_webhook.using(run_after=run_after).enqueue(pk)
    except Exception as exc:
        log.warning("webhook delivery %s: retry not queued: %s", pk, type(exc).__name__)
