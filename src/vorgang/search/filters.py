"""Field filters (``state:``, ``department:``, ...) resolved to conditions on the index.

Names are looked up in the searcher's tenant only. A value that names nothing in a
fixed vocabulary (state, department, service, owner) is an error the person can fix;
an unknown tag simply matches nothing (tags are free words).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from django.db.models import Q
from django.utils.translation import gettext as _

from vorgang.accounts.models import Department, Role, User
from vorgang.catalogue.models import OnlineService
from vorgang.tickets.models import State, StateKind, Tag

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


def _departments(user: User, values: Sequence[str]) -> list[int] | QueryError:
    qs = Department.objects.filter(tenant_id=user.tenant_id)
    ids: list[int] = []
    for value in values:
        match = Q(name__iexact=value)
        if value.isdigit():
            match |= Q(pk=int(value))
        found = list(qs.filter(match).values_list("pk", flat=True))
        if not found:
            return _unknown("department", value)
        ids += found
    return ids


def _services(user: User, values: Sequence[str]) -> list[int] | QueryError:
    qs = OnlineService.objects.filter(tenant_id=user.tenant_id)
    ids: list[int] = []
    for value in values:
        match = Q(slug__iexact=value) | Q(name_de__iexact=value) | Q(name_en__iexact=value)
        if value.isdigit():
            match |= Q(pk=int(value))
        found = list(qs.filter(match).values_list("pk", flat=True))
        if not found:
            return _unknown("service", value)
        ids += found
    return ids


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


def _id_condition(column: str, ids: Sequence[int | None], negate: bool) -> Condition:
    real = [i for i in ids if i is not None]
    cond = in_list(column, real)
    if None in ids:
        cond = Condition(f"({cond.sql}) OR {column} IS NULL", cond.params)
    return Condition(f"NOT ({cond.sql})", cond.params) if negate else cond


def resolve(user: User, filters: Sequence[FieldFilter]) -> list[Condition] | QueryError:
    """One SQL condition (on alias ``d``) per filter, or the first error."""
    lookups: dict[
        str, tuple[str, Callable[[User, Sequence[str]], Sequence[int | None] | QueryError]]
    ] = {
        "state": ("d.state_id", _states),
        "department": ("d.department_id", _departments),
        "service": ("d.service_id", _services),
        "owner": ("d.owner_id", _owners),
    }
    conditions: list[Condition] = []
    for f in filters:
        if f.name in lookups:
            column, lookup = lookups[f.name]
            ids = lookup(user, f.values)
            if isinstance(ids, QueryError):
                return ids
            conditions.append(_id_condition(column, list(ids), f.negate))
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
