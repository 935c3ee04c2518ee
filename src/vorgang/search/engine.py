"""The one search entry point for the desk, the API and everything else.

    from vorgang.search.engine import search
    result = search(request.user, "Antrag Wohngeld state:open", page=1, per_page=25)
    result.total, result.total_exact, result.hits[0].ticket_id, result.hits[0].snippet_html

``result.total`` is exact up to 1,000 matches; past that (PostgreSQL) it is an estimate
and ``result.total_exact`` is False: show it as "about N" (docs/adr/0004).

The permission wall is part of the SQL (tenant, then the departments in which the
user holds ``level``, or the citizen's own cases), so totals, pages and snippets
only ever contain cases the user may list (``overview``, the default: the desk) or
open (``read``: the API, which returns whole cases). Nothing raises for bad input: the result
carries a ``QueryError`` instead (the API answers 422 with its message), and each
search is bounded in time (``VORGANG_SEARCH_TIMEOUT_MS``).
"""

from __future__ import annotations

import logging
import time
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils.translation import gettext as _

from vorgang.accounts import access
from vorgang.accounts.models import AccessLevel, User

from . import filters, snippets, text
from .backends import current
from .backends.base import Backend, Plan, Scope, fuzzy_word
from .query import SORTS, ParsedQuery, QueryError, parse

log = logging.getLogger(__name__)

MAX_PER_PAGE = 100
# Without snippets a page is just ids (the API's pages go up to 500 cases).
MAX_PER_PAGE_WITHOUT_SNIPPETS = 500
MAX_PAGE = 10_000
# SQLite: how many virtual-machine steps between two looks at the clock.
PROGRESS_STEPS = 10_000


@dataclass(frozen=True)
class Hit:
    ticket_id: int
    score: float
    snippet_html: str  # escaped text; only <mark> elements are markup


@dataclass
class SearchResult:
    total: int
    # False when ``total`` is PostgreSQL's estimate (more than COUNT_LIMIT matches):
    # show it as "about N"; pages past the real end are simply empty.
    total_exact: bool = True
    hits: list[Hit] = field(default_factory=list)
    error: QueryError | None = None
    warnings: list[str] = field(default_factory=list)
    page: int = 1
    per_page: int = 25
    sort: str = "relevance"


def _int(value: Any, default: int, low: int, high: int) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return default
    return max(low, min(high, number))


def _scope(user: User, level: str) -> Scope | None:
    if user.is_citizen:
        return Scope(tenant_id=user.tenant_id, citizen_id=user.pk)
    departments = access.departments_with(user, level)
    if not departments:
        return None
    return Scope(tenant_id=user.tenant_id, department_ids=tuple(departments))


def search(
    user: User | None,
    text_query: str | None,
    *,
    page: int = 1,
    per_page: int = 25,
    sort: str = "relevance",
    level: str = AccessLevel.OVERVIEW,
    with_snippets: bool = True,
) -> SearchResult:
    """Search the cases ``user`` may list (or reach at ``level``); see query.py for the syntax.

    ``with_snippets=False`` leaves ``snippet_html`` empty, for callers that show whole
    cases rather than excerpts (the API).
    """
    page = _int(page, 1, 1, MAX_PAGE)
    per_page = _int(
        per_page, 25, 1, MAX_PER_PAGE if with_snippets else MAX_PER_PAGE_WITHOUT_SNIPPETS
    )
    result = SearchResult(total=0, page=page, per_page=per_page)
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        result.error = QueryError("forbidden", _("Log in to search."))
        return result
    wanted_sort = SORTS.get(str(sort or "relevance").lower())
    if wanted_sort is None:
        result.error = QueryError(
            "unknown_sort",
            _("Unknown sort order %(value)s; use one of: %(known)s.")
            % {"value": repr(sort), "known": ", ".join(SORTS)},
        )
        return result
    parsed = parse(text_query)
    if isinstance(parsed, QueryError):
        result.error = parsed
        return result
    result.warnings = parsed.warnings
    result.sort = parsed.sort or wanted_sort
    if not parsed.terms and result.sort == "relevance":
        result.sort = "newest"  # nothing to rank: a filter-only search lists newest first
    scope = _scope(user, level)
    if scope is None:
        return result  # no department to search in
    conditions = filters.resolve(user, parsed.filters)
    if isinstance(conditions, QueryError):
        result.error = conditions
        return result
    plan = Plan(
        scope=scope,
        conditions=conditions,
        terms=parsed.terms,
        excluded=parsed.excluded,
        sort=result.sort,
        limit=per_page,
        offset=(page - 1) * per_page,
    )
    try:
        _run(current(), plan, parsed, result, with_snippets)
    except DatabaseError as exc:
        # Never a 500 for a search; the reason is logged (no query text: it may hold names).
        timed_out = "cancel" in str(exc).lower() or "interrupt" in str(exc).lower()
        log.warning("search failed: %s%s", type(exc).__name__, " (timeout)" if timed_out else "")
        result.total, result.total_exact, result.hits = 0, True, []
        result.error = (
            QueryError("timeout", _("The search took too long; add a word or a filter."))
            if timed_out
            else QueryError("unavailable", _("The search is not available right now."))
        )
    return result


def _timeout_ms() -> int:
    return int(getattr(settings, "VORGANG_SEARCH_TIMEOUT_MS", 5000))


def _run(
    backend: Backend, plan: Plan, parsed: ParsedQuery, result: SearchResult, with_snippets: bool
) -> None:
    timeout = _timeout_ms()
    # PostgreSQL: a transaction scopes the SET LOCALs. SQLite: none, since a transaction
    # there takes the write lock (IMMEDIATE mode) and a search must not block writers.
    scope: AbstractContextManager[Any] = (
        transaction.atomic() if connection.vendor == "postgresql" else nullcontext()
    )
    with scope, _deadline(timeout):
        backend.prepare(timeout)
        count = backend.count(plan)
        result.total, result.total_exact = count.value, count.exact
        if count.exact and plan.offset >= count.value:
            return
        rows = backend.page(plan)
    if not with_snippets:
        result.hits = [Hit(pk, score, "") for pk, score in rows]
        return
    stems = frozenset(text.stem(t) for term in parsed.terms for t in term.content_tokens)
    names = [k for k in (fuzzy_word(t) for t in parsed.terms) if k is not None]
    html = snippets.build(
        [pk for pk, _score in rows],
        stems=stems,
        names=names,
        public_only=plan.scope.public_only,
    )
    result.hits = [Hit(pk, score, html.get(pk, "")) for pk, score in rows]


class _deadline:
    """On SQLite, interrupt a statement that runs past the deadline (PostgreSQL has
    statement_timeout, set by the backend)."""

    def __init__(self, timeout_ms: int) -> None:
        self.limit = time.monotonic() + timeout_ms / 1000
        self.active = connection.vendor == "sqlite"

    def _check(self) -> int:
        return 1 if time.monotonic() > self.limit else 0

    def __enter__(self) -> _deadline:
        if self.active:
            connection.ensure_connection()
            connection.connection.set_progress_handler(self._check, PROGRESS_STEPS)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.active and connection.connection is not None:
            connection.connection.set_progress_handler(None, 0)
