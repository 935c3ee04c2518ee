"""What both backends share: the plan they execute and the SQL of walls and filters.

The permission wall (tenant, departments or citizen) and the field filters are plain
conditions on ``search_searchdocument`` (alias ``d``), identical on both databases;
only the text match, the ranking and the typo tolerance differ.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from django.db import connection

from ..documents import Document
from ..query import Term

TABLE = "search_searchdocument"
# Relevance is computed for the newest this many matches; they come first, in order of
# relevance, and the older matches follow newest first. Ranking every match of a word
# found in half of a million cases would cost more than an agent waits.
RANK_LIMIT = 1_000
# Counts are exact up to this many matches. Past it, the count is PostgreSQL's estimate
# (``Count.exact`` False, shown as "about N"): counting half a million matches exactly
# costs more than the whole rest of a search (see docs/adr/0004-estimated-search-counts.md).
COUNT_LIMIT = 1_000
# Words shorter than this are not matched with typo tolerance (trigrams need length).
FUZZY_MIN_LENGTH = 4
# pg_trgm word similarity needed for a name to count as "the same with a typo".
FUZZY_THRESHOLD = 0.45


@dataclass(frozen=True)
class Scope:
    """Whose cases: a tenant and either departments (agents) or one citizen."""

    tenant_id: int
    department_ids: tuple[int, ...] = ()
    citizen_id: int | None = None

    @property
    def public_only(self) -> bool:
        """Citizens search only what their case page shows them."""
        return self.citizen_id is not None


@dataclass
class Condition:
    sql: str
    params: list[Any] = field(default_factory=list)


@dataclass(frozen=True)
class Count:
    """How many cases match: exact, or (``exact`` False) an estimate above COUNT_LIMIT."""

    value: int
    exact: bool = True


@dataclass
class Plan:
    scope: Scope
    conditions: list[Condition]
    terms: list[Term]
    excluded: list[Term]
    sort: str  # relevance | newest | oldest
    limit: int
    offset: int
    fuzzy: bool = True


class Backend(Protocol):
    vendor: str

    def prepare(self, timeout_ms: int) -> None: ...

    def write(self, docs: Sequence[Document]) -> None: ...

    def delete(self, ticket_ids: Sequence[int]) -> None: ...

    def prune(self) -> int: ...

    def count(self, plan: Plan) -> Count: ...

    def page(self, plan: Plan) -> list[tuple[int, float]]: ...

    def fuzzy_names(self, term: str) -> list[str]: ...


def in_list(column: str, values: Sequence[Any], negate: bool = False) -> Condition:
    """``column IN (...)`` with one placeholder per value (works on both databases)."""
    if not values:
        return Condition("1=1" if negate else "1=0")
    marks = ", ".join(["%s"] * len(values))
    return Condition(f"{column} {'NOT IN' if negate else 'IN'} ({marks})", list(values))


def db_datetime(value: datetime) -> Any:
    return connection.ops.adapt_datetimefield_value(value)


def scope_conditions(scope: Scope) -> list[Condition]:
    conditions = [Condition("d.tenant_id = %s", [scope.tenant_id])]
    if scope.citizen_id is not None:
        conditions.append(Condition("d.citizen_id = %s", [scope.citizen_id]))
    else:
        conditions.append(in_list("d.department_id", scope.department_ids))
    return conditions


def where(conditions: Sequence[Condition]) -> tuple[str, list[Any]]:
    sql = " AND ".join(f"({c.sql})" for c in conditions) or "1=1"
    params: list[Any] = []
    for c in conditions:
        params.extend(c.params)
    return sql, params


def order_by_date(sort: str) -> str:
    return (
        "d.created_at ASC, d.ticket_id ASC"
        if sort == "oldest"
        else ("d.created_at DESC, d.ticket_id DESC")
    )


def fuzzy_word(term: Term) -> str | None:
    """The name key of a one-word term worth matching with typo tolerance, else None."""
    from .. import text

    if len(term.tokens) != 1:
        return None
    key = text.name_key(term.tokens[0])
    if len(key) < FUZZY_MIN_LENGTH or key.isdigit() or " " in key:
        return None
    return key
