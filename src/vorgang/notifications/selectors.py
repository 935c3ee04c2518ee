"""Reads of notifications: always the user's own, and only for cases they may still read."""

from __future__ import annotations

from django.db.models import QuerySet

from vorgang.accounts.models import AccessLevel, User
from vorgang.tickets.selectors import visible_tickets

from .models import OnlineNotification


def for_user(user: User) -> QuerySet[OnlineNotification]:
    """The user's notifications, newest first; none for citizens or inactive users."""
    if not user.is_active or not user.is_agent:
        return OnlineNotification.objects.none()
    return (
        OnlineNotification.objects.filter(user=user, tenant_id=user.tenant_id)
        .filter(ticket__in=visible_tickets(user, AccessLevel.READ))
        .select_related("ticket", "actor", "user")
        .order_by("-updated_at", "-pk")
    )


def unseen_count(user: User) -> int:
    return for_user(user).filter(seen=False).count()
