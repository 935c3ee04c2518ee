"""Which text modules and macros an agent is offered on a case.

Those of the case's tenant that are active and offered in the case's department (or
in every department); only for agents who may change the case, as only they can use
them. Everything else about access is decided by ``tickets.services`` when used.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

from vorgang.accounts import access
from vorgang.accounts.models import AccessLevel, User
from vorgang.tickets.models import Ticket

from .models import Macro, TextModule


def _offered(ticket: Ticket) -> Q:
    return Q(tenant_id=ticket.tenant_id, active=True) & (
        Q(departments__isnull=True) | Q(departments=ticket.department_id)
    )


def _may_use(user: User, ticket: Ticket) -> bool:
    return user.tenant_id == ticket.tenant_id and access.has_level(
        user, ticket.department_id, AccessLevel.CHANGE
    )


def text_modules(user: User, ticket: Ticket) -> QuerySet[TextModule]:
    if not _may_use(user, ticket):
        return TextModule.objects.none()
    return TextModule.objects.filter(_offered(ticket)).distinct().order_by("name")


def macros(user: User, ticket: Ticket) -> QuerySet[Macro]:
    if not _may_use(user, ticket):
        return Macro.objects.none()
    return Macro.objects.filter(_offered(ticket)).distinct().order_by("name")
