"""Announcing reached reminders: a case waiting for a reminder whose date has passed.

Run by the scheduler every minute (registered in apps.py). Each reminder date of a
case is announced once (ReminderNotice), however often the job runs or how many
schedulers raced; a new reminder date is announced again when it is reached.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef

from vorgang.core import clock
from vorgang.tickets.models import StateKind, Ticket

from . import services
from .models import ReminderNotice

BATCH = 500


def notify_due() -> int:
    """Tell the owners (or candidates) of cases whose reminder is due; returns how many cases."""
    announced_already = ReminderNotice.objects.filter(
        ticket_id=OuterRef("pk"), pending_until=OuterRef("pending_until")
    )
    due = (
        Ticket.objects.filter(
            state__kind=StateKind.PENDING_REMINDER, pending_until__lte=clock.now()
        )
        .exclude(Exists(announced_already))
        .select_related("owner", "department")
        .order_by("pending_until")[:BATCH]
    )
    return sum(announce(ticket) for ticket in due)


def announce(ticket: Ticket) -> int:
    """1 if this reminder date of ``ticket`` was announced now, 0 if it had been already."""
    if ticket.pending_until is None:
        return 0
    try:
        with transaction.atomic():
            _notice, created = ReminderNotice.objects.get_or_create(
                ticket=ticket, pending_until=ticket.pending_until
            )
            if not created:
                return 0
            services.reminder_reached(ticket)
    except IntegrityError:  # another scheduler announced it at the same moment
        return 0
    return 1
