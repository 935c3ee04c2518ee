"""Domain events, delivered to subscribers after the transaction commits.

Services call ``emit``; subscribers (registered with ``subscribe``) run only
once the change is durable, and should hand real work to a task by id.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

log = logging.getLogger(__name__)

TICKET_CREATED = "ticket.created"
TICKET_UPDATED = "ticket.updated"
ARTICLE_CREATED = "article.created"
TICKET_MERGED = "ticket.merged"
ARTICLE_DELIVERED = "article.delivered"  # an outbound message reached the mail server
TICKET_DELETED = "ticket.deleted"  # erased by an administrator (the row is gone)


@dataclass(frozen=True)
class Event:
    name: str
    ticket_id: int
    actor_id: int | None = None
    article_id: int | None = None
    changes: dict[str, Any] = field(default_factory=dict)


Subscriber = Callable[[Event], None]
_subscribers: dict[str, list[Subscriber]] = defaultdict(list)


def subscribe(*names: str) -> Callable[[Subscriber], Subscriber]:
    def register(fn: Subscriber) -> Subscriber:
        for name in names:
            if fn not in _subscribers[name]:
                _subscribers[name].append(fn)
        return fn

    return register


def unsubscribe(name: str, fn: Subscriber) -> None:
    if fn in _subscribers[name]:
        _subscribers[name].remove(fn)


def emit(event: Event) -> None:
    transaction.on_commit(lambda: _deliver(event))


def _deliver(event: Event) -> None:
    for fn in list(_subscribers[event.name]):
        try:
            fn(event)
        except Exception:
            # The change is committed; a failing subscriber must not turn it into an error.
            log.exception(
                "subscriber %s failed for %s on ticket %s", fn, event.name, event.ticket_id
            )
