"""Reads of cases, always scoped to what the caller may see.

Every list or lookup of cases for a person goes through here, so that the wall
between tenants and departments is drawn in one place.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from vorgang.accounts import access
from vorgang.accounts.models import AccessLevel, Role, User
from vorgang.core import paging
from vorgang.core.errors import NotFound

from .models import Article, Attachment, History, Link, Ticket


def visible_tickets(user: User, level: str = AccessLevel.OVERVIEW) -> QuerySet[Ticket]:
    """The cases ``user`` may list (overview) or open (read)."""
    # The same rules as may_see, as a query.
    base = Ticket.objects.filter(tenant_id=user.tenant_id)
    if not user.is_active:
        return base.none()
    if user.is_citizen:
        return base.filter(citizen=user)
    return base.filter(department_id__in=access.departments_with(user, level))


def may_see(user: User, case: Ticket | Mapping[str, Any], level: str = AccessLevel.READ) -> bool:
    """Whether ``user`` may see one case already read (a ``Ticket`` or a row with its
    ``tenant_id``, ``department_id`` and ``citizen_id``): visible_tickets' rules, for a
    caller that read the row without them (one case by id, in plain SQL)."""
    row = case if isinstance(case, Mapping) else case.__dict__
    if not user.is_active or row["tenant_id"] != user.tenant_id:
        return False
    if user.is_citizen:
        return bool(row["citizen_id"] == user.pk)
    return row["department_id"] in access.departments_with(user, level)


def visible_ticket_ids(user: User, level: str, start: int, size: int) -> QuerySet[Ticket, int]:
    """Ids of one page (``start``, ``size``) of the cases ``user`` may see, in id order
    (a lazy query of ids).

    Deep pages of an agent's list start from remembered ids (``core.paging``) instead
    of walking every case before them. A citizen's few cases need no such help.
    """
    visible = visible_tickets(user, level)
    if user.is_citizen or not user.is_active:
        return visible.order_by("pk").values_list("pk", flat=True)[start : start + size]
    scope = paging.scope_key("tickets", access.departments_with(user, level))
    return paging.page_ids(visible, tenant_id=user.tenant_id, scope=scope, start=start, size=size)


def get_ticket(user: User, pk: int | str, level: str = AccessLevel.READ) -> Ticket:
    try:
        pk_int = int(pk)
    except (TypeError, ValueError):
        raise NotFound(_("This case does not exist or you may not see it.")) from None
    ticket = (
        visible_tickets(user, level)
        .select_related("state", "priority", "owner", "citizen", "department", "organisation")
        .filter(pk=pk_int)
        .first()
    )
    if ticket is None:
        raise NotFound(_("This case does not exist or you may not see it."))
    return ticket


def get_ticket_by_number(user: User, number: str) -> Ticket:
    found = visible_tickets(user, AccessLevel.READ).filter(number=number).values("pk").first()
    if found is None:
        raise NotFound(_("This case does not exist or you may not see it."))
    return get_ticket(user, found["pk"])


def articles(user: User, ticket: Ticket) -> QuerySet[Article]:
    """The case's timeline; citizens never see internal notes."""
    qs = (
        Article.objects.filter(ticket=ticket)
        .select_related("created_by")
        .prefetch_related("attachments__blob")
    )
    if user.is_citizen:
        qs = qs.filter(internal=False)
    return qs


def get_attachment(user: User, attachment_id: int | str) -> Attachment:
    """An attachment, if its article's case (wherever it was merged to) is readable."""
    try:
        pk = int(attachment_id)
    except (TypeError, ValueError):
        raise NotFound(_("Unknown attachment.")) from None
    visible = visible_tickets(user, AccessLevel.READ)
    qs = Attachment.objects.select_related("blob", "article").filter(
        pk=pk, article__ticket__in=visible
    )
    if user.is_citizen:
        qs = qs.filter(article__internal=False)
    found = qs.first()
    if found is None:
        raise NotFound(_("Unknown attachment."))
    return found


def ticket_history(ticket: Ticket) -> QuerySet[History]:
    return History.objects.filter(ticket=ticket).select_related("actor").order_by("seq")


def links(user: User, ticket: Ticket) -> list[tuple[str, Ticket]]:
    """Linked cases the user may see, with the link kind as seen from ``ticket``."""
    pairs: list[tuple[str, int]] = []
    for source_id, target_id, kind in Link.objects.filter(
        Q(source=ticket) | Q(target=ticket)
    ).values_list("source_id", "target_id", "kind"):
        if source_id == ticket.pk:
            pairs.append((kind, target_id))
        else:
            pairs.append(({"parent": "child", "child": "parent"}.get(kind, kind), source_id))
    others = visible_tickets(user).in_bulk([pk for _kind, pk in pairs])
    return [(kind, others[pk]) for kind, pk in pairs if pk in others]


def owner_candidates(ticket: Ticket) -> QuerySet[User]:
    """Agents who may own this case: full access in its department."""
    return (
        User.objects.filter(
            tenant_id=ticket.tenant_id,
            is_active=True,
            role__in=[Role.AGENT, Role.ADMIN],
            department_access__department_id=ticket.department_id,
            department_access__level=AccessLevel.FULL,
        )
        .distinct()
        .order_by("first_name", "last_name", "username")
    )


def get_article(user: User, pk: int | str) -> Article:
    """An article, if its case is readable for ``user``; citizens never get internal ones."""
    try:
        pk_int = int(pk)
    except (TypeError, ValueError):
        raise NotFound(_("This message does not exist or you may not see it.")) from None
    qs = (
        Article.objects.filter(pk=pk_int, ticket__in=visible_tickets(user, AccessLevel.READ))
        .select_related("created_by", "ticket")
        .prefetch_related("attachments__blob")
    )
    if user.is_citizen:
        qs = qs.filter(internal=False)
    found = qs.first()
    if found is None:
        raise NotFound(_("This message does not exist or you may not see it."))
    return found
