"""Tags of cases, in Zammad's paths: list, add, remove and search.

Listing needs read access to the case, adding and removing change access (the
checks are those of ``tickets.services.tag``/``untag``). Tags are the agents' tool:
citizens never see them, as on the case page, and integration accounts read no case.
Zammad also takes ``object``/``o_id``/``item`` as query parameters; so does Vorgang.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Count
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Router, Status

from vorgang.accounts.models import AccessLevel, User
from vorgang.core.errors import InvalidInput, PermissionDenied
from vorgang.tickets import selectors, services
from vorgang.tickets.models import Tag, Ticket

from . import fields

router = Router(tags=["tags"])

TAG_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["object", "o_id", "item"],
                    "properties": {
                        "object": {"type": "string", "enum": ["Ticket"]},
                        "o_id": {"type": "integer"},
                        "item": {"type": "string", "minLength": 1, "maxLength": 100},
                    },
                }
            }
        },
    }
}


class TagsOut(fields.ZammadOut):
    tags: list[str]


class TagHit(fields.ZammadOut):
    id: int
    value: str


def require_agent(user: User) -> None:
    """Tags and links are for agents and admins, never for citizens or integrations."""
    if not (user.is_active and user.is_agent):
        raise PermissionDenied(_("Only agents and administrators may do this."))


def ticket_id_of(data: dict[str, Any], object_key: str, id_key: str) -> int:
    """The case id of Zammad's (object, o_id) pair; only tickets carry tags and links."""
    kind = data.get(object_key) or "Ticket"
    if kind != "Ticket":
        raise InvalidInput(
            _("%(field)s must be Ticket; Vorgang has tags and links only on cases.")
            % {"field": object_key}
        )
    return fields.required_integer(data, id_key)


def _item(data: dict[str, Any]) -> str:
    return fields.required_text(data, "item")


def _auth(request: HttpRequest) -> User:
    user: User = request.auth  # type: ignore[attr-defined]
    require_agent(user)
    return user


def tag_names(ticket: Ticket) -> list[str]:
    return list(ticket.tags.order_by("name").values_list("name", flat=True))


@router.get(
    "/tags",
    response={200: TagsOut, **fields.ERRORS},
    summary="The tags of a case (object=Ticket&o_id=<id>)",
)
def tags_list(request: HttpRequest, o_id: str = "", object: str = "Ticket") -> dict[str, Any]:
    user = _auth(request)
    ticket_id = ticket_id_of({"object": object, "o_id": o_id}, "object", "o_id")
    ticket = selectors.get_ticket(user, ticket_id, AccessLevel.READ)
    return {"tags": tag_names(ticket)}


@router.post(
    "/tags/add",
    response={201: bool, **fields.ERRORS},
    openapi_extra=TAG_BODY,
    summary="Add a tag to a case (created in the tenant's vocabulary if new)",
)
def tags_add(request: HttpRequest) -> Status[bool]:
    user = _auth(request)
    data = fields.params(request)
    ticket_id = ticket_id_of(data, "object", "o_id")
    services.tag(user, ticket_id, _item(data))
    return Status(201, True)


@router.delete(
    "/tags/remove",
    response={200: bool, **fields.ERRORS},
    openapi_extra=TAG_BODY,
    summary="Remove a tag from a case",
)
def tags_remove(request: HttpRequest) -> bool:
    user = _auth(request)
    data = fields.params(request)
    ticket_id = ticket_id_of(data, "object", "o_id")
    services.untag(user, ticket_id, _item(data))
    return True


@router.get(
    "/tag_search",
    response={200: list[TagHit], **fields.ERRORS},
    summary="Tags of the tenant containing term (without term: the most used)",
)
def tag_search(request: HttpRequest, term: str = "") -> list[dict[str, Any]]:
    user = _auth(request)
    limit = fields.limit(request, 10, 100)
    qs = Tag.objects.filter(tenant_id=user.tenant_id)
    term = term.strip()
    if term:
        qs = qs.filter(name__icontains=term).order_by("name")
    else:
        qs = qs.annotate(uses=Count("tickets")).order_by("-uses", "name")
    return [{"id": tag.pk, "value": tag.name} for tag in qs[:limit]]
