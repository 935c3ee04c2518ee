"""Cases in Zammad's API: ``/tickets``, ``/tickets/search``, ``/ticket_merge``, ``/ticket_history``.

Mapping and choices (see docs/api.md):

- group = department, customer = citizen, organization = organisation.
- ``owner_id`` is ``null`` for an unowned case. Zammad writes 1 (its system user), but in
  Vorgang 1 is an ordinary user id, so ``null`` is the only value that cannot be misread;
  ``owner_id: null``, ``0`` or ``""`` in a request unassigns the case.
- ``customer_id`` is ``null`` when a case has no citizen (e.g. opened by an agent).
- Names are accepted in place of ids (``group``, ``state``, ``priority``, ``owner`` as login
  or e-mail, ``customer`` as e-mail or login, ``organization``); unknown ones are a 422.
- Reads need the ``read`` level (``overview`` only lists in the desk; the API returns
  whole cases). Admins see cases through their department access like everyone else;
  only ``DELETE`` is the administrator's own (see ``services.delete_ticket``).
- Custom case attributes are read and written as top-level fields; fields nobody knows
  are ignored, as Zammad does, and named in ``X-Vorgang-Ignored-Fields``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.db.models.expressions import RawSQL
from django.http import HttpRequest, HttpResponse
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from ninja import Router, Status

from vorgang.accounts import services as accounts
from vorgang.accounts.models import AccessLevel, Department, Organisation, Role, User
from vorgang.attributes import values as attribute_values
from vorgang.core import batchcache, instances, lookups
from vorgang.core.errors import InvalidInput, NotFound, PermissionDenied
from vorgang.search import deferral, engine
from vorgang.tickets import selectors, services
from vorgang.tickets.models import Article, History, LinkKind, Priority, State, Ticket

from . import payload
from .articles import parse_article, write_article
from .common import mark_ignored, page_args, want_expand
from .common import ts as _ts
from .schemas import ErrorOut, HistoryOut, MergeOut, TicketOut, TicketSearchOut

router = Router(tags=["tickets"])

ERRORS: dict[int, Any] = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut}

# Writable fields; custom attributes come on top, from the attributes app.
TICKET_FIELDS = frozenset(
    {
        "title", "group", "group_id", "state", "state_id", "priority", "priority_id",
        "owner", "owner_id", "customer", "customer_id", "organization", "organization_id",
        "tags", "links", "article", "pending_time",
    }
)  # fmt: skip
# Read-only fields that clients send back with a ticket they read; not "unknown".
TICKET_ECHOED = frozenset(
    {
        "id", "number", "created_at", "updated_at", "close_at", "pending_time",
        "first_response_at", "article_count", "created_by_id", "updated_by_id",
        "created_by", "updated_by", "expand", "all", "note", "type",
        "last_contact_at", "last_contact_agent_at", "last_contact_customer_at",
        "escalation_at", "preferences",
    }
)  # fmt: skip
# What a citizen may set (the case page offers no more): a new case's title, department
# and first message; later only new messages.
CITIZEN_CREATE_FIELDS = frozenset({"title", "group", "group_id", "article"})
CITIZEN_UPDATE_FIELDS = frozenset({"article"})

TICKET_BODY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": True,
    "properties": {
        "title": {"type": "string"},
        "group": {"type": "string"},
        "group_id": {"type": "integer"},
        "state": {"type": "string"},
        "state_id": {"type": "integer"},
        "priority": {"type": "string"},
        "priority_id": {"type": "integer"},
        "owner": {"type": "string"},
        "owner_id": {"type": ["integer", "null"]},
        "customer": {"type": "string"},
        "customer_id": {"oneOf": [{"type": "integer"}, {"type": "string"}]},
        "organization": {"type": "string"},
        "organization_id": {"type": ["integer", "null"]},
        "pending_time": {"type": "string", "format": "date-time"},
        "tags": {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]},
        "links": {"type": "object"},
        "article": {"type": "object"},
    },
}


def _user(request: HttpRequest) -> User:
    return request.auth  # type: ignore[attr-defined]


def _body(required: list[str] | None = None) -> dict[str, Any]:
    schema = dict(TICKET_BODY_SCHEMA)
    if required:
        schema["required"] = required
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


# --- output -------------------------------------------------------------------------------------


# The columns a case's JSON is built from, read with ``values()``: no model instances,
# no joins unless ``expand`` asks for names (a show costs one query; see bench/api.py).
ROW_COLUMNS = (
    "id", "tenant_id", "number", "title", "department_id", "state_id", "priority_id",
    "owner_id", "citizen_id", "organisation_id", "created_at", "updated_at", "closed_at",
    "pending_until", "first_response_at", "created_by_id", "attributes",
)  # fmt: skip
# Zammad's expanded name -> where it is read from.
EXPANDED_NAMES = {
    "group": "department__name",
    "state": "state__name",
    "priority": "priority__name",
    "owner": "owner__username",
    "customer": "citizen__email",
    "organization": "organisation__name",
    "created_by": "created_by__username",
}


def _sql_names() -> dict[str, str]:
    quote = connection.ops.quote_name
    return {
        "ticket": quote(Ticket._meta.db_table),
        "article": quote(Article._meta.db_table),
        "history": quote(History._meta.db_table),
    }


def _counts(citizen: bool) -> tuple[RawSQL, RawSQL]:
    """The article count and the last actor of the outer case, as correlated subqueries.

    Written as SQL: the ORM's ``Subquery`` costs about 1.5 ms of Python per query to
    build and compile, more than the database needs to answer it. Both refer to the
    outer table by its name, so they fit only a top-level query on ``Ticket``.
    """
    names = _sql_names()
    # Table names from the models' _meta; the only value is a parameter.
    articles = (
        f"SELECT COUNT(*) FROM {names['article']} AS a "  # noqa: S608
        f"WHERE a.ticket_id = {names['ticket']}.id"
    )
    params: tuple[Any, ...] = ()
    if citizen:
        articles += " AND a.internal = %s"
        params = (False,)
    last_actor = (
        f"SELECT h.actor_id FROM {names['history']} AS h "  # noqa: S608
        f"WHERE h.ticket_id = {names['ticket']}.id ORDER BY h.seq DESC LIMIT 1"
    )
    return RawSQL(articles, params), RawSQL(last_actor, ())  # noqa: S611


def ticket_rows(qs: QuerySet[Ticket], user: User, expand: bool) -> QuerySet[Any]:
    """``qs`` as dicts with what a case's JSON needs, in one query.

    The article count and the last actor are correlated subqueries, so the database
    works them out for the rows it returns only (a ``Count`` join would group every
    column of the case).
    """
    article_count, last_actor = _counts(user.is_citizen)
    names = EXPANDED_NAMES.values() if expand else ()
    return qs.annotate(api_article_count=article_count, api_updated_by_id=last_actor).values(
        *ROW_COLUMNS, *names, "api_article_count", "api_updated_by_id"
    )


def ticket_out(row: dict[str, Any], attribute_names: list[str], expand: bool) -> dict[str, Any]:
    """Zammad's ticket object from a row of ``ticket_rows`` (and ``_with_tags`` if ``expand``)."""
    out: dict[str, Any] = {
        "id": row["id"],
        "number": str(row["number"]),
        "title": row["title"],
        "group_id": row["department_id"],
        "state_id": row["state_id"],
        "priority_id": row["priority_id"],
        "owner_id": row["owner_id"],
        "customer_id": row["citizen_id"],
        "organization_id": row["organisation_id"],
        "created_at": _ts(row["created_at"]),
        "updated_at": _ts(row["updated_at"]),
        "close_at": _ts(row["closed_at"]),
        "pending_time": _ts(row["pending_until"]),
        "first_response_at": _ts(row["first_response_at"]),
        "article_count": row["api_article_count"],
        "created_by_id": row["created_by_id"],
        "updated_by_id": row["api_updated_by_id"],
    }
    out.update(attribute_values.as_api(row["attributes"], attribute_names))
    if expand:
        out.update({name: row[source] for name, source in EXPANDED_NAMES.items()})
        out["tags"] = row["tags"]
    return out


