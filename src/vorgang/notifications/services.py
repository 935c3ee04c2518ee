"""Writing notifications: create them for the right agents, mark them seen, delete them.

``notify`` is the one place that decides whether a user may get a notification
about a case: an active agent of the case's tenant with read access to its
department. Other apps (SLA escalation, pending reminders, mentions) call
``notify``, ``reminder_reached`` or ``mention``.
"""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from vorgang.accounts import access
from vorgang.accounts.models import AccessLevel, User
from vorgang.core.errors import NotFound
from vorgang.tickets.models import Ticket
from vorgang.tickets.selectors import owner_candidates

from . import preferences, selectors
from .models import NotificationKind, OnlineNotification


def may_be_notified(user: User, ticket: Ticket) -> bool:
    return (
        user.is_active
        and user.is_agent
        and user.tenant_id == ticket.tenant_id
        and access.has_level(user, ticket.department_id, AccessLevel.READ)
    )


def notify(
    user: User,
    ticket: Ticket,
    kind: str,
    actor_id: int | None = None,
    *,
    email: bool = True,
) -> OnlineNotification | None:
    """Tell ``user`` about ``ticket``; an unseen notice of the same kind is renewed, not doubled.

    The user's preferences decide whether it shows in the desk and whether an e-mail
    goes out (by a background task after commit); ``email=False`` leaves the e-mail
    out when another part already mails about the same thing.
    """
    if kind not in NotificationKind.values:
        raise ValueError(f"unknown notification kind {kind!r}")
    if actor_id is not None and actor_id == user.pk:
        return None  # nobody is told about what they did themselves
    if not may_be_notified(user, ticket):
        return None
    wanted = preferences.channels(user, kind)
    if email and wanted.email and user.email:
        _mail_later(user.pk, ticket.pk, kind, actor_id)
    if not wanted.in_app:
        return None
    with transaction.atomic():
        existing = (
            OnlineNotification.objects.select_for_update()
            .filter(user=user, ticket=ticket, kind=kind, seen=False)
            .first()
        )
        if existing is not None:
            existing.actor_id = actor_id
            existing.save(update_fields=["actor", "updated_at"])
            return existing
        return OnlineNotification.objects.create(
            tenant_id=ticket.tenant_id, user=user, ticket=ticket, kind=kind, actor_id=actor_id
        )


def _mail_later(user_id: int, ticket_id: int, kind: str, actor_id: int | None) -> None:
    from .tasks import send_notification_mail

    transaction.on_commit(
        lambda: send_notification_mail.enqueue(user_id, ticket_id, kind, actor_id)
    )


def reminder_reached(ticket: Ticket) -> list[OnlineNotification]:
    """A pending reminder is due: tell the owner, or everyone who may own the case."""
    people = [ticket.owner] if ticket.owner is not None else list(owner_candidates(ticket))
    created = [notify(p, ticket, NotificationKind.REMINDER_REACHED) for p in people]
    return [n for n in created if n is not None]


def mention(actor: User, ticket: Ticket, user: User) -> OnlineNotification | None:
    return notify(user, ticket, NotificationKind.MENTION, actor.pk)


def _own(user: User, notification_id: int) -> OnlineNotification:
    found = selectors.for_user(user).filter(pk=notification_id).first()
    if found is None:
        raise NotFound(_("Unknown notification."))
    return found


def mark_seen(user: User, notification_id: int, seen: bool = True) -> OnlineNotification:
    notification = _own(user, notification_id)
    if notification.seen != seen:
        notification.seen = seen
        notification.save(update_fields=["seen", "updated_at"])
    return notification


def mark_all_seen(user: User) -> int:
    """Mark all of the user's notifications seen; returns how many changed."""
    pks = list(selectors.for_user(user).filter(seen=False).values_list("pk", flat=True))
    return OnlineNotification.objects.filter(pk__in=pks).update(seen=True)


def delete(user: User, notification_id: int) -> None:
    _own(user, notification_id).delete()
