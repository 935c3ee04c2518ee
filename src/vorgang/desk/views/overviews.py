"""The overviews: lists of cases with counts in the navigation, filters, sorting, pages,
and bulk changes of the selected cases.

Which cases an overview holds is decided in ``desk.overviews`` (on top of the
selectors' walls); this module reads the request, renders the page and, for bulk
changes, calls ``tickets.services`` once per case so every change takes the one
write path with its permission check and history.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from django import forms
from django.contrib import messages
from django.core.paginator import Page, Paginator
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.functional import cached_property
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language, gettext_lazy, ngettext
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from vorgang.accounts import access
from vorgang.accounts.models import AccessLevel, Department, DepartmentAccess, Role, User
from vorgang.catalogue.models import OnlineService
from vorgang.core import clock
from vorgang.core.errors import ServiceError
from vorgang.tickets import selectors, services
from vorgang.tickets.models import Priority, State, StateKind, Ticket

from .. import overviews, queries
from ..models import COLUMN_CHOICES
from .actions import Refused, parse_local_datetime
from .common import current_user, desk_view, error_page

PAGE_SIZE = 25
MAX_PAGED = 2000  # cases one can page through (80 pages); see CountedPaginator
MAX_BULK = 500  # more than any page holds; a limit on what one POST may touch
FILTERS = ("department", "state", "priority", "owner", "tag", "service")
COLUMN_LABELS = dict(COLUMN_CHOICES)
# Column -> (sort key, the direction a first click sorts in).
COLUMN_SORTS: dict[str, tuple[str, str]] = {
    "number": ("number", "number"),
    "state": ("state", "state"),
    "priority": ("priority", "-priority"),
    "created": ("age", "-age"),
    "updated": ("updated", "-updated"),
    "pending_until": ("pending", "pending"),
    "closed": ("closed", "-closed"),
}


class CountedPaginator(Paginator):
    """A paginator that takes a count already known (from the navigation's counts) and
    pages through the first ``MAX_PAGED`` cases only.

    A deep page costs every row before it (OFFSET), and an overview can hold a fifth
    of a million cases: beyond the first thousands, filters and sorting find a case
    faster than paging does (Zammad lists at most 2,000 cases of an overview, too).
    ``total`` is the number of all cases, ``count`` the number one can page through.
    """

    def __init__(
        self,
        object_list: QuerySet[Ticket] | overviews.ByPriority,
        per_page: int,
        *,
        known_count: int | None,
    ) -> None:
        # ByPriority is sliced only, as a Paginator does; it is no full sequence.
        super().__init__(cast(Any, object_list), per_page)
        self._cases = object_list
        self._known_count = known_count

    @cached_property
    def total(self) -> int:
        if self._known_count is not None:
            return self._known_count
        # A queryset or overviews.ByPriority (not Paginator.count: that caches itself
        # under the name ``count``, which would be this class's capped count).
        return int(self._cases.count())

    @cached_property
    def count(self) -> int:
        return min(self.total, MAX_PAGED)

    @property
    def truncated(self) -> bool:
        return self.total > self.count


# --- what the page needs besides the cases ----------------------------------------------------


@dataclass
class Choices:
    """Departments, people, services and priorities for the filter and bulk forms."""

    visible: list[Department]  # may list cases of (overview level)
    move_targets: list[Department]  # may hand cases to (create level)
    owners: list[User]  # may own cases in one of the visible departments
    services: list[OnlineService]
    priorities: list[Priority]
    states: list[State]  # all states, for filtering
    selectable_states: list[State]  # the states an agent may set by hand

    @classmethod
    def of(cls, user: User, scope: overviews.Scope) -> Choices:
        visible_ids = set(access.departments_with(user, AccessLevel.OVERVIEW))
        target_ids = set(access.departments_with(user, AccessLevel.CREATE))
        departments = list(
            Department.objects.filter(tenant_id=user.tenant_id, pk__in=visible_ids | target_ids)
        )
        # The ids first (a small table): as a subquery, PostgreSQL walked the whole user
        # table (citizens included, hundreds of thousands in a city) to find them.
        may_own = set(
            DepartmentAccess.objects.filter(
                department_id__in=visible_ids, level=AccessLevel.FULL
            ).values_list("user_id", flat=True)
        )
        owners = list(
            User.objects.filter(
                tenant_id=user.tenant_id,
                is_active=True,
                role__in=[Role.AGENT, Role.ADMIN],
                pk__in=may_own,
            )
            .only("pk", "username", "first_name", "last_name", "email")
            .order_by("first_name", "last_name", "username")
        )
        return cls(
            visible=[d for d in departments if d.pk in visible_ids],
            move_targets=[d for d in departments if d.pk in target_ids and d.active],
            owners=owners,
            services=list(
                OnlineService.objects.filter(tenant_id=user.tenant_id).only(
                    "pk", "name_de", "name_en"
                )
            ),
            priorities=list(queries.priorities()),
            states=[s for s in scope.all_states if s.active],
            selectable_states=[
                s for s in scope.all_states if s.active and s.kind != StateKind.MERGED
            ],
        )


def _service_name(service: OnlineService) -> str:
    from django.utils.translation import get_language

    if (get_language() or "de").startswith("en") and service.name_en:
        return service.name_en
    return service.name_de


# --- filters ----------------------------------------------------------------------------------


class FilterForm(forms.Form):
    """The filter form above the list (GET parameters); choices only from what one may see."""

    department = forms.TypedChoiceField(
        label=gettext_lazy("Department"), required=False, coerce=int, empty_value=None
    )
    state = forms.TypedChoiceField(
        label=gettext_lazy("State"), required=False, coerce=int, empty_value=None
    )
    priority = forms.TypedChoiceField(
        label=gettext_lazy("Priority"), required=False, coerce=int, empty_value=None
    )
    owner = forms.ChoiceField(label=gettext_lazy("Owner"), required=False)
    tag = forms.CharField(label=gettext_lazy("Tag"), required=False, max_length=services.MAX_TAG)
    service = forms.TypedChoiceField(
        label=gettext_lazy("Online service"), required=False, coerce=int, empty_value=None
    )

    def __init__(self, data: Any, choices: Choices, **kwargs: Any) -> None:
        super().__init__(data, **kwargs)
        every: list[tuple[Any, str]] = [("", _("all"))]
        options: dict[str, list[tuple[Any, str]]] = {
            "department": [(d.pk, d.name) for d in choices.visible],
            "state": [(s.pk, str(s)) for s in choices.states],
            "priority": [(p.pk, str(p)) for p in choices.priorities],
            "owner": [("me", _("me")), ("nobody", _("nobody"))]
            + [(str(u.pk), u.display_name) for u in choices.owners],
            "service": [(s.pk, _service_name(s)) for s in choices.services],
        }
        for name, pairs in options.items():
            field = self.fields[name]
            assert isinstance(field, forms.ChoiceField)
            field.choices = every + pairs

    def rows(self) -> list[dict[str, Any]]:
        """The fields ready for the template, their options as HTML (``option_tags``): a
        template loop over a hundred owners took longer than the rest of the form."""
        rows = []
        for name, form_field in self.fields.items():
            value = str(self.data.get(name, "")) if self.is_bound else ""
            error = name in self.errors
            choices = getattr(form_field, "choices", None)
            rows.append(
                {
                    "name": name,
                    "label": form_field.label,
                    "error": error,
                    "value": value,
                    "options": None
                    if choices is None
                    else option_tags(
                        (str(v), label, not error and str(v) == value) for v, label in choices
                    ),
                }
            )
        return rows

    def apply(self, qs: QuerySet[Ticket], user: User) -> QuerySet[Ticket]:
        data = self.cleaned_data
        if data.get("department"):
            qs = qs.filter(department_id=data["department"])
        if data.get("state"):
            qs = qs.filter(state_id=data["state"])
        if data.get("priority"):
            qs = qs.filter(priority_id=data["priority"])
        owner = data.get("owner") or ""
        if owner in ("me", "nobody"):
            qs = overviews.owner_filter(qs, owner, user)
        elif owner:
            qs = qs.filter(owner_id=int(owner))
        tag = " ".join((data.get("tag") or "").split())
        if tag:
            qs = qs.filter(overviews.tag_named(tag, user.tenant_id))
        if data.get("service"):
            qs = qs.filter(service_id=data["service"])
        return qs


def _filter_params(request: HttpRequest) -> dict[str, str]:
    return {key: request.GET[key] for key in FILTERS if request.GET.get(key, "").strip()}


# --- the list -----------------------------------------------------------------------------------


def _clean_sort(value: str | None, default: str) -> str:
    return value if value in overviews.SORTS else default


def _header(column: str, sort: str, params: dict[str, str]) -> dict[str, Any]:
    label = COLUMN_LABELS.get(column, column)
    if column not in COLUMN_SORTS:
        return {"key": column, "label": label, "href": None, "aria_sort": None}
    key, first = COLUMN_SORTS[column]
    if sort == key:
        aria_sort, next_sort = "ascending", f"-{key}"
    elif sort == f"-{key}":
        aria_sort, next_sort = "descending", key
    else:
        aria_sort, next_sort = None, first
    href = "?" + urlencode({"sort": next_sort, **params})
    return {"key": column, "label": label, "href": href, "aria_sort": aria_sort}


def _page_links(page: Page[Ticket], sort: str, params: dict[str, str]) -> dict[str, str]:
    def link(number: int) -> str:
        return "?" + urlencode({"sort": sort, **params, "page": str(number)})

    links: dict[str, str] = {}
    if page.has_previous():
        links["first"] = link(1)
        links["previous"] = link(page.previous_page_number())
    if page.has_next():
        links["next"] = link(page.next_page_number())
        links["last"] = link(page.paginator.num_pages)
    return links


@desk_view
def overview(request: HttpRequest, slug: str = overviews.DEFAULT_SLUG) -> HttpResponseBase:
    return render_overview(request, current_user(request), slug)


def render_overview(
    request: HttpRequest,
    user: User,
    slug: str,
    *,
    status: int = 200,
    bulk: BulkForm | None = None,
) -> HttpResponse:
    found = overviews.find(user, slug)
    if found is None:
        return error_page(request, 404)
    definition, available = found
    scope = overviews.Scope.of(user)
    choices = Choices.of(user, scope)
    counted = overviews.counts(scope, available, choices.visible)

    params = _filter_params(request)
    filters = FilterForm(params or None, choices)
    qs = definition.cases(scope)
    known_count: int | None = counted.by_slug.get(definition.slug)
    if params:
        if filters.is_valid():
            qs = filters.apply(qs, user)
            known_count = overviews.cached_count(scope, qs, definition.slug, sorted(params.items()))
        else:
            # A wrong filter value is a bad request: say which field, list unfiltered.
            status = max(status, 400)
    sort = _clean_sort(request.GET.get("sort"), definition.order)
    cases = overviews.listing(qs, sort, definition.columns, choices.priorities)
    paginator = CountedPaginator(cases, PAGE_SIZE, known_count=known_count)
    page = paginator.get_page(request.GET.get("page"))
    # State, priority and department from the lists loaded for the forms (no joins).
    overviews.attach(page.object_list, scope.all_states, choices.priorities, choices.visible)
    valid_params = {k: v for k, v in params.items() if k not in filters.errors} if params else {}
    readable = set(access.departments_with(user, AccessLevel.READ))

    context: dict[str, Any] = {
        "definition": definition,
        "slug": definition.slug,
        "page": page,
        "rows": table_rows(
            page.object_list, definition.columns, readable, (bulk or BulkForm.empty()).selected
        ),
        "paginator": paginator,
        "page_links": _page_links(page, sort, valid_params),
        "sort": sort,
        "columns": definition.columns,
        "headers": [_header(c, sort, valid_params) for c in definition.columns],
        "filters": filters,
        "filter_rows": filters.rows(),
        "bulk_options": _bulk_options(bulk or BulkForm.empty(), choices),
        "filtered": bool(valid_params),
        "readable_departments": readable,
        "changeable_departments": set(access.departments_with(user, AccessLevel.CHANGE)),
        "has_departments": bool(choices.visible),
        "choices": choices,
        "bulk": bulk or BulkForm.empty(),
        "nav": "overview",
        "overview_nav": _nav(available, counted, definition),
        "department_counts": _department_counts(definition, counted, params),
        "query": request.GET.urlencode(),
    }
    template = "desk/overview.html"
    return TemplateResponse(request, template, context, status=status)


SELECTED = mark_safe(" selected")


def option_tags(options: Iterable[tuple[str, Any, bool]]) -> SafeString:
    """``<option>`` elements of (value, label, selected), escaped, as one piece of HTML."""
    return format_html_join(
        "",
        '<option value="{}"{}>{}</option>',
        ((value, SELECTED if selected else "", label) for value, label, selected in options),
    )


# --- the table's cells ----------------------------------------------------------------------


def table_rows(
    tickets: Iterable[Ticket], columns: list[str], readable: set[int], selected: set[str]
) -> list[dict[str, Any]]:
    """The table's rows: each case, whether it is ticked, and its cells as HTML.

    Built here with ``format_html`` (escaped as the template would): the template's
    chain of a dozen ``{% elif column == … %}`` per cell took a third of the page's
    rendering time.
    """
    english = (get_language() or "de").startswith("en")
    nobody = format_html('<span class="desk-muted">{}</span>', _("nobody"))
    rows = []
    for ticket in tickets:
        number = str(ticket.pk)
        rows.append(
            {
                "ticket": ticket,
                "checked": number in selected,
                "select_label": _("Select case %(number)s") % {"number": ticket.number},
                "cells": [
                    _cell(column, ticket, readable, english=english, nobody=nobody)
                    for column in columns
                ],
            }
        )
    return rows


TD = '<td class="kern-table__cell">{}</td>'
TD_NOWRAP = '<td class="kern-table__cell desk-nowrap">{}</td>'


def _moment(value: datetime | None) -> SafeString:
    if value is None:
        return format_html(TD_NOWRAP, "—")
    local = timezone.localtime(value)
    return format_html(
        '<td class="kern-table__cell desk-nowrap"><time datetime="{}">{}</time></td>',
        local.isoformat(),
        formats.date_format(local, "SHORT_DATETIME_FORMAT"),
    )


def _cell(
    column: str, ticket: Ticket, readable: set[int], *, english: bool, nobody: SafeString
) -> SafeString:
    if column == "number":
        return format_html(
            '<th scope="row" class="kern-table__header desk-nowrap">{}</th>', ticket.number
        )
    if column == "title":
        if ticket.department_id in readable:
            href = reverse("desk:case", args=[ticket.pk])
            return format_html(
                '<td class="kern-table__cell"><a class="kern-link" href="{}">{}</a></td>',
                href,
                ticket.title,
            )
        return format_html(TD, ticket.title)
    if column == "citizen":
        return format_html(TD, (ticket.citizen.display_name if ticket.citizen else "") or "—")
    if column == "department":
        return format_html(TD, ticket.department.name)
    if column == "service":
        service = ticket.service
        if service is None:
            return format_html(TD, "—")
        return format_html(TD, service.name_en if english and service.name_en else service.name_de)
    if column == "state":
        return format_html(TD_NOWRAP, ticket.state)
    if column == "priority":
        return format_html(TD_NOWRAP, ticket.priority)
    if column == "owner":
        return format_html(TD, ticket.owner.display_name if ticket.owner else nobody)
    if column == "tags":
        tags = format_html_join(
            ", ", '<span class="desk-tag">{}</span>', ((t.name,) for t in ticket.tags.all())
        )
        return format_html(TD, tags or "—")
    if column == "created":
        return _moment(ticket.created_at)
    if column == "updated":
        return _moment(ticket.updated_at)
    if column == "pending_until":
        return _moment(ticket.pending_until)
    if column == "closed":
        return _moment(ticket.closed_at)
    return format_html(TD, "")


def _bulk_options(bulk: BulkForm, choices: Choices) -> dict[str, SafeString]:
    """Options of the bulk form's lists as HTML (see ``option_tags``)."""

    def options(name: str, pairs: list[tuple[Any, Any]]) -> SafeString:
        chosen = bulk.posted.get(name, "")
        return option_tags((str(v), label, str(v) == chosen) for v, label in pairs)

    return {
        "owner": options(
            "owner",
            [("me", _("me")), ("nobody", _("nobody"))]
            + [(u.pk, u.display_name) for u in choices.owners],
        ),
        "priority": options("priority", [(p.pk, p) for p in choices.priorities]),
        "department": options("department", [(d.pk, d.name) for d in choices.move_targets]),
    }


def _nav(
    available: list[overviews.Definition], counted: overviews.Counts, current: overviews.Definition
) -> dict[str, Any]:
    """The navigation list: each overview the user sees, with its count."""
    return {
        "current": current.slug,
        "items": [
            {
                "slug": definition.slug,
                "name": definition.name,
                "href": reverse("desk:overviews", args=[definition.slug]),
                "count": counted.by_slug.get(definition.slug, 0),
                "current": definition.slug == current.slug,
            }
            for definition in available
        ],
    }


def overview_nav(user: User, current_slug: str) -> dict[str, Any] | None:
    """The navigation with fresh counts, for the live poller (views/live.py ``nav_counts``)."""
    found = overviews.find(user, current_slug or overviews.DEFAULT_SLUG)
    if found is None:
        return None
    definition, available = found
    scope = overviews.Scope.of(user)
    counted = overviews.counts(scope, available, Choices.of(user, scope).visible)
    return _nav(available, counted, definition)


def _department_counts(
    definition: overviews.Definition, counted: overviews.Counts, params: dict[str, str]
) -> list[dict[str, Any]]:
    """ "All open cases" split by department, when the user sees more than one."""
    if definition.slug != "open" or definition.is_custom or len(counted.departments) < 2:
        return []
    href = reverse("desk:overviews", args=["open"])
    return [
        {
            "name": department.name,
            "count": n,
            "href": f"{href}?{urlencode({'department': department.pk})}",
            "current": params.get("department") == str(department.pk),
        }
        for department, n in counted.departments
    ]


# --- bulk changes -------------------------------------------------------------------------------

KEEP = object()  # "no change" for the owner (None means: nobody)


@dataclass
class BulkForm:
    """The bulk form's values, its per-field errors, and the parsed changes."""

    posted: dict[str, str] = field(default_factory=dict)
    selected: set[str] = field(default_factory=set)
    errors: dict[str, str] = field(default_factory=dict)
    owner: Any = KEEP
    state: State | None = None
    pending_until: datetime | None = None
    priority: Priority | None = None
    department: Department | None = None
    tag: str = ""
    case_ids: list[int] = field(default_factory=list)

    @classmethod
    def empty(cls) -> BulkForm:
        return cls()

    @property
    def has_changes(self) -> bool:
        return (
            self.owner is not KEEP
            or self.state is not None
            or self.priority is not None
            or self.department is not None
            or bool(self.tag)
        )

    @classmethod
    def parse(cls, request: HttpRequest, user: User, choices: Choices) -> BulkForm:
        post = request.POST
        form = cls(
            posted={k: post.get(k, "") for k in ("owner", "state", "pending_until", "priority")}
            | {k: post.get(k, "") for k in ("department", "tag")},
            selected=set(post.getlist("cases")),
        )
        ids = [int(v) for v in post.getlist("cases") if v.isdigit()]
        form.case_ids = sorted(set(ids))
        if not form.case_ids:
            form.errors["cases"] = _("Please select at least one case.")
        elif len(form.case_ids) > MAX_BULK:
            form.errors["cases"] = _("Please select at most %(count)d cases at once.") % {
                "count": MAX_BULK
            }
        form._parse_owner(user, choices)
        form._parse_state(choices)
        form._parse_simple(choices)
        if not form.errors and not form.has_changes:
            form.errors["changes"] = _("Please choose at least one change.")
        return form

    def _parse_owner(self, user: User, choices: Choices) -> None:
        value = self.posted["owner"]
        if value == "":
            return
        if value == "nobody":
            self.owner = None
        elif value == "me":
            self.owner = user
        else:
            owner = next((u for u in choices.owners if str(u.pk) == value), None)
            if owner is None:
                self.errors["owner"] = _("Please choose an owner from the list.")
            self.owner = owner if owner is not None else KEEP

    def _parse_state(self, choices: Choices) -> None:
        value = self.posted["state"]
        if value == "":
            return
        state = next((s for s in choices.selectable_states if str(s.pk) == value), None)
        if state is None:
            self.errors["state"] = _("Please choose a state from the list.")
            return
        self.state = state
        if not state.is_pending:
            return
        try:
            self.pending_until = parse_local_datetime(self.posted["pending_until"])
        except Refused as err:
            self.errors["pending_until"] = err.message
            return
        if self.pending_until is None:
            self.errors["pending_until"] = _(
                "The state “%(state)s” needs a date until which the case waits."
            ) % {"state": state}
        elif self.pending_until <= clock.now():
            self.errors["pending_until"] = _(
                "The date until which the case waits must lie in the future."
            )

    def _parse_simple(self, choices: Choices) -> None:
        value = self.posted["priority"]
        if value:
            self.priority = next((p for p in choices.priorities if str(p.pk) == value), None)
            if self.priority is None:
                self.errors["priority"] = _("Please choose a priority from the list.")
        value = self.posted["department"]
        if value:
            self.department = next((d for d in choices.move_targets if str(d.pk) == value), None)
            if self.department is None:
                self.errors["department"] = _("Please choose a department from the list.")
        tag = " ".join(self.posted["tag"].split())
        if len(tag) > services.MAX_TAG:
            self.errors["tag"] = _("A tag may have at most %(count)d characters.") % {
                "count": services.MAX_TAG
            }
        else:
            self.tag = tag


def _apply(user: User, ticket: Ticket, form: BulkForm) -> None:
    """All chosen changes to one case, or none of them (one transaction per case).

    The move comes first, so that the new owner is checked against the new department.
    """
    with transaction.atomic():
        if form.department is not None:
            services.move(user, ticket.pk, form.department)
        if form.owner is not KEEP:
            services.assign(user, ticket.pk, form.owner)
        if form.state is not None:
            services.change_state(user, ticket.pk, form.state, pending_until=form.pending_until)
        if form.priority is not None:
            services.set_priority(user, ticket.pk, form.priority)
        if form.tag:
            services.tag(user, ticket.pk, form.tag)


MAX_LISTED = 10  # refused cases named in the message; the rest are counted


@desk_view
@require_POST
def bulk(request: HttpRequest, slug: str) -> HttpResponseBase:
    user = current_user(request)
    if overviews.find(user, slug) is None:
        return error_page(request, 404)
    scope = overviews.Scope.of(user)
    form = BulkForm.parse(request, user, Choices.of(user, scope))
    if form.errors:
        return render_overview(request, user, slug, status=422, bulk=form)

    # Only cases the user may list are touched at all; the rest count as "not found".
    tickets = list(selectors.visible_tickets(user).filter(pk__in=form.case_ids).order_by("number"))
    missing = len(form.case_ids) - len(tickets)
    changed = 0
    refused: list[tuple[Ticket, str]] = []
    for ticket in tickets:
        try:
            _apply(user, ticket, form)
        except ServiceError as err:
            refused.append((ticket, err.message))
        else:
            changed += 1
    _report(request, changed, refused, missing)
    target = reverse("desk:overviews", args=[slug])
    query = request.GET.urlencode()
    return HttpResponseRedirect(f"{target}?{query}" if query else target)


def _report(
    request: HttpRequest, changed: int, refused: list[tuple[Ticket, str]], missing: int
) -> None:
    if changed:
        messages.success(
            request,
            ngettext("%(count)d case changed.", "%(count)d cases changed.", changed)
            % {"count": changed},
        )
    if refused:
        listed = "; ".join(f"#{t.number}: {reason}" for t, reason in refused[:MAX_LISTED])
        more = len(refused) - MAX_LISTED
        if more > 0:
            listed += " " + _("(and %(count)d more)") % {"count": more}
        messages.error(
            request,
            ngettext(
                "%(count)d case not changed: %(cases)s",
                "%(count)d cases not changed: %(cases)s",
                len(refused),
            )
            % {"count": len(refused), "cases": listed},
        )
    if missing:
        messages.error(
            request,
            ngettext(
                "%(count)d selected case was not found.",
                "%(count)d selected cases were not found.",
                missing,
            )
            % {"count": missing},
        )
