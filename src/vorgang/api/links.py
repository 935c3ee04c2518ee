"""Links between cases, in Zammad's paths and shapes.

``GET /links?link_object=Ticket&link_object_value=<id>`` lists the case's links as
Zammad does: ``link_type`` says what the *other* case is to this one ("parent": the
other case is this one's parent). ``POST /links/add`` takes the case being worked on
as target (by id) and the other case as source (by number, as in Zammad's UI); the
link means "source is <link_type> of target". Adding and removing need change access
to the target and read access to the source; only linked cases the caller may see
are listed. Agents and admins only, as in Zammad.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Router, Status

from vorgang.accounts.models import AccessLevel, User
from vorgang.core.errors import InvalidInput, NotFound
from vorgang.tickets import selectors, services
from vorgang.tickets.models import LinkKind, Ticket

from . import fields
from .common import ts
from .tags import require_agent, ticket_id_of

router = Router(tags=["links"])

_INVERSE: dict[str, str] = {LinkKind.PARENT: LinkKind.CHILD, LinkKind.CHILD: LinkKind.PARENT}

LINK_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["link_object_target_value"],
                    "properties": {
                        "link_type": {"type": "string", "enum": LinkKind.values},
                        "link_object_source": {"type": "string", "enum": ["Ticket"]},
                        "link_object_source_number": {"type": "string"},
                        "link_object_source_value": {"type": "integer"},
                        "link_object_target": {"type": "string", "enum": ["Ticket"]},
                        "link_object_target_value": {"type": "integer"},
                    },
                }
            }
        },
    }
}


class LinkOut(fields.ZammadOut):
    link_type: str
    link_object: str
    link_object_value: int


class LinksOut(fields.ZammadOut):
    links: list[LinkOut]
    assets: dict[str, dict[str, dict[str, Any]]]


def _auth(request: HttpRequest) -> User:
    user: User = request.auth  # type: ignore[attr-defined]
    require_agent(user)
    return user


def ticket_asset(ticket: Ticket) -> dict[str, Any]:
    """The linked case as Zammad's assets carry it (the ids and the headline fields)."""
    return {
        "id": ticket.pk,
        "number": ticket.number,
        "title": ticket.title,
        "group_id": ticket.department_id,
        "state_id": ticket.state_id,
        "priority_id": ticket.priority_id,
        "owner_id": ticket.owner_id,
        "customer_id": ticket.citizen_id,
        "organization_id": ticket.organisation_id,
        "pending_time": ts(ticket.pending_until),
        "close_at": ts(ticket.closed_at),
        "created_at": ts(ticket.created_at),
        "updated_at": ts(ticket.updated_at),
    }


@router.get(
    "/links",
    response={200: LinksOut, **fields.ERRORS},
    summary="The links of a case (link_object=Ticket&link_object_value=<id>)",
)
def links_list(
    request: HttpRequest, link_object_value: str = "", link_object: str = "Ticket"
) -> dict[str, Any]:
    user = _auth(request)
    ticket_id = ticket_id_of(
        {"link_object": link_object, "link_object_value": link_object_value},
        "link_object",
        "link_object_value",
    )
    ticket = selectors.get_ticket(user, ticket_id, AccessLevel.READ)
    links: list[dict[str, Any]] = []
    assets: dict[str, dict[str, Any]] = {}
    # selectors.links names the kind from this case's side ("child": this case is the
    # child); Zammad names what the other case is, which is the inverse.
    for kind, other in selectors.links(user, ticket):
        links.append(
            {
                "link_type": _INVERSE.get(kind, kind),
                "link_object": "Ticket",
                "link_object_value": other.pk,
            }
        )
        assets[str(other.pk)] = ticket_asset(other)
    return {"links": links, "assets": {"Ticket": assets}}


def _source(user: User, data: dict[str, Any]) -> Ticket:
    """The source case: by number (Zammad's add) or by id (Zammad's remove)."""
    kind = data.get("link_object_source") or "Ticket"
    if kind != "Ticket":
        raise InvalidInput(_("link_object_source must be Ticket."))
    number = data.get("link_object_source_number")
    if number not in (None, ""):
        if isinstance(number, bool) or not isinstance(number, (str, int)):
            raise InvalidInput(_("link_object_source_number must be a case number."))
        try:
            return selectors.get_ticket_by_number(user, str(number).strip())
        except NotFound:
            # zammad-py's remove sends the id under this name.
            if not str(number).strip().isdigit():
                raise
            return selectors.get_ticket(user, int(str(number).strip()), AccessLevel.READ)
    if data.get("link_object_source_value") in (None, ""):
        raise InvalidInput(_("link_object_source_number is missing."))
    source_id = fields.integer(data["link_object_source_value"], "link_object_source_value")
    return selectors.get_ticket(user, source_id, AccessLevel.READ)


def _target_id(data: dict[str, Any]) -> int:
    return ticket_id_of(data, "link_object_target", "link_object_target_value")


def _link_type(data: dict[str, Any]) -> str:
    value = fields.text(data, "link_type") or LinkKind.NORMAL
    if value not in LinkKind.values:
        raise InvalidInput(
            _("Unknown link type %(kind)s; use one of %(choices)s.")
            % {"kind": repr(value), "choices": ", ".join(LinkKind.values)}
        )
    return value


@router.post(
    "/links/add",
    response={201: fields.ZammadOut, **fields.ERRORS},
    openapi_extra=LINK_BODY,
    summary="Link two cases: source is <link_type> of target",
)
def links_add(request: HttpRequest) -> Status[dict[str, Any]]:
    user = _auth(request)
    data = fields.params(request)
    kind = _link_type(data)
    target_id = _target_id(data)
    source = _source(user, data)
    # Stored from the target's side ("target is <inverse> of source", the same link), so
    # that the change access is needed on the case being worked on.
    services.link(user, target_id, source.pk, _INVERSE.get(kind, kind))
    return Status(
        201,
        {
            "link_type": kind,
            "link_object_source": "Ticket",
            "link_object_source_value": source.pk,
            "link_object_target": "Ticket",
            "link_object_target_value": target_id,
        },
    )


@router.delete(
    "/links/remove",
    response={200: fields.ZammadOut, **fields.ERRORS},
    openapi_extra=LINK_BODY,
    summary="Remove the link between two cases",
)
def links_remove(request: HttpRequest) -> dict[str, Any]:
    user = _auth(request)
    data = fields.params(request)
    if data.get("link_type") is not None:
        _link_type(data)  # checked for typos; two cases have at most one link
    target_id = _target_id(data)
    source = _source(user, data)
    services.unlink(user, target_id, source.pk)
    return {}
