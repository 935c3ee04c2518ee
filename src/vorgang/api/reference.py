"""Ticket states and priorities in Zammad's shapes (read-only; any signed-in user).

Zammad's ``state_type_id`` is the id of the state's type (new 1, open 2, pending
reminder 3, pending action 4, closed 5, merged 6); Vorgang's state ``kind`` is the
same idea, so it is mapped onto those ids. States and priorities carry no
timestamps in Vorgang: ``created_at``/``updated_at`` are null.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Router

from vorgang.core.errors import NotFound
from vorgang.tickets.models import Priority, State, StateKind

from . import fields
from .common import paginate, want_expand

router = Router()

STATE_TYPE_IDS: dict[str, int] = {
    StateKind.NEW: 1,
    StateKind.OPEN: 2,
    StateKind.PENDING_REMINDER: 3,
    StateKind.PENDING_CLOSE: 4,
    StateKind.CLOSED: 5,
    StateKind.MERGED: 6,
}
# Zammad's names of the state types ("pending close" states are of type "pending action").
STATE_TYPE_NAMES: dict[str, str] = {
    StateKind.NEW: "new",
    StateKind.OPEN: "open",
    StateKind.PENDING_REMINDER: "pending reminder",
    StateKind.PENDING_CLOSE: "pending action",
    StateKind.CLOSED: "closed",
    StateKind.MERGED: "merged",
}
_IGNORE_ESCALATION = {
    StateKind.PENDING_REMINDER,
    StateKind.PENDING_CLOSE,
    StateKind.CLOSED,
    StateKind.MERGED,
}


class StateOut(fields.ZammadOut):
    id: int
    name: str
    state_type_id: int
    next_state_id: int | None
    ignore_escalation: bool
    default_create: bool
    default_follow_up: bool
    active: bool
    created_at: str | None
    updated_at: str | None


class PriorityOut(fields.ZammadOut):
    id: int
    name: str
    default_create: bool
    active: bool
    created_at: str | None
    updated_at: str | None


def _first_ids() -> tuple[int | None, int | None]:
    """The states a new case starts in and a citizen's reply reopens to (the first of each)."""
    first_new = State.objects.filter(kind=StateKind.NEW, active=True).order_by("pk").first()
    first_open = State.objects.filter(kind=StateKind.OPEN, active=True).order_by("pk").first()
    return (first_new.pk if first_new else None, first_open.pk if first_open else None)


def state_out(
    state: State, defaults: tuple[int | None, int | None], expand: bool = False
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": state.pk,
        "name": state.name,
        "state_type_id": STATE_TYPE_IDS.get(state.kind, 0),
        "next_state_id": state.next_state_id,
        "ignore_escalation": state.kind in _IGNORE_ESCALATION,
        "default_create": state.pk == defaults[0],
        "default_follow_up": state.pk == defaults[1],
        "note": None,
        "active": state.active,
        "created_at": None,
        "updated_at": None,
    }
    if expand:
        out["state_type"] = STATE_TYPE_NAMES.get(state.kind, state.kind)
        out["next_state"] = state.next_state.name if state.next_state else None
    return out


def priority_out(priority: Priority) -> dict[str, Any]:
    return {
        "id": priority.pk,
        "name": priority.name,
        "default_create": priority.is_default,
        "ui_icon": None,
        "ui_color": None,
        "note": None,
        "active": True,
        "created_at": None,
        "updated_at": None,
    }


@router.get(
    "/ticket_states",
    response={200: list[StateOut], **fields.ERRORS},
    tags=["ticket states"],
    summary="All case states",
)
def states_list(request: HttpRequest) -> list[dict[str, Any]]:
    defaults = _first_ids()
    expand = want_expand(request)
    states = paginate(request, State.objects.select_related("next_state").order_by("pk"))
    return [state_out(s, defaults, expand) for s in states]


@router.get(
    "/ticket_states/{int:state_id}",
    response={200: StateOut, **fields.ERRORS},
    tags=["ticket states"],
    summary="One case state",
)
def states_show(request: HttpRequest, state_id: int) -> dict[str, Any]:
    state = State.objects.select_related("next_state").filter(pk=state_id).first()
    if state is None:
        raise NotFound(_("Unknown state."))
    return state_out(state, _first_ids(), want_expand(request))


@router.get(
    "/ticket_priorities",
    response={200: list[PriorityOut], **fields.ERRORS},
    tags=["ticket priorities"],
    summary="All priorities",
)
def priorities_list(request: HttpRequest) -> list[dict[str, Any]]:
    return [priority_out(p) for p in paginate(request, Priority.objects.order_by("pk"))]


@router.get(
    "/ticket_priorities/{int:priority_id}",
    response={200: PriorityOut, **fields.ERRORS},
    tags=["ticket priorities"],
    summary="One priority",
)
def priorities_show(request: HttpRequest, priority_id: int) -> dict[str, Any]:
    priority = Priority.objects.filter(pk=priority_id).first()
    if priority is None:
        raise NotFound(_("Unknown priority."))
    return priority_out(priority)