def _with_tags(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Adds each case's tag names (sorted), in one query for all ``rows``."""
    tags: dict[int, list[str]] = {row["id"]: [] for row in rows}
    through = Ticket.tags.through.objects.filter(ticket_id__in=list(tags))
    for ticket_id, name in through.values_list("ticket_id", "tag__name"):
        tags[ticket_id].append(name)
    for row in rows:
        row["tags"] = sorted(tags[row["id"]])
    return rows


MAX_ID = 2**63 - 1  # the largest id any engine stores


def _rows_by_pks(user: User, pks: list[int]) -> list[dict[str, Any]]:
    """``ticket_rows`` of the cases ``pks`` in ``user``'s tenant (without expanded names),
    in id order; the caller checks what ``user`` may see.

    Written as SQL for the answers that need no names (show, list, create, update):
    the ORM spent about 1 ms of Python compiling the same query, and making model
    instances of a page's rows about as much again. The values are converted as the ORM
    converts them (``core.instances.converters``).
    """
    pks = [pk for pk in pks if 0 < pk <= MAX_ID]  # no such case; SQLite would overflow
    if not pks:
        return []
    article_count, last_actor = _counts(user.is_citizen)
    table = _sql_names()["ticket"]
    # Only the columns of the JSON: the form data (``data``) can be large and is JSON.
    columns = ", ".join(f"{table}.{connection.ops.quote_name(c)}" for c in ROW_COLUMNS)
    sql = (
        f"SELECT {columns}, ({article_count.sql}), ({last_actor.sql}) "  # noqa: S608
        f"FROM {table} WHERE {table}.id IN ({', '.join(['%s'] * len(pks))}) "
        f"AND {table}.tenant_id = %s ORDER BY {table}.id"
    )
    params = [*article_count.params, *last_actor.params, *pks, user.tenant_id]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        found = cursor.fetchall()
    converters = instances.converters(Ticket, ROW_COLUMNS)
    names = (*ROW_COLUMNS, "api_article_count", "api_updated_by_id")
    rows = []
    for found_row in found:
        values = list(found_row)
        instances.convert(values, converters)
        rows.append(dict(zip(names, values, strict=True)))
    return rows


def _many_out(user: User, rows: list[dict[str, Any]], expand: bool) -> list[dict[str, Any]]:
    """The JSON of ``rows`` (all of ``user``'s tenant: the selectors keep to it)."""
    if not rows:
        return []
    if expand:
        _with_tags(rows)
    names = attribute_values.active_names(user.tenant_id)
    return [ticket_out(row, names, expand) for row in rows]


def _one_out(user: User, qs: QuerySet[Ticket], expand: bool) -> dict[str, Any] | None:
    """The JSON of the one case in ``qs``, or None if ``qs`` is empty."""
    found = _many_out(user, list(ticket_rows(qs, user, expand)[:1]), expand)
    return found[0] if found else None


def _fresh(user: User, pk: int, expand: bool = False) -> dict[str, Any]:
    """The JSON of case ``pk`` as it is now (after a change the caller was allowed)."""
    if expand:
        found = _one_out(user, Ticket.objects.filter(pk=pk, tenant_id=user.tenant_id), expand)
    else:
        rows = _rows_by_pks(user, [pk])
        found = _many_out(user, rows, expand)[0] if rows else None
    if found is None:
        raise NotFound(_("This case does not exist or you may not see it."))
    return found


# --- names and ids --------------------------------------------------------------------------------


def _id_or_name(data: dict[str, Any], name: str) -> tuple[str, Any] | None:
    """("id", value) or ("name", value) for ``<name>_id`` / ``<name>``; None if neither."""
    if data.get(f"{name}_id") is not None:
        return ("id", data[f"{name}_id"])
    if name in data:
        return ("name", data[name])
    if f"{name}_id" in data:
        return ("id", None)
    return None


def _text_value(value: Any, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(_("%(field)s must be a name.") % {"field": field})
    return value.strip()


def department_for(user: User, data: dict[str, Any]) -> Department | None:
    given = _id_or_name(data, "group")
    if given is None:
        return None
    how, value = given
    # Plain SQL: the ORM would spend more Python on the query than it takes to answer.
    key: int | str
    if how == "id":
        column, key = "id", payload.whole_number(value, "group_id")
    else:
        column, key = "name", _text_value(value, "group")
    found = lookups.first(
        Department,
        f"tenant_id = %s AND active = %s AND {column} = %s",
        [user.tenant_id, True, key],
        order_by="name, id",
    )
    if found is None:
        raise InvalidInput(_("Unknown group %(group)s.") % {"group": repr(value)})
    return found


def state_for(data: dict[str, Any]) -> State | None:
    given = _id_or_name(data, "state")
    if given is None:
        return None
    how, value = given
    if how == "id":
        found = State.objects.filter(
            pk=payload.whole_number(value, "state_id"), active=True
        ).first()
        if found is None:
            raise InvalidInput(_("Unknown state %(state)s.") % {"state": repr(value)})
        return found
    return services.state_by_name(_text_value(value, "state"))


def priority_for(data: dict[str, Any]) -> Priority | None:
    given = _id_or_name(data, "priority")
    if given is None:
        return None
    how, value = given
    if how == "id":
        found = Priority.objects.filter(pk=payload.whole_number(value, "priority_id")).first()
    else:
        found = Priority.objects.filter(name=_text_value(value, "priority")).first()
    if found is None:
        raise InvalidInput(_("Unknown priority %(priority)s.") % {"priority": repr(value)})
    return found


_UNSET = object()


def owner_for(user: User, data: dict[str, Any]) -> Any:
    """The owner asked for, None to unassign, or _UNSET when the payload does not say."""
    given = _id_or_name(data, "owner")
    if given is None:
        return _UNSET
    how, value = given
    if value in (None, "", 0, "0"):
        return None
    qs = User.objects.filter(tenant_id=user.tenant_id, role__in=[Role.AGENT, Role.ADMIN])
    if how == "id":
        found = qs.filter(pk=payload.whole_number(value, "owner_id")).first()
    else:
        name = _text_value(value, "owner")
        found = qs.filter(Q(username=name) | Q(email__iexact=name)).order_by("pk").first()
    if found is None:
        raise InvalidInput(_("Unknown owner %(owner)s.") % {"owner": repr(value)})
    return found


def citizen_for(user: User, data: dict[str, Any]) -> Any:
    """The citizen asked for (``guess:<email>`` creates one), None, or _UNSET."""
    given = _id_or_name(data, "customer")
    if given is None:
        return _UNSET
    how, value = given
    if value in (None, ""):
        return None
    qs = User.objects.filter(tenant_id=user.tenant_id, role=Role.CITIZEN)
    if how == "id" and isinstance(value, str) and value.strip().lower().startswith("guess:"):
        address = value.strip()[len("guess:") :].strip()
        return accounts.find_or_create_citizen(user.tenant_id, address)
    if how == "id":
        found = qs.filter(pk=payload.whole_number(value, "customer_id")).first()
    else:
        name = _text_value(value, "customer")
        found = qs.filter(Q(email__iexact=name) | Q(username=name)).order_by("pk").first()
    if found is None:
        raise InvalidInput(_("Unknown customer %(customer)s.") % {"customer": repr(value)})
    return found


def organisation_for(user: User, data: dict[str, Any]) -> Any:
    given = _id_or_name(data, "organization")
    if given is None:
        return _UNSET
    how, value = given
    if value in (None, ""):
        return None
    qs = Organisation.objects.filter(tenant_id=user.tenant_id)
    if how == "id":
        found = qs.filter(pk=payload.whole_number(value, "organization_id")).first()
    else:
        found = qs.filter(name=_text_value(value, "organization")).first()
    if found is None:
        raise InvalidInput(
            _("Unknown organization %(organization)s.") % {"organization": repr(value)}
        )
    return found


def pending_for(data: dict[str, Any]) -> datetime | None:
    value = data.get("pending_time")
    if value in (None, ""):
        return None
    parsed = parse_datetime(value) if isinstance(value, str) else None
    if parsed is None:
        raise InvalidInput(_("pending_time must be a date and time in ISO 8601."))
    if parsed.tzinfo is None:
        raise InvalidInput(_("pending_time needs a time zone, e.g. 2030-12-31T14:00:00Z."))
    return parsed


_AS_SEEN_FROM_HERE = {
    LinkKind.PARENT: LinkKind.CHILD,
    LinkKind.CHILD: LinkKind.PARENT,
    LinkKind.NORMAL: LinkKind.NORMAL,
}


def _links(user: User, ticket: Ticket, value: Any) -> None:
    """Zammad's ``links: {"Ticket": {"parent": [ids], "child": [...], "normal": [...]}}``."""
    if value in (None, {}):
        return
    targets = value.get("Ticket") if isinstance(value, dict) else None
    if not isinstance(targets, dict):
        raise InvalidInput(_('links must look like {"Ticket": {"normal": [<ticket ids>]}}.'))
    for kind, ids in targets.items():
        if kind not in LinkKind.values:
            raise InvalidInput(_("Unknown link type %(kind)s.") % {"kind": repr(kind)})
        for raw in ids if isinstance(ids, list) else [ids]:
            other = selectors.get_ticket(user, payload.whole_number(raw, "links"))
            # "parent": [x] says x is the parent of this case, so this case is x's child.
            services.link(user, ticket, other, _AS_SEEN_FROM_HERE[kind])


def _split(user: User, data: dict[str, Any], *, partial: bool) -> tuple[dict[str, Any], list[str]]:
    """Custom attribute values and the names of ignored fields in a ticket payload."""
    known = TICKET_FIELDS | TICKET_ECHOED
    if user.is_citizen:
        # Citizens set only what the case page offers; the rest is named as ignored.
        allowed = CITIZEN_UPDATE_FIELDS if partial else CITIZEN_CREATE_FIELDS
        return {}, [k for k in data if k not in allowed and k not in TICKET_ECHOED]
    values, unknown = attribute_values.clean(user.tenant_id, data, partial=partial, known=known)
    return values, list(unknown)


# --- list, show --------------------------------------------------------------------------------


@router.get(
    "/tickets",
    response={200: list[TicketOut], **ERRORS},
    summary="The cases the caller may read, oldest first (page, per_page, expand)",
)
def list_tickets(request: HttpRequest) -> Any:
    user = _user(request)
    page, per_page = page_args(request)
    expand = want_expand(request)
    start = (page - 1) * per_page
    ids = selectors.visible_ticket_ids(user, AccessLevel.READ, start, per_page)
    if not expand:
        # The page's ids, then their rows and counts in plain SQL (compiling them as one
        # ORM statement cost more Python than the second round trip).
        return _many_out(user, _rows_by_pks(user, list(ids)), expand)
    # One statement: the page's ids as a subquery, then the counts for those cases only.
    # Sorted here, not by ORDER BY: compiling that costs the ORM more than 25 rows do.
    cases = Ticket.objects.filter(pk__in=ids, tenant_id=user.tenant_id)
    rows = sorted(ticket_rows(cases, user, expand), key=lambda row: row["id"])
    return _many_out(user, rows, expand)


def _in_order(user: User, ids: list[int], expand: bool) -> list[dict[str, Any]]:
    """The rows of the cases ``ids`` (of ``user``'s tenant), in the order of ``ids``.

    A list takes its page's ids first and then the counts for those cases only:
    annotating the whole query would count the articles of every case before the
    database could cut out the page (seconds at 100,000 cases; see bench/api.py).
    """
    if not ids:
        return []
    qs = Ticket.objects.filter(pk__in=ids, tenant_id=user.tenant_id)
    by_id = {row["id"]: row for row in ticket_rows(qs, user, expand)}
    return [by_id[pk] for pk in ids if pk in by_id]


@router.get(
    "/tickets/{int:ticket_id}",
    response={200: TicketOut, **ERRORS},
    summary="One case",
)
def show_ticket(request: HttpRequest, ticket_id: int) -> Any:
    user = _user(request)
    expand = want_expand(request)
    if expand:
        # One query: the selectors' wall (tenant, departments at ``read``) and the columns.
        visible = selectors.visible_tickets(user, AccessLevel.READ).filter(pk=ticket_id)
        found = _one_out(user, visible, expand)
    else:
        # The row in plain SQL (the ORM's query cost more Python than the rest of the
        # request), then the same wall on it.
        rows = [row for row in _rows_by_pks(user, [ticket_id]) if selectors.may_see(user, row)]
        found = _many_out(user, rows, expand)[0] if rows else None
    if found is None:
        raise NotFound(_("This case does not exist or you may not see it."))
    return found


# --- create, update, delete ----------------------------------------------------------------------


@router.post(
    "/tickets",
    response={201: TicketOut, 413: ErrorOut, **ERRORS},
    openapi_extra=_body(["title", "group"]),
    summary="Open a case, with its first article",
)
def create_ticket(request: HttpRequest, response: HttpResponse) -> Any:
    user = _user(request)
    data = payload.read_json(request)
    attributes, ignored = _split(user, data, partial=False)
    department = department_for(user, data)
    if department is None:
        raise InvalidInput(_("A case needs a group (group or group_id)."))
    title = payload.text(data, "title", max_len=services.MAX_TITLE * 4)
    article = None
    if data.get("article") is not None:
        article, article_ignored = parse_article(user, data["article"])
        ignored += article_ignored
    # A new case makes two events (the case, its first article). Delivered together they
    # cost less: search indexes the case once (one task, not two), and the webhooks ask
    # once whether there are any (batchcache remembers lookups until the block ends).
    with deferral.deferred(), batchcache.batch(), transaction.atomic():
        if user.is_citizen:
            ticket = services.create_ticket(
                user,
                department=department,
                title=title,
                article=_first(user, article),
            )
        else:
            checked = services.CheckedAttributes(user.tenant_id, attributes)
            ticket = _create_as_agent(user, data, department, title, checked, article)
    mark_ignored(response, ignored)
    return Status(201, _fresh(user, ticket.pk, want_expand(request)))


def _first(user: User, article: Any) -> services.ArticleInput | None:
    from .articles import as_input

    return as_input(user, article) if article is not None else None


def _create_as_agent(
    user: User,
    data: dict[str, Any],
    department: Department,
    title: str,
    attributes: dict[str, Any],
    article: Any,
) -> Ticket:
    citizen = citizen_for(user, data)
    organisation = organisation_for(user, data)
    owner = owner_for(user, data)
    state = state_for(data)
    priority = priority_for(data)
    email_first = article is not None and article.kind == "email"
    ticket = services.create_ticket(
        user,
        department=department,
        title=title,
        citizen=None if citizen is _UNSET else citizen,
        organisation=None if organisation is _UNSET else organisation,
        state=state or "new",
        priority=priority,
        owner=None if owner is _UNSET else owner,
        tags=payload.name_list(data.get("tags"), "tags"),
        pending_until=pending_for(data),
        # E-mail goes out through the desk's outbound path, which needs the case first.
        article=None if article is None or email_first else _first(user, article),
        attributes=attributes,
    )
    if email_first:
        write_article(user, ticket, article)
    _links(user, ticket, data.get("links"))
    return ticket


@router.put(
    "/tickets/{int:ticket_id}",
    response={200: TicketOut, 413: ErrorOut, **ERRORS},
    openapi_extra=_body(),
    summary="Change a case (fields that are given), optionally adding an article",
)
def update_ticket(request: HttpRequest, response: HttpResponse, ticket_id: int) -> Any:
    user = _user(request)
    ticket = selectors.get_ticket(user, ticket_id, AccessLevel.READ)
    data = payload.read_json(request)
    attributes, ignored = _split(user, data, partial=True)
    article = None
    if data.get("article") is not None:
        article, article_ignored = parse_article(user, data["article"])
        ignored += article_ignored
    with transaction.atomic():
        if user.is_citizen:
            if article is not None:
                write_article(user, ticket, article)
        else:
            services.require(user, ticket, AccessLevel.CHANGE)
            department = department_for(user, data)
            _update_as_agent(user, ticket, data, attributes)
            if article is not None:
                write_article(user, ticket, article)
            if department is not None:
                # Last: after the hand-over the agent may no longer change the case.
                services.move(user, ticket, department)
    mark_ignored(response, ignored)
    return _fresh(user, ticket.pk, want_expand(request))


def _update_as_agent(
    user: User, ticket: Ticket, data: dict[str, Any], attributes: dict[str, Any]
) -> None:
    if "title" in data:
        services.set_title(user, ticket, payload.text(data, "title", max_len=1000))
    state = state_for(data)
    if state is not None or "pending_time" in data:
        current = Ticket.objects.select_related("state").get(pk=ticket.pk).state
        services.change_state(user, ticket, state or current, pending_until=pending_for(data))
    priority = priority_for(data)
    if priority is not None:
        services.set_priority(user, ticket, priority)
    owner = owner_for(user, data)
    if owner is not _UNSET:
        services.assign(user, ticket, owner)
    citizen, organisation = citizen_for(user, data), organisation_for(user, data)
    if citizen is not _UNSET or organisation is not _UNSET:
        current_ticket = Ticket.objects.select_related("citizen", "organisation").get(pk=ticket.pk)
        new_citizen = current_ticket.citizen if citizen is _UNSET else citizen
        if organisation is _UNSET:
            organisation = (
                new_citizen.organisation
                if citizen is not _UNSET and new_citizen
                else current_ticket.organisation
            )
        services.set_customer(user, ticket, new_citizen, organisation)
    if "tags" in data:
        _set_tags(user, ticket, payload.name_list(data.get("tags"), "tags"))
    if attributes:
        services.set_attributes(user, ticket, attributes)
    _links(user, ticket, data.get("links"))


def _set_tags(user: User, ticket: Ticket, wanted: list[str]) -> None:
    """``tags`` in an update is the whole list: missing ones are added, others removed."""
    current = set(ticket.tags.values_list("name", flat=True))
    for name in wanted:
        if name not in current:
            services.tag(user, ticket, name)
    for name in current - set(wanted):
        services.untag(user, ticket, name)


@router.delete(
    "/tickets/{int:ticket_id}",
    response={200: dict[str, Any], **ERRORS},
    summary="Delete a case for good (administrators)",
)
def delete_ticket(request: HttpRequest, ticket_id: int) -> Any:
    user = _user(request)
    if user.role != Role.ADMIN:
        raise PermissionDenied(_("Only administrators may delete cases."))
    found = Ticket.objects.filter(pk=ticket_id, tenant_id=user.tenant_id).first()
    if found is None:
        raise NotFound(_("This case does not exist or you may not see it."))
    services.delete_ticket(user, found)
    return {}


# --- search ----------------------------------------------------------------------------------------


def search(user: User, query: str, page: int, per_page: int) -> tuple[list[int], int, bool]:
    """One page of the cases ``user`` may read that match ``query``: (ids in order, total,
    whether the total is exact; past 1,000 matches it is the search engine's estimate).

    ``*`` or nothing lists every readable case, newest change first, as Zammad does;
    anything else goes to the search engine (relevance first, filter-only searches
    newest first), at the ``read`` level: the API returns whole cases, so counts and
    hits hold only cases the caller may open.
    """
    if query.strip() in ("", "*"):
        everything = selectors.visible_tickets(user, AccessLevel.READ).order_by(
            "-updated_at", "-pk"
        )
        start = (page - 1) * per_page
        ids = list(everything.values_list("pk", flat=True)[start : start + per_page])
        return ids, everything.count(), True
    if page > engine.MAX_PAGE:
        raise InvalidInput(_("page must be at most %(n)d.") % {"n": engine.MAX_PAGE})
    result = engine.search(
        user,
        query,
        page=page,
        per_page=per_page,
        sort="relevance",
        level=AccessLevel.READ,
        with_snippets=False,
    )
    if result.error is not None:
        raise InvalidInput(result.error.message)
    ids = [hit.ticket_id for hit in result.hits]
    # The index may lag a change by a moment (a task on PostgreSQL): the hits are checked
    # against the cases themselves, so a case moved out of reach is never returned.
    still_readable = set(
        selectors.visible_tickets(user, AccessLevel.READ)
        .filter(pk__in=ids)
        .values_list("pk", flat=True)
    )
    return [pk for pk in ids if pk in still_readable], result.total, result.total_exact


SEARCH_PARAMS = {
    "parameters": [
        {"in": "query", "name": "query", "schema": {"type": "string"}, "required": False},
        {"in": "query", "name": "limit", "schema": {"type": "integer"}, "required": False},
        {"in": "query", "name": "page", "schema": {"type": "integer"}, "required": False},
        {"in": "query", "name": "per_page", "schema": {"type": "integer"}, "required": False},
        {"in": "query", "name": "expand", "schema": {"type": "boolean"}, "required": False},
    ]
}


@router.api_operation(
    ["GET", "POST"],
    "/tickets/search",
    response={200: list[TicketOut] | TicketSearchOut, **ERRORS},
    openapi_extra=SEARCH_PARAMS,
    summary="Search cases: free words and field:value filters (state.name:open, number:..., "
    "group.name:..., owner.login:..., tags:..., created:>=2026-01-01)",
)
def search_tickets(request: HttpRequest, response: HttpResponse) -> Any:
    user = _user(request)
    params: dict[str, Any] = dict(request.GET.items())
    if request.method == "POST":
        from .common import json_body

        params.update(json_body(request))
    query = params.get("query", params.get("term", ""))
    if not isinstance(query, str):
        raise InvalidInput(_("query must be text."))
    page, per_page = _search_page(params)
    expand = str(params.get("expand", "")).lower() in {"1", "true", "yes"}
    ids, total, exact = search(user, query, page, per_page)
    if not exact:
        response["X-Vorgang-Count-Estimated"] = "true"  # tickets_count is an estimate
    shown = _many_out(user, _in_order(user, ids, expand), expand)
    if expand:
        return shown
    return {
        "tickets": [t["id"] for t in shown],
        "tickets_count": total,
        "assets": {"Ticket": {str(t["id"]): t for t in shown}},
    }


def _search_page(params: dict[str, Any]) -> tuple[int, int]:
    from .common import MAX_PER_PAGE

    try:
        page = int(params.get("page", 1))
        per_page = int(params.get("per_page", params.get("limit", 50)))
    except (TypeError, ValueError):
        raise InvalidInput(_("page, per_page and limit must be whole numbers.")) from None
    if page < 1 or per_page < 1:
        raise InvalidInput(_("page and per_page must be 1 or more."))
    return page, min(per_page, MAX_PER_PAGE)


# --- merge, history ---------------------------------------------------------------------------------


@router.put(
    "/ticket_merge/{int:source_id}/{target_number}",
    response={200: MergeOut, **ERRORS},
    summary="Merge a case into another, named by its number",
)
def merge(request: HttpRequest, source_id: int, target_number: str) -> Any:
    user = _user(request)
    if user.is_citizen:
        raise PermissionDenied(_("Citizens cannot merge cases."))
    source = selectors.get_ticket(user, source_id, AccessLevel.READ)
    target = selectors.get_ticket_by_number(user, target_number.strip())
    services.merge(user, source, target)
    return {
        "result": "success",
        "source_ticket": _fresh(user, source.pk),
        "target_ticket": _fresh(user, target.pk),
    }


# Vorgang's field names in the history, as Zammad calls them.
HISTORY_ATTRIBUTES = {
    "department": "group",
    "pending_until": "pending_time",
    "citizen": "customer",
    "organisation": "organization",
    "tags": "tag",
}


@router.get(
    "/ticket_history/{int:ticket_id}",
    response={200: HistoryOut, **ERRORS},
    summary="The change history of a case (agents)",
)
def ticket_history(request: HttpRequest, ticket_id: int) -> Any:
    user = _user(request)
    ticket = selectors.get_ticket(user, ticket_id, AccessLevel.READ)
    if user.is_citizen:
        raise PermissionDenied(_("The history of a case is for agents."))
    entries = list(selectors.ticket_history(ticket))
    actors = {e.actor_id: e.actor for e in entries if e.actor is not None}
    return {
        "history": [_history_out(e) for e in entries],
        "assets": {
            "User": {
                str(pk): {
                    "id": pk,
                    "login": actor.username,
                    "firstname": actor.first_name,
                    "lastname": actor.last_name,
                }
                for pk, actor in actors.items()
            }
        },
    }


def _history_out(entry: History) -> dict[str, Any]:
    action, field = entry.action, entry.field
    history_object, o_id = "Ticket", entry.ticket_id
    history_type, attribute = action, HISTORY_ATTRIBUTES.get(field, field) or None
    if action == "article_added":
        history_type, history_object, attribute = "created", "Ticket::Article", None
        o_id = _article_id(entry.new_value) or o_id
    elif action == "tag_added":
        history_type, history_object, attribute = "added", "Tag", None
    elif action == "tag_removed":
        history_type, history_object, attribute = "removed", "Tag", None
    elif action in ("link_added", "link_removed"):
        history_type = "added" if action == "link_added" else "removed"
        history_object, attribute = "Link", field or None
    elif action == "merged_from":
        history_type = "received_merge"
    elif action == "delivery":
        history_object = "Ticket::Article"
        o_id = _article_id(field) or o_id
        attribute = "delivery_status"
    return {
        "id": entry.pk,
        "o_id": o_id,
        "history_type": history_type,
        "history_object": history_object,
        "history_attribute": attribute,
        "value_from": entry.old_value or None,
        "value_to": entry.new_value or None,
        "id_from": None,
        "id_to": None,
        "created_by_id": entry.actor_id,
        "created_at": _ts(entry.created_at),
    }


def _article_id(value: str) -> int | None:
    tail = value.rpartition(":")[2]
    return int(tail) if tail.isdigit() else None
