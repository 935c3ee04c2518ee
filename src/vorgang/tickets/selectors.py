"""Reads of cases, always scoped to what the caller may see.

Every list or lookup of cases for a person goes through here, so that the wall
between tenants and departments is drawn in one place.
"""

from __future__ import annotations

import re

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext as _

from vorgang.accounts import access
from vorgang.accounts.models import AccessLevel, Role, User
from vorgang.core.errors import InvalidInput, NotFound

from .models import Article, Attachment, History, Link, Ticket


def visible_tickets(user: User, level: str = AccessLevel.OVERVIEW) -> QuerySet[Ticket]:
    """The cases ``user`` may list (overview) or open (read)."""
    base = Ticket.objects.filter(tenant_id=user.tenant_id)
    if not user.is_active:
        return base.none()
    if user.is_citizen:
        return base.filter(citizen=user)
    return base.filter(department_id__in=access.departments_with(user, level))


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


# Field names of the simple search syntax (``state.name:open``) and what they filter.
SEARCH_FIELDS: dict[str, str] = {
    "number": "number",
    "title": "title__icontains",
    "state": "state__name__iexact",
    "state.name": "state__name__iexact",
    "state_id": "state_id",
    "priority": "priority__name__iexact",
    "priority.name": "priority__name__iexact",
    "priority_id": "priority_id",
    "group": "department__name__iexact",
    "group.name": "department__name__iexact",
    "group_id": "department_id",
    "owner.login": "owner__username__iexact",
    "owner.email": "owner__email__iexact",
    "owner_id": "owner_id",
    "customer.email": "citizen__email__iexact",
    "customer_id": "citizen_id",
    "organization.name": "organisation__name__iexact",
    "organization_id": "organisation_id",
    "tags": "tags__name__iexact",
    "tag": "tags__name__iexact",
}
_ID_FIELDS = {"state_id", "priority_id", "group_id", "owner_id", "customer_id", "organization_id"}
_SEARCH_TERM = re.compile(r'(?:(?P<field>[\w.]+):)?(?:"(?P<quoted>[^"]*)"|(?P<word>\S+))')


def search_tickets(user: User, query: str) -> QuerySet[Ticket]:
    """Cases readable by ``user`` that match ``query``, newest change first.

    A stand-in until the search engine (issue 7) replaces it: ``field:value`` terms
    from SEARCH_FIELDS (values in quotes may hold spaces), ``*`` for all, and free
    words, each of which must occur in the title, the number or the text of an
    article the user may read. ``AND`` is implied; ``OR``/``NOT`` are not supported.
    """
    qs = visible_tickets(user, AccessLevel.READ)
    for match in _SEARCH_TERM.finditer(query or ""):
        field = (match.group("field") or "").lower()
        value = match.group("quoted") if match.group("quoted") is not None else match.group("word")
        value = (value or "").strip()
        if not field and (value in {"*", "AND", "&&"} or not value):
            continue
        if field:
            lookup = SEARCH_FIELDS.get(field)
            if lookup is None:
                raise InvalidInput(
                    _("Unknown search field %(field)s; known are: %(fields)s.")
                    % {"field": repr(field), "fields": ", ".join(sorted(SEARCH_FIELDS))}
                )
            if field in _ID_FIELDS and not value.isdigit():
                raise InvalidInput(_("%(field)s needs a number.") % {"field": field})
            qs = qs.filter(**{lookup: value})
            continue
        texts = Article.objects.filter(ticket=OuterRef("pk"), body__icontains=value)
        if user.is_citizen:
            texts = texts.filter(internal=False)
        qs = qs.filter(Q(title__icontains=value) | Q(number__icontains=value) | Exists(texts))
    return qs.distinct().order_by("-updated_at", "-pk")
