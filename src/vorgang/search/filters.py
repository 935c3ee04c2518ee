"""Field filters (``state:``, ``department:``, ...) resolved to conditions on the index.

Names are looked up in the searcher's tenant only. A value that names nothing in a
fixed vocabulary (state, department, service, owner, priority, organisation) is an
error the person can fix; an unknown tag simply matches nothing (tags are free words),
and so does an unknown citizen e-mail address (an error would tell whether a person
with that address exists).

Most filters are conditions on the indexed columns. Priority, organisation and title
are not in the index: they are read from the cases table in a subquery (tenant-scoped
like everything else), so they are always current without re-indexing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from vorgang.accounts.models import Department, Organisation, Role, User
from vorgang.catalogue.models import OnlineService
from vorgang.tickets.models import Priority, State, StateKind, Tag, Ticket

from . import text
from .backends.base import Condition, db_datetime, in_list
from .query import FieldFilter, QueryError

MAX_CITIZEN_WORDS = 5


def _unknown(name: str, value: str, known: Sequence[str] = ()) -> QueryError:
    message = _("No %(field)s matches %(value)s.") % {"field": name, "value": repr(value)}
    if known:
        message += " " + _("Known values: %(known)s.") % {"known": ", ".join(known[:30])}
    return QueryError("bad_value", message)


def _states(user: User, values: Sequence[str]) -> list[int] | QueryError:
    states = list(State.objects.all())
    ids: list[int] = []
    for value in values:
        wanted = value.lower()
        found = [
            s.pk
            for s in states
            if wanted in (s.name.lower(), s.kind.lower(), str(s).lower())
            or (s.kind in StateKind.values and wanted == str(StateKind(s.kind).label).lower())
        ]
        if not found:
            return _unknown("state", value, sorted({s.name for s in states}))
        ids += found
    return ids


def _ids_by_name(
    qs: QuerySet[Any], values: Sequence[str], field: str, by_name: Callable[[str], Q]
) -> list[int] | QueryError:
    """The ids of the rows each value names (by ``by_name``, or by id when it is a number)."""
    ids: list[int] = []
    for value in values:
        match = by_name(value)
        if value.isdigit():
            match |= Q(pk=int(value))
        found = list(qs.filter(match).values_list("pk", flat=True))
        if not found:
            return _unknown(field, value)
        ids += found
    return ids


def _departments(user: User, values: Sequence[str]) -> list[int] | QueryError:
    return _ids_by_name(
        Department.objects.filter(tenant_id=user.tenant_id),
        values,
        "department",
        lambda value: Q(name__iexact=value),
    )


def _services(user: User, values: Sequence[str]) -> list[int] | QueryError:
    return _ids_by_name(
        OnlineService.objects.filter(tenant_id=user.tenant_id),
        values,
        "service",
        lambda value: Q(slug__iexact=value) | Q(name_de__iexact=value) | Q(name_en__iexact=value),
    )


def _owners(user: User, values: Sequence[str]) -> list[int | None] | QueryError:
    qs = User.objects.filter(tenant_id=user.tenant_id, role__in=[Role.AGENT, Role.ADMIN])
    ids: list[int | None] = []
    for value in values:
        lowered = value.lower()
        if lowered in ("me", _("me").lower()):
            ids.append(user.pk)
            continue
        if lowered in ("none", _("none").lower()):
            ids.append(None)
            continue
        found = list(
            qs.filter(Q(username__iexact=value) | Q(email__iexact=value)).values_list(
                "pk", flat=True
            )
        )
        if not found:
            return _unknown("owner", value)
        ids += found
    return ids


def _priorities(user: User, values: Sequence[str]) -> list[int] | QueryError:
    """By name ("3 high", Zammad's) or without the rank ("high"), or its label."""
    priorities = list(Priority.objects.all())
    ids: list[int] = []
    for value in values:
        wanted = value.lower()
        found = [
            p.pk
            for p in priorities
            if wanted in (p.name.lower(), p.name.lower().lstrip("0123456789 "), str(p).lower())
        ]
        if not found:
            return _unknown("priority", value, [p.name for p in priorities])
        ids += found
    return ids


def _organisations(user: User, values: Sequence[str]) -> list[int] | QueryError:
    return _ids_by_name(
        Organisation.objects.filter(tenant_id=user.tenant_id),
        values,
        "organization",
        lambda value: Q(name__iexact=value),
    )


def _citizens_by_email(user: User, values: Sequence[str]) -> list[int]:
    return list(
        User.objects.filter(tenant_id=user.tenant_id, email__iexact=values[0]).values_list(
            "pk", flat=True
        )
    )


def _id_condition(column: str, ids: Sequence[int | None], negate: bool) -> Condition:
    real = [i for i in ids if i is not None]
    cond = in_list(column, real)
    if None in ids:
        cond = Condition(f"({cond.sql}) OR {column} IS NULL", cond.params)
    if not negate:
        return cond
    if None in ids:
        return Condition(f"NOT ({cond.sql})", cond.params)
    # NOT (x IN ...) is unknown, not true, when x is NULL: an unowned case is "not Anna's".
    return Condition(f"{column} IS NULL OR NOT ({cond.sql})", cond.params)


def _on_case(user: User, match: Q, negate: bool) -> Condition:
    """``d`` is (not) one of the searcher's tenant's cases matching ``match``."""
    cases = Ticket.objects.filter(match, tenant_id=user.tenant_id).order_by().values("pk")
    try:
        sql, params = cases.query.sql_with_params()
    except EmptyResultSet:  # e.g. an empty IN list: nothing can match
        return Condition("1=1" if negate else "1=0")
    return Condition(f"d.ticket_id {'NOT IN' if negate else 'IN'} ({sql})", list(params))


Lookup = Callable[[User, Sequence[str]], Sequence[int | None] | QueryError]
# Filters by name, on an indexed column of the document.
_INDEXED: dict[str, tuple[str, Lookup]] = {
    "state": ("d.state_id", _states),
    "department": ("d.department_id", _departments),
    "service": ("d.service_id", _services),
    "owner": ("d.owner_id", _owners),
    "citizen.email": ("d.citizen_id", _citizens_by_email),
}
# Filters by name, on a column of the case (not indexed).
_CASE_COLUMN: dict[str, tuple[str, Lookup]] = {
    "priority": ("priority_id", _priorities),
    "organization": ("organisation_id", _organisations),
}
# Zammad's id fields (whole numbers, checked by the parser).
_ID_INDEXED = {
    "state_id": "d.state_id",
    "department_id": "d.department_id",
    "owner_id": "d.owner_id",
    "citizen_id": "d.citizen_id",
}
_ID_CASE_COLUMN = {"priority_id": "priority_id", "organization_id": "organisation_id"}


def resolve(user: User, filters: Sequence[FieldFilter]) -> list[Condition] | QueryError:
    """One SQL condition (on alias ``d``) per filter, or the first error."""
    conditions: list[Condition] = []
    for f in filters:
        if f.name in _INDEXED or f.name in _CASE_COLUMN:
            column, lookup = _INDEXED.get(f.name) or _CASE_COLUMN[f.name]
            ids = lookup(user, f.values)
            if isinstance(ids, QueryError):
                return ids
            if f.name in _INDEXED:
                conditions.append(_id_condition(column, list(ids), f.negate))
            else:
                conditions.append(_on_case(user, Q(**{f"{column}__in": list(ids)}), f.negate))
        elif f.name in _ID_INDEXED:
            given = [int(v) for v in f.values]
            conditions.append(_id_condition(_ID_INDEXED[f.name], given, f.negate))
        elif f.name in _ID_CASE_COLUMN:
            given = [int(v) for v in f.values]
            column = _ID_CASE_COLUMN[f.name]
            conditions.append(_on_case(user, Q(**{f"{column}__in": given}), f.negate))
        elif f.name == "title":
            conditions.append(_on_case(user, Q(title__icontains=f.values[0]), f.negate))
        elif f.name == "tag":
            tag_ids = list(
                Tag.objects.filter(tenant_id=user.tenant_id)
                .filter(_any_name(f.values))
                .values_list("pk", flat=True)
            )
            inner = in_list("tt.tag_id", tag_ids)
            sql = (
                "EXISTS (SELECT 1 FROM tickets_ticket_tags tt "  # noqa: S608
                f"WHERE tt.ticket_id = d.ticket_id AND {inner.sql})"
            )
            conditions.append(Condition(f"NOT {sql}" if f.negate else sql, inner.params))
        elif f.name == "citizen":
            words = text.name_key(f.values[0]).split()[:MAX_CITIZEN_WORDS]
            if not words:
                return _unknown("citizen", f.values[0])
            sql = " AND ".join(["d.name_key LIKE %s"] * len(words))
            params = [f"%{w}%" for w in words]
            conditions.append(Condition(f"NOT ({sql})" if f.negate else sql, params))
        elif f.name == "number":
            numbers = [v.lstrip("#") for v in f.values]
            conditions.append(in_list("d.number", numbers, f.negate))
        elif f.name == "created" and f.dates is not None:
            parts, params = [], []
            if f.dates.start is not None:
                parts.append("d.created_at >= %s")
                params.append(db_datetime(f.dates.start))
            if f.dates.end is not None:
                parts.append("d.created_at < %s")
                params.append(db_datetime(f.dates.end))
            sql = " AND ".join(parts)
            conditions.append(Condition(f"NOT ({sql})" if f.negate else sql, params))
    return conditions


def _any_name(values: Sequence[str]) -> Q:
    match = Q(pk__in=[])
    for value in values:
        match |= Q(name__iexact=value)
    return match
