"""Heartbeats and who else is on a case; only agents who may read the case take part.

Callers pass a ticket they got from ``tickets.selectors.get_ticket`` for ``user``;
``others`` filters again by read access, so an agent who lost access to the
department since their last heartbeat drops out at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.db import IntegrityError, transaction

from vorgang.accounts import access
from vorgang.accounts.models import AccessLevel, User
from vorgang.core import clock
from vorgang.tickets.models import Ticket

from .models import Activity, DraftKind, Presence

# A heartbeat comes every 10 s; three missed ones and the agent counts as gone.
TTL = timedelta(seconds=30)
# Rows this old are deleted by the next heartbeat on any case (keeps the table small).
PURGE_AFTER = timedelta(hours=1)


@dataclass(frozen=True)
class Someone:
    user: User
    writing: bool
    writing_in: str  # "reply", "note" or ""


def may_take_part(user: User, ticket: Ticket) -> bool:
    return (
        user.is_active
        and user.is_agent
        and user.tenant_id == ticket.tenant_id
        and access.has_level(user, ticket.department_id, AccessLevel.READ)
    )


def heartbeat(user: User, ticket: Ticket, writing_in: str = "") -> None:
    """``user`` has the case open (writing in the form ``writing_in``, if given)."""
    if not may_take_part(user, ticket):
        return
    if writing_in not in DraftKind.values:
        writing_in = ""
    now = clock.now()
    values = {
        "tenant_id": ticket.tenant_id,
        "activity": Activity.WRITING if writing_in else Activity.VIEWING,
        "writing_in": writing_in,
        "last_seen": now,
    }
    try:
        with transaction.atomic():
            Presence.objects.update_or_create(user=user, ticket=ticket, defaults=values)
    except IntegrityError:  # two tabs raced to create the row; the other one won
        Presence.objects.filter(user=user, ticket=ticket).update(**values)
    Presence.objects.filter(last_seen__lt=now - PURGE_AFTER).delete()


def leave(user: User, ticket_id: int) -> None:
    Presence.objects.filter(user=user, ticket_id=ticket_id).delete()


def others(user: User, ticket: Ticket) -> list[Someone]:
    """The other agents on the case within the last ``TTL``, writers first."""
    rows = (
        Presence.objects.filter(
            ticket=ticket, tenant_id=ticket.tenant_id, last_seen__gte=clock.now() - TTL
        )
        .exclude(user=user)
        .select_related("user")
        .order_by("-activity", "user__first_name", "user__last_name", "user__username")
    )
    return [
        Someone(row.user, row.activity == Activity.WRITING, row.writing_in)
        for row in rows
        if may_take_part(row.user, ticket)
    ]
