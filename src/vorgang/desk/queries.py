"""Small reads the desk needs that are not about cases: configuration lists.

States and priorities are global configuration (not per tenant), so reading them
here draws no wall. Anything about cases goes through ``tickets.selectors``.
"""

from __future__ import annotations

from django.db.models import QuerySet

from vorgang.accounts.models import Tenant
from vorgang.tickets.models import Priority, State, StateKind


def selectable_states() -> QuerySet[State]:
    """States an agent may pick by hand: active ones except ``merged`` (merge does that)."""
    return State.objects.filter(active=True).exclude(kind=StateKind.MERGED).order_by("pk")


def priorities() -> QuerySet[Priority]:
    return Priority.objects.order_by("level")


def several_tenants() -> bool:
    """Whether the install serves more than one tenant (then the UI names the tenant)."""
    return Tenant.objects.count() > 1
