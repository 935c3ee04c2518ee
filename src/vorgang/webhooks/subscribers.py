"""The event subscriber of the webhooks app: deliveries are written and queued, not sent.

It runs after the commit of the request that changed the case; it does only a few
queries and inserts, so a receiver that hangs or is down never slows that request.
"""

from __future__ import annotations

from vorgang.core import batchcache, lookups
from vorgang.tickets import events

from .dispatch import DOMAIN_EVENTS


@events.subscribe(*DOMAIN_EVENTS)
def queue_webhook_deliveries(event: events.Event) -> None:
    from .dispatch import on_event

    if batchcache.active() and not batchcache.memo(("webhooks.any_active",), _any_active):
        return  # a batch of mail intake, and no webhook anywhere: nothing to queue
    on_event(event)


def _any_active() -> bool:
    from .models import Webhook

    return lookups.exists(Webhook, "active = %s", [True])
