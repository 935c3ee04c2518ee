"""Which cases an overview lists: the built-in overviews and the admin-defined ones.

Every overview starts from ``tickets.selectors.visible_tickets`` (tenant and department
walls) and only narrows it, so an agent never sees or counts a case outside their
departments. States are resolved to ids once per request (a tiny global table), so
the case queries filter on ``state_id`` and can use the case indexes; see
``desk/migrations/0002_ticket_overview_indexes.py`` and bench/desk.py for the plans.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.core.cache import cache
from django.db.models import Count, Exists, Max, OuterRef, Prefetch, Q, QuerySet
from django.utils.functional import Promise, cached_property
from django.utils.translation import gettext_lazy as _

from vorgang.accounts import access
from vorgang.accounts.models import AccessLevel, Department, User
from vorgang.catalogue.models import OnlineService
from vorgang.catalogue.processing import expected_days_for
from vorgang.core import clock
from vorgang.tickets import selectors
from vorgang.tickets.models import History, Priority, State, StateKind, Tag, Ticket

from .models import DEFAULT_COLUMNS, OwnerCondition
from .models import Overview as CustomOverview

RECENTLY_CLOSED_DAYS = 7
# Counts are kept this long at most for one user (see ``counts``); any change of a case
# (a new history entry) or a new minute makes new ones sooner.
COUNTS_CACHE_SECONDS = 60
# Expected processing times change slowly (a median over 90 days): computing them on
# every page would scan the closed cases of the last 90 days each time.
EXPECTED_DAYS_CACHE_SECONDS = 300

SERVICE_TEXTS = (
    "schema",
    "ui",
    "documents",
    "description_de",
    "description_en",
    "confirmation_de",
    "confirmation_en",
)

# Sort keys of the ``sort`` parameter -> the ORDER BY; "-pk" breaks ties stably.
SORTS: dict[str, tuple[str, ...]] = {
    "age": ("created_at", "pk"),
    "-age": ("-created_at", "-pk"),
    "updated": ("updated_at", "pk"),
    "-updated": ("-updated_at", "-pk"),
    "priority": ("priority__level", "-created_at", "-pk"),
    "-priority": ("-priority__level", "-created_at", "-pk"),
    "state": ("state__name", "-created_at", "-pk"),
    "-state": ("-state__name", "-created_at", "-pk"),
    "number": ("number",),
    "-number": ("-number",),
    "pending": ("pending_until", "pk"),
    "-pending": ("-pending_until", "-pk"),
    "closed": ("closed_at", "pk"),
    "-closed": ("-closed_at", "-pk"),
}


@dataclass
class Scope:
    """What every overview of one request needs: the user, the time, the state ids."""

    user: User
    now: datetime
    states: dict[str, list[int]]  # state kind -> ids
    all_states: list[State]

    @classmethod
    def of(cls, user: User) -> Scope:
        all_states = list(State.objects.order_by("pk"))
        states: dict[str, list[int]] = {}
        for state in all_states:
            states.setdefault(state.kind, []).append(state.pk)
        return cls(user=user, now=clock.now(), states=states, all_states=all_states)

    def ids(self, *kinds: str) -> list[int]:
        return [pk for kind in kinds for pk in self.states.get(kind, [])]

    @property
    def open_ids(self) -> list[int]:
        return self.ids(
            StateKind.NEW, StateKind.OPEN, StateKind.PENDING_REMINDER, StateKind.PENDING_CLOSE
        )

    def visible(self) -> QuerySet[Ticket]:
        return selectors.visible_tickets(self.user, AccessLevel.OVERVIEW)

    @cached_property
    def stamp(self) -> str:
        """What the counts of this moment depend on besides the user: the newest history
        entry (every change of a case through ``tickets.services`` writes one, so a new
        or changed case makes a new stamp) and the minute (the overviews "reminder
        reached" and "overdue" change with the time alone)."""
        newest = History.objects.order_by("-pk").values_list("pk", flat=True).first()
        return f"{newest or 0}:{int(self.now.timestamp() // 60)}"

    def cache_key(self, *parts: Any) -> str:
        """A cache key for counts of this user at this stamp (hashed: parts may be long)."""
        raw = repr((self.user.tenant_id, self.user.pk, self.stamp, parts))
        return f"desk:counts:{hashlib.sha256(raw.encode()).hexdigest()}"


@dataclass
class Definition:
    """One overview as the desk shows it: built-in or defined by an administrator.

    Most built-in overviews are a part of the open cases: ``subset`` is their condition
    on top of :func:`open_cases`, which lets :func:`counts` count them all in one pass.
    """

    slug: str
    name: str | Promise
    cases: Callable[[Scope], QuerySet[Ticket]]
    columns: list[str] = field(default_factory=lambda: list(DEFAULT_COLUMNS))
    order: str = "-age"
    custom: CustomOverview | None = None
    subset: Callable[[Scope], Q] | None = None

    @property
    def is_custom(self) -> bool:
        return self.custom is not None


# --- the built-in overviews -------------------------------------------------------------------


def open_cases(scope: Scope) -> QuerySet[Ticket]:
    """Visible cases in an open state (new, open, waiting).

    ``closed_at IS NULL`` says nothing new (the write path keeps ``closed_at`` set
    exactly for closed and merged cases) but lets PostgreSQL use the partial indexes
    over open cases, a fifth of all cases or less.
    """
    return scope.visible().filter(state_id__in=scope.open_ids, closed_at__isnull=True)


def _mine(scope: Scope) -> Q:
    return Q(owner_id=scope.user.pk)


def _unassigned(scope: Scope) -> Q:
    return Q(owner__isnull=True)


def _waiting(scope: Scope) -> Q:
    # A waiting case always has its date; saying so lets PostgreSQL read the waiting
    # cases in date order from ``desk_ticket_open_pending`` instead of sorting them all.
    return Q(
        state_id__in=scope.ids(StateKind.PENDING_REMINDER, StateKind.PENDING_CLOSE),
        pending_until__isnull=False,
    )


def _reminder(scope: Scope) -> Q:
    return Q(
        state_id__in=scope.ids(StateKind.PENDING_REMINDER),
        pending_until__isnull=False,
        pending_until__lte=scope.now,
    )


def expected_days(tenant_id: int) -> dict[int, int]:
    """Service id -> expected processing days, for the tenant's services that have one."""
    services = OnlineService.objects.filter(tenant_id=tenant_id)
    # A changed or new service changes the key (one query on a small table), so the
    # cache only spares the medians of closed cases, never shows stale settings.
    version = services.aggregate(n=Count("pk"), changed=Max("updated_at"), last=Max("pk"))
    stamp = version["changed"].timestamp() if version["changed"] else 0
    key = f"desk:expected-days:{tenant_id}:{version['n']}:{version['last']}:{stamp}"
    cached: dict[int, int] | None = cache.get(key)
    if cached is None:
        cached = {pk: days for pk, days in expected_days_for(services).items() if days}
        cache.set(key, cached, EXPECTED_DAYS_CACHE_SECONDS)
    return cached


def overdue_condition(tenant_id: int, now: datetime) -> Q:
    """Received longer ago than the service's expected processing time.

    Services with the same number of days share one term, so the condition stays short
    however many services there are. Cases without a service are never overdue.
    """
    by_days: dict[int, list[int]] = {}
    for service_id, days in expected_days(tenant_id).items():
        by_days.setdefault(days, []).append(service_id)
    condition = Q(pk__in=[])
    for days, service_ids in sorted(by_days.items()):
        condition |= Q(service_id__in=service_ids, created_at__lt=now - timedelta(days=days))
    return condition


def _overdue(scope: Scope) -> Q:
    return overdue_condition(scope.user.tenant_id, scope.now)


def _everything(scope: Scope) -> Q:
    return Q()


def _recently_closed(scope: Scope) -> QuerySet[Ticket]:
    since = scope.now - timedelta(days=RECENTLY_CLOSED_DAYS)
    return scope.visible().filter(state_id__in=scope.ids(StateKind.CLOSED), closed_at__gte=since)


def _open_part(
    slug: str,
    name: Promise,
    subset: Callable[[Scope], Q],
    *,
    names_states: bool = False,
    **kwargs: Any,
) -> Definition:
    """A part of the open cases; ``names_states``: ``subset`` names (open) states itself.

    Then the open states are not named as well: a second ``state_id IN (…)`` made
    PostgreSQL misjudge the number of rows and kept it from reading an index in order
    ("reminder reached" sorted 20,000 cases instead of reading the first 25).
    """

    def cases(scope: Scope) -> QuerySet[Ticket]:
        if names_states:
            return scope.visible().filter(subset(scope), closed_at__isnull=True)
        return open_cases(scope).filter(subset(scope))

    return Definition(slug, name, cases, subset=subset, **kwargs)


_COLS = ["number", "title", "citizen", "department", "state", "priority", "owner"]

BUILT_IN: list[Definition] = [
    _open_part("mine", _("My open cases"), _mine, columns=[*_COLS, "created"]),
    _open_part("unassigned", _("Unassigned"), _unassigned, columns=[*_COLS, "created"]),
    _open_part(
        "waiting",
        _("Waiting for the citizen"),
        _waiting,
        names_states=True,
        columns=[*_COLS, "pending_until"],
        order="pending",
    ),
    _open_part(
        "reminder",
        _("Reminder reached"),
        _reminder,
        names_states=True,
        columns=[*_COLS, "pending_until"],
        order="pending",
    ),
    _open_part(
        "overdue",
        _("Overdue"),
        _overdue,
        columns=[*_COLS[:4], "service", *_COLS[4:], "created"],
        order="age",
    ),
    # Named as the desk's first page always was (and its translation).
    _open_part("open", _("Open cases"), _everything, columns=[*_COLS, "created"]),
    Definition(
        "closed",
        _("Recently closed"),
        _recently_closed,
        columns=[*_COLS, "closed"],
        order="-closed",
    ),
]
BUILT_IN_SLUGS = frozenset(d.slug for d in BUILT_IN)
DEFAULT_SLUG = "open"


# --- admin-defined overviews ------------------------------------------------------------------


def custom_cases(overview: CustomOverview, scope: Scope) -> QuerySet[Ticket]:
    """The cases an admin-defined overview lists for ``scope.user``.

    Conditions on departments, services, states, priorities and tags are read as ids,
    one small query each (only when the cases are, see ``visible_custom``).
    """
    states = list(overview.states.values_list("pk", flat=True))
    qs = scope.visible().filter(state_id__in=states) if states else open_cases(scope)
    departments = list(overview.departments.values_list("pk", flat=True))
    if departments:
        qs = qs.filter(department_id__in=departments)
    services = list(overview.services.values_list("pk", flat=True))
    if services:
        qs = qs.filter(service_id__in=services)
    priorities = list(overview.priorities.values_list("pk", flat=True))
    if priorities:
        qs = qs.filter(priority_id__in=priorities)
    qs = owner_filter(qs, overview.owner, scope.user, overview.owner_person_id)
    tags = list(overview.tags.values_list("pk", flat=True))
    if tags:
        qs = qs.filter(_has_tag(Q(tag_id__in=tags)))
    if overview.older_than_days:
        qs = qs.filter(created_at__lt=scope.now - timedelta(days=overview.older_than_days))
    return qs


def owner_filter(
    qs: QuerySet[Ticket], condition: str, user: User, person_id: int | None = None
) -> QuerySet[Ticket]:
    if condition == OwnerCondition.ME:
        return qs.filter(owner_id=user.pk)
    if condition == OwnerCondition.NOBODY:
        return qs.filter(owner__isnull=True)
    if condition == OwnerCondition.SOMEONE:
        return qs.filter(owner__isnull=False)
    if condition == OwnerCondition.PERSON:
        return qs.filter(owner_id=person_id) if person_id else qs.none()
    return qs


def _has_tag(condition: Q) -> Exists:
    """EXISTS on the tag table: no join, so no duplicate rows and no DISTINCT."""
    through = Ticket.tags.through
    return Exists(through.objects.filter(condition, ticket_id=OuterRef("pk")))


def tag_named(name: str, tenant_id: int) -> Exists:
    """Cases with the tag ``name``: the tag's id is looked up first, so each case costs
    one probe of the tag table's (case, tag) index instead of a join with the tags."""
    ids = list(Tag.objects.filter(tenant_id=tenant_id, name=name).values_list("pk", flat=True))
    return _has_tag(Q(tag_id__in=ids))


def _sees(overview: CustomOverview, user: User, member_of: set[int]) -> bool:
    if overview.visible_roles and user.role not in overview.visible_roles:
        return False
    wanted = {d.pk for d in overview.visible_departments.all()}
    return not wanted or bool(wanted & member_of)


def visible_custom(user: User) -> list[CustomOverview]:
    """The tenant's active overviews that ``user`` may see.

    Only what decides the visibility is prefetched: the conditions (five relations) are
    read when the overview's cases are, which most pages don't (counts come from the
    cache, see ``counts``).
    """
    member_of = set(access.levels_by_department(user))
    overviews = CustomOverview.objects.filter(
        tenant_id=user.tenant_id, active=True
    ).prefetch_related("visible_departments")
    return [o for o in overviews if _sees(o, user, member_of)]


def _custom_definition(overview: CustomOverview) -> Definition:
    def cases(scope: Scope) -> QuerySet[Ticket]:
        return custom_cases(overview, scope)

    return Definition(
        slug=overview.slug,
        name=overview.name,
        cases=cases,
        columns=list(overview.columns) or list(DEFAULT_COLUMNS),
        order=overview.order if overview.order in SORTS else "-age",
        custom=overview,
    )


def definitions(user: User) -> list[Definition]:
    """The overviews ``user`` sees in the navigation: built-in first, then custom ones."""
    return [*BUILT_IN, *(_custom_definition(o) for o in visible_custom(user))]


# --- counts -----------------------------------------------------------------------------------


@dataclass
class Counts:
    by_slug: dict[str, int]
    # Open cases per department (the "all open" overview split by department).
    departments: list[tuple[Department, int]]


def counts(
    scope: Scope, overviews: Iterable[Definition], departments: Iterable[Department]
) -> Counts:
    """The number of cases of each overview, from the cache while nothing changed.

    Counting reads every open case the user may see: at a city's size (a million cases,
    a fifth of them open) that took longer than the rest of the page. The counts are
    kept per user under ``Scope.stamp``, so they are exact as of the last change of any
    case and at most a minute late for the overviews that depend on the time alone.
    ``departments``: those the user may list cases of.
    """
    overviews = list(overviews)
    departments = list(departments)
    key = scope.cache_key(
        "counts",
        [(d.slug, d.custom.pk, d.custom.updated_at) if d.custom else d.slug for d in overviews],
        [d.pk for d in departments],
    )
    cached: tuple[dict[str, int], dict[int, int]] | None = cache.get(key)
    if cached is None:
        cached = _count(scope, overviews)
        cache.set(key, cached, COUNTS_CACHE_SECONDS)
    by_slug, by_department = cached
    return Counts(
        by_slug=by_slug, departments=[(d, by_department.get(d.pk, 0)) for d in departments]
    )


def cached_count(scope: Scope, qs: QuerySet[Ticket], *key: Any) -> int:
    """``qs.count()``, kept like the counts of ``counts`` (``key`` says what ``qs`` is)."""
    cache_key = scope.cache_key("count", *key)
    found: int | None = cache.get(cache_key)
    if found is None:
        found = qs.count()
        cache.set(cache_key, found, COUNTS_CACHE_SECONDS)
    return found


def _count(scope: Scope, overviews: list[Definition]) -> tuple[dict[str, int], dict[int, int]]:
    """The counts themselves, with few queries: the built-in parts of the open cases in one
    aggregated query (one pass over the open cases, grouped by department for "open
    cases" by department); every other overview costs one COUNT query."""
    parts = [d for d in overviews if d.subset is not None and not d.is_custom]
    by_department: dict[int, int] = {}
    result: dict[str, int] = {d.slug: 0 for d in parts}
    if parts:
        # COUNT(department_id): a column of the index, so the scan needs no table rows.
        aggregates = {}
        for i, definition in enumerate(parts):
            condition = definition.subset(scope) if definition.subset else None
            aggregates[f"n_{i}"] = Count("department_id", filter=condition or None)
        rows = (
            open_cases(scope)
            .order_by()
            .values("department_id")
            .annotate(**aggregates)
            .values_list("department_id", *aggregates)
        )
        for department_id, *numbers in rows:
            for definition, number in zip(parts, numbers, strict=True):
                result[definition.slug] += number
                if definition.slug == "open":
                    by_department[department_id] = number
    for definition in overviews:
        if definition.subset is None or definition.is_custom:
            result[definition.slug] = definition.cases(scope).count()
    return result, by_department


def ordered(qs: QuerySet[Ticket], sort: str) -> QuerySet[Ticket]:
    return qs.order_by(*SORTS.get(sort, SORTS["-age"]))


def listing(
    qs: QuerySet[Ticket], sort: str, columns: list[str], priorities: Iterable[Priority]
) -> QuerySet[Ticket] | ByPriority:
    """The cases of an overview in the order ``sort``, with what ``columns`` show, ready
    to be sliced into pages."""
    if sort in ("priority", "-priority"):
        return ByPriority(with_rows(qs, columns), priorities, highest_first=sort == "-priority")
    return with_rows(ordered(qs, sort), columns)


class ByPriority:
    """The cases of ``qs`` by priority level (then newest first), sliced into pages.

    ``ORDER BY`` on the priority's level joins the priority table, and no index covers a
    column of another table: PostgreSQL read and sorted every case of the overview (a
    fifth of a million cases took a second) before it could show the first 25. There
    are few priorities, so a page is read one level after the other, each level newest
    first, an order the index ``desk_ticket_open_priority`` serves: a page costs the
    rows up to it, not all rows. Same order and ties as ``SORTS["priority"]``.
    """

    def __init__(
        self, qs: QuerySet[Ticket], priorities: Iterable[Priority], *, highest_first: bool
    ) -> None:
        by_level: dict[int, list[int]] = {}
        for priority in priorities:
            by_level.setdefault(priority.level, []).append(priority.pk)
        self.qs = qs
        self.levels = [by_level[level] for level in sorted(by_level, reverse=highest_first)]

    def count(self) -> int:
        return self.qs.count()

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, key: slice) -> list[Ticket]:
        if not isinstance(key, slice) or key.step is not None or key.stop is None:
            raise TypeError("ByPriority takes slices with a stop and no step")
        start = key.start or 0
        wanted = key.stop - start
        found: list[Ticket] = []
        skip = start  # rows before the page not passed yet
        for ids in self.levels:
            if len(found) >= wanted:
                break
            level = self.qs.filter(priority_id__in=ids).order_by("-created_at", "-pk")
            rows = list(level[skip : skip + wanted - len(found)])
            if rows:
                found += rows
                skip = 0
            elif skip:
                # The whole level lies before the page: pass its rows (fewer than ``skip``).
                skip -= level.order_by()[:skip].count()
        return found


