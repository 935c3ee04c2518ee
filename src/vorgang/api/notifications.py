"""Online notifications in Zammad's paths and shape; every user sees only their own.

``type`` is the type Zammad clients know (update, reminder_reached, escalation);
``reason`` is Vorgang's finer kind (assigned, citizen_replied, reminder_reached,
mention, escalation). Zammad's ``object_lookup_id``/``type_lookup_id`` are internal
ids of its lookup tables and are left out.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Router

from vorgang.accounts.models import User
from vorgang.core.errors import InvalidInput, NotFound
from vorgang.notifications import selectors, services
from vorgang.notifications.models import OnlineNotification

from . import fields
from .common import json_body, mark_ignored, paginate, ts, want_expand

router = Router(tags=["online notifications"])

SEEN_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["seen"],
                    "properties": {"seen": {"type": "boolean"}},
                }
            }
        },
    }
}


class NotificationOut(fields.ZammadOut):
    id: int
    o_id: int
    object: str
    type: str
    reason: str
    user_id: int
    seen: bool
    created_by_id: int | None
    updated_by_id: int | None
    created_at: str | None
    updated_at: str | None


def _auth(request: HttpRequest) -> User:
    user: User = request.auth  # type: ignore[attr-defined]
    return user


def notification_out(item: OnlineNotification, expand: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": item.pk,
        "o_id": item.ticket_id,
        "object": "Ticket",
        "type": item.zammad_type,
        "reason": item.kind,
        "user_id": item.user_id,
        "seen": item.seen,
        "created_by_id": item.actor_id,
        "updated_by_id": item.actor_id,
        "created_at": ts(item.created_at),
        "updated_at": ts(item.updated_at),
    }
    if expand:
        actor = item.actor.username if item.actor else None
        out.update(
            {
                "user": item.user.username,
                "created_by": actor,
                "updated_by": actor,
                "ticket_number": item.ticket.number,
                "title": item.ticket.title,
            }
        )
    return out


@router.get(
    "/online_notifications",
    response={200: list[NotificationOut], **fields.ERRORS},
    summary="The caller's notifications, newest first",
)
def notifications_list(request: HttpRequest) -> list[dict[str, Any]]:
    expand = want_expand(request)
    items = paginate(request, selectors.for_user(_auth(request)))
    return [notification_out(n, expand) for n in items]


@router.api_operation(
    ["POST", "PUT"],
    "/online_notifications/mark_all_as_read",
    response={200: dict[str, Any], **fields.ERRORS},
    summary="Mark all of the caller's notifications as seen",
)
def notifications_mark_all(request: HttpRequest) -> dict[str, Any]:
    services.mark_all_seen(_auth(request))
    return {}


@router.get(
    "/online_notifications/{int:notification_id}",
    response={200: NotificationOut, **fields.ERRORS},
    summary="One of the caller's notifications",
)
def notifications_show(request: HttpRequest, notification_id: int) -> dict[str, Any]:
    found = selectors.for_user(_auth(request)).filter(pk=notification_id).first()
    if found is None:
        raise NotFound(_("Unknown notification."))
    return notification_out(found, want_expand(request))


@router.put(
    "/online_notifications/{int:notification_id}",
    response={200: NotificationOut, **fields.ERRORS},
    openapi_extra=SEEN_BODY,
    summary="Mark a notification as seen (or unseen)",
)
def notifications_update(
    request: HttpRequest, response: HttpResponse, notification_id: int
) -> dict[str, Any]:
    user = _auth(request)
    data = json_body(request)
    seen = fields.boolean(data, "seen")
    if seen is None:
        raise InvalidInput(_("seen is missing."))
    updated = services.mark_seen(user, notification_id, seen)
    # Zammad clients send the whole object back; only ``seen`` can change.
    read_only = {"id", "o_id", "object", "type", "reason", "user_id", "created_at"}
    mark_ignored(response, set(data) - {"seen"} - read_only)
    return notification_out(updated, want_expand(request))


@router.delete(
    "/online_notifications/{int:notification_id}",
    response={200: dict[str, Any], **fields.ERRORS},
    summary="Delete one of the caller's notifications",
)
def notifications_delete(request: HttpRequest, notification_id: int) -> dict[str, Any]:
    services.delete(_auth(request), notification_id)
    return {}
