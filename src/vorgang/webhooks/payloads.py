"""The JSON body of a delivery: the case, the article and the change, in Zammad's words.

Field names follow Zammad's REST API (``group_id``, ``state``, ``customer_id``,
timestamps in UTC with milliseconds and ``Z``), so a receiver written for Zammad
reads them unchanged. Webhooks go to trusted systems of the administration, so
internal notes are included too, marked ``internal: true``.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder

from vorgang.api.common import ts
from vorgang.tickets.models import Article, Ticket

from .models import TEST_EVENT, Webhook

# Vorgang's article kinds as Zammad's article types.
ARTICLE_TYPES = {
    "email": "email",
    "web": "web",
    "note": "note",
    "phone": "phone",
    "portal": "web",
    "api": "note",
}
# Vorgang's senders as Zammad's article senders.
ARTICLE_SENDERS = {"agent": "Agent", "citizen": "Customer", "system": "System"}


def ticket_data(ticket: Ticket) -> dict[str, Any]:
    """The case; expects state, priority, department and service selected with it."""
    service = ticket.service
    return {
        "id": ticket.pk,
        "number": str(ticket.number),
        "title": ticket.title,
        "group_id": ticket.department_id,
        "group": ticket.department.name,
        "state_id": ticket.state_id,
        "state": ticket.state.name,
        "priority_id": ticket.priority_id,
        "priority": ticket.priority.name,
        "owner_id": ticket.owner_id,
        "customer_id": ticket.citizen_id,
        "organization_id": ticket.organisation_id,
        "online_service_id": ticket.service_id,
        "online_service": service.slug if service is not None else None,
        "pending_time": ts(ticket.pending_until),
        "close_at": ts(ticket.closed_at),
        "merged_into_id": ticket.merged_into_id,
        "created_at": ts(ticket.created_at),
        "updated_at": ts(ticket.updated_at),
    }


def article_data(article: Article) -> dict[str, Any]:
    """The article with its attachments' names and sizes (not their content)."""
    return {
        "id": article.pk,
        "ticket_id": article.ticket_id,
        "type": ARTICLE_TYPES.get(article.kind, article.kind),
        "sender": ARTICLE_SENDERS.get(article.sender, article.sender),
        "internal": article.internal,
        "from": article.from_addr,
        "to": article.to,
        "cc": article.cc,
        "subject": article.subject,
        "body": article.body,
        "content_type": article.content_type,
        "message_id": article.message_id or None,
        "created_by_id": article.created_by_id,
        "created_at": ts(article.created_at),
        "attachments": [
            {
                "id": a.pk,
                "filename": a.filename,
                "size": a.size,
                "preferences": {"Content-Type": a.content_type},
            }
            for a in article.attachments.all()
        ],
    }


def build(
    event: str,
    *,
    occurred_at: datetime,
    ticket: Ticket,
    article: Article | None,
    changes: dict[str, Any],
    actor_id: int | None,
) -> dict[str, Any]:
    """The payload of a case event; stored on the delivery and sent as it is."""
    return _json_safe(
        {
            "event": event,
            "occurred_at": ts(occurred_at),
            "actor_id": actor_id,
            "ticket": ticket_data(ticket),
            "article": article_data(article) if article is not None else None,
            "changes": changes,
        }
    )


def test_payload(webhook: Webhook, *, occurred_at: datetime) -> dict[str, Any]:
    """What "send test event" sends: the same envelope, without a case."""
    return {
        "event": TEST_EVENT,
        "occurred_at": ts(occurred_at),
        "actor_id": None,
        "webhook": {"id": webhook.pk, "name": webhook.name},
        "ticket": None,
        "article": None,
        "changes": {},
    }


def body(delivery_id: str, payload: dict[str, Any]) -> bytes:
    """The exact bytes that are signed and sent: the delivery id first, then the payload."""
    document = {"delivery_id": delivery_id, **payload}
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _json_safe(value: dict[str, Any]) -> dict[str, Any]:
    """Changes may hold dates or decimals; store what JSON can carry."""
    result: dict[str, Any] = json.loads(json.dumps(value, cls=DjangoJSONEncoder))
    return result