def with_rows(qs: QuerySet[Ticket], columns: list[str]) -> QuerySet[Ticket]:
    """What the columns show, without joins.

    People and services come in one small query each (by primary key) and states,
    priorities and departments from the lists the page has anyway (:func:`attach`):
    PostgreSQL plans a single-table query in well under a millisecond, a seven-table
    join took longer to plan than to run.
    """
    qs = qs.defer("data", "attributes")
    related: list[str | Prefetch[Any]] = []
    if "owner" in columns:
        related.append("owner")
    if "citizen" in columns:
        related.append("citizen")
    if "service" in columns:
        # The service's definition (schema, texts) can be large and no column shows it.
        related.append(Prefetch("service", OnlineService.objects.defer(*SERVICE_TEXTS)))
    if "tags" in columns:
        related.append("tags")
    return qs.prefetch_related(*related)


def attach(
    tickets: Iterable[Ticket],
    states: Iterable[State],
    priorities: Iterable[Any],
    departments: Iterable[Department],
) -> None:
    """Set state, priority and department from lists already loaded (no query)."""
    by_state = {s.pk: s for s in states}
    by_priority = {p.pk: p for p in priorities}
    by_department = {d.pk: d for d in departments}
    for ticket in tickets:
        if ticket.state_id in by_state:
            ticket.state = by_state[ticket.state_id]
        if ticket.priority_id in by_priority:
            ticket.priority = by_priority[ticket.priority_id]
        if ticket.department_id in by_department:
            ticket.department = by_department[ticket.department_id]


def find(user: User, slug: str) -> tuple[Definition, list[Definition]] | None:
    """The overview named ``slug`` among those ``user`` sees, and all of them."""
    available = definitions(user)
    for definition in available:
        if definition.slug == slug:
            return definition, available
    return None
