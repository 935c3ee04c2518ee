"""Custom case attributes: Zammad's object manager attributes (``/object_manager_attributes``).

Admins only, as Zammad's ``admin.object`` permission. Differences from Zammad:

- Only attributes of the object ``Ticket`` (a case) exist, and only the custom ones:
  the built-in case fields are not listed and cannot be changed here.
- Changes apply at once. Zammad stages them until ``POST
  /object_manager_attributes_execute_migrations``; that endpoint exists here and
  answers 200 without doing anything, so Zammad clients that call it keep working.
- Name and type cannot change once an attribute exists, and an attribute that cases
  hold values for cannot be deleted (422): deactivate it with ``active: false``.
- Types: ``input`` (text), ``select``, ``multiselect``, ``date``, ``datetime``,
  ``boolean``, ``integer``; ``select`` with ``data_option.multiple: true`` is taken as
  ``multiselect``. ``data_option.null: false`` makes the attribute required.
- ``display`` is the German label; ``display_de`` and ``display_en`` (ours) set and
  show both labels.

Values are read and written on the tickets themselves, like built-in fields.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Router, Status

from vorgang.accounts.models import User
from vorgang.accounts.services import require_admin
from vorgang.attributes import definitions
from vorgang.attributes.models import CHOICE_TYPES, CaseAttribute, DataType
from vorgang.core.errors import InvalidInput, NotFound

from .common import json_body, mark_ignored, ts
from .fields import ERRORS, ZammadOut, boolean, text

router = Router(tags=["object manager attributes"])

# Zammad's data_type for ours, and the other way (Zammad's "input" is our text).
ZAMMAD_TYPE = {
    DataType.TEXT: "input",
    DataType.SELECT: "select",
    DataType.MULTISELECT: "multiselect",
    DataType.DATE: "date",
    DataType.DATETIME: "datetime",
    DataType.BOOLEAN: "boolean",
    DataType.INTEGER: "integer",
}
FROM_ZAMMAD_TYPE = {zammad: ours for ours, zammad in ZAMMAD_TYPE.items()} | {"text": DataType.TEXT}

FIELDS = {
    "name",
    "object",
    "display",
    "display_de",
    "display_en",
    "data_type",
    "data_option",
    "active",
    "position",
}
DATA_OPTION_FIELDS = {"options", "default", "null", "maxlength", "min", "max", "multiple"}


class AttributeOut(ZammadOut):
    id: int
    name: str
    object: str
    display: str
    display_de: str
    display_en: str
    data_type: str
    data_option: dict[str, Any]
    data_option_new: dict[str, Any]
    editable: bool
    active: bool
    screens: dict[str, Any]
    to_create: bool
    to_migrate: bool
    to_delete: bool
    to_config: bool
    position: int
    created_at: str | None
    updated_at: str | None


BODY_SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "pattern": "^[a-z][a-z0-9_]*$", "maxLength": 40},
        "object": {"type": "string", "enum": ["Ticket"]},
        "display": {"type": "string"},
        "display_de": {"type": "string"},
        "display_en": {"type": "string"},
        "data_type": {"type": "string", "enum": sorted(FROM_ZAMMAD_TYPE)},
        "data_option": {
            "type": "object",
            "properties": {
                "options": {"type": "object", "additionalProperties": {"type": "string"}},
                "default": {},
                "null": {"type": "boolean"},
                "maxlength": {"type": "integer"},
                "min": {"type": "integer"},
                "max": {"type": "integer"},
                "multiple": {"type": "boolean"},
            },
        },
        "active": {"type": "boolean"},
        "position": {"type": "integer"},
    },
}


def _body(required: list[str]) -> dict[str, Any]:
    schema = {**BODY_SCHEMA, "required": required} if required else BODY_SCHEMA
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


def _admin(request: HttpRequest) -> User:
    user: User = request.auth  # type: ignore[attr-defined]
    require_admin(user)
    return user


def _find(user: User, attribute_id: int) -> CaseAttribute:
    found = CaseAttribute.objects.filter(tenant_id=user.tenant_id, pk=attribute_id).first()
    if found is None:
        raise NotFound(_("Unknown attribute."))
    return found


# --- output ---------------------------------------------------------------------------------


def data_option(attribute: CaseAttribute) -> dict[str, Any]:
    """Zammad's ``data_option`` for the attribute's type."""
    kind = attribute.data_type
    option: dict[str, Any] = {"null": not attribute.required}
    if kind == DataType.TEXT:
        option |= {
            "type": "text",
            "maxlength": attribute.text_limit,
            "default": attribute.default or "",
        }
    elif kind == DataType.SELECT:
        option |= {
            "options": attribute.option_map,
            "default": attribute.default or "",
            "multiple": False,
            "nulloption": True,
        }
    elif kind == DataType.MULTISELECT:
        option |= {
            "options": attribute.option_map,
            "default": attribute.default or [],
            "multiple": True,
        }
    elif kind == DataType.BOOLEAN:
        option |= {"options": {"true": "yes", "false": "no"}, "default": attribute.default}
    elif kind == DataType.INTEGER:
        low, high = attribute.bounds
        option |= {"min": low, "max": high, "default": attribute.default}
    elif kind == DataType.DATETIME:
        option |= {"default": None, "future": True, "past": True, "diff": None}
    else:
        option |= {"default": None, "diff": None}
    return option


def attribute_out(attribute: CaseAttribute) -> dict[str, Any]:
    return {
        "id": attribute.pk,
        "name": attribute.name,
        "object": "Ticket",
        "display": attribute.label_de,
        "display_de": attribute.label_de,
        "display_en": attribute.label_en,
        "data_type": ZAMMAD_TYPE.get(DataType(attribute.data_type), attribute.data_type),
        "data_option": data_option(attribute),
        "data_option_new": {},
        "editable": True,
        "active": attribute.active,
        "screens": {},
        "to_create": False,
        "to_migrate": False,
        "to_delete": False,
        "to_config": False,
        "position": attribute.position,
        "created_at": ts(attribute.created_at),
        "updated_at": ts(attribute.updated_at),
    }


# --- input ----------------------------------------------------------------------------------


def _text(data: dict[str, Any], key: str) -> str | None:
    value = text(data, key)
    return value.strip() if value is not None else None


def _whole(data: dict[str, Any], key: str) -> int | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(_("%(field)s must be a whole number.") % {"field": key})
    return value


def _data_type(data: dict[str, Any], option: dict[str, Any]) -> str | None:
    given = _text(data, "data_type")
    if given is None:
        return None
    kind = FROM_ZAMMAD_TYPE.get(given)
    if kind is None:
        raise InvalidInput(
            _("Unsupported data_type %(type)s; use one of: %(types)s.")
            % {"type": repr(given[:50]), "types": ", ".join(ZAMMAD_TYPE.values())}
        )
    if kind == DataType.SELECT and boolean(option, "multiple"):
        kind = DataType.MULTISELECT  # how older Zammad versions define multiple choice
    return kind


def apply(attribute: CaseAttribute, data: dict[str, Any]) -> list[str]:
    """Copy the Zammad-shaped fields in ``data`` onto ``attribute``; return ignored keys.

    Fields not given keep their value (so PUT may send only what changes).
    """
    obj = data.get("object")
    if obj is not None and obj != "Ticket":
        raise InvalidInput(_("Only attributes of the object Ticket are supported."))
    option = data.get("data_option")
    if option is None:
        option = {}
    if not isinstance(option, dict):
        raise InvalidInput(_("data_option must be a JSON object."))
    ignored = [key for key in data if key not in FIELDS]
    ignored += [f"data_option.{key}" for key in option if key not in DATA_OPTION_FIELDS]

    name = _text(data, "name")
    if name is not None:
        attribute.name = name
    kind = _data_type(data, option)
    if kind is not None:
        attribute.data_type = kind
    label_de = _text(data, "display_de") or _text(data, "display")
    if label_de is not None:
        attribute.label_de = label_de
    label_en = _text(data, "display_en")
    if label_en is not None:
        attribute.label_en = label_en
    active = boolean(data, "active")
    if active is not None:
        attribute.active = active
    position = _whole(data, "position")
    if position is not None:
        attribute.position = position

    nullable = boolean(option, "null")
    if nullable is not None:
        attribute.required = not nullable
    if "options" in option and attribute.data_type != DataType.BOOLEAN:
        options = option["options"]
        if options is None:
            options = {}
        if not isinstance(options, dict | list):
            raise InvalidInput(_("data_option.options must be an object of value: label."))
        attribute.options = definitions.normalise_options(options)
    elif attribute.data_type not in CHOICE_TYPES:
        attribute.options = []
    if "default" in option:
        default = option["default"]
        # Zammad sends "" (and [] for multiselect) for "no default".
        attribute.default = None if default in ("", []) else default
    if attribute.data_type == DataType.TEXT and "maxlength" in option:
        attribute.max_length = _whole(option, "maxlength")
    if attribute.data_type == DataType.INTEGER:
        if "min" in option:
            attribute.min_value = _whole(option, "min")
        if "max" in option:
            attribute.max_value = _whole(option, "max")
    return ignored


# --- endpoints ------------------------------------------------------------------------------


@router.get(
    "/object_manager_attributes",
    response={200: list[AttributeOut], **ERRORS},
    summary="List the custom case attributes (admins)",
)
def list_attributes(request: HttpRequest) -> list[dict[str, Any]]:
    user = _admin(request)
    return [attribute_out(a) for a in CaseAttribute.objects.filter(tenant_id=user.tenant_id)]


@router.get(
    "/object_manager_attributes/{int:attribute_id}",
    response={200: AttributeOut, **ERRORS},
    summary="One custom case attribute (admins)",
)
def show_attribute(request: HttpRequest, attribute_id: int) -> dict[str, Any]:
    return attribute_out(_find(_admin(request), attribute_id))


@router.post(
    "/object_manager_attributes",
    response={201: AttributeOut, **ERRORS},
    openapi_extra=_body(["name", "display", "data_type"]),
    summary="Create a custom case attribute (admins; applies at once)",
)
def create_attribute(request: HttpRequest, response: HttpResponse) -> Status[dict[str, Any]]:
    user = _admin(request)
    data = json_body(request)
    for key in ("name", "data_type"):
        if data.get(key) in (None, ""):
            raise InvalidInput(_("%(field)s is missing.") % {"field": key})
    if data.get("display") in (None, "") and data.get("display_de") in (None, ""):
        raise InvalidInput(_("%(field)s is missing.") % {"field": "display"})
    attribute = CaseAttribute(tenant_id=user.tenant_id)
    ignored = apply(attribute, data)
    if "position" not in data:
        last = CaseAttribute.objects.filter(tenant_id=user.tenant_id).order_by("-position").first()
        attribute.position = (last.position + 10) if last else 10
    definitions.save(attribute)
    mark_ignored(response, ignored)
    return Status(201, attribute_out(attribute))


@router.put(
    "/object_manager_attributes/{int:attribute_id}",
    response={200: AttributeOut, **ERRORS},
    openapi_extra=_body([]),
    summary="Change a custom case attribute (admins; name and type are fixed)",
)
def update_attribute(
    request: HttpRequest, response: HttpResponse, attribute_id: int
) -> dict[str, Any]:
    attribute = _find(_admin(request), attribute_id)
    data = json_body(request)
    ignored = apply(attribute, data)
    definitions.save(attribute)
    mark_ignored(response, ignored)
    return attribute_out(attribute)


@router.delete(
    "/object_manager_attributes/{int:attribute_id}",
    response={200: dict[str, Any], **ERRORS},
    summary="Delete a custom case attribute no case uses (admins; applies at once)",
)
def delete_attribute(request: HttpRequest, attribute_id: int) -> dict[str, Any]:
    definitions.delete(_find(_admin(request), attribute_id))
    return {}


@router.post(
    "/object_manager_attributes_execute_migrations",
    response={200: dict[str, Any], **ERRORS},
    summary="Apply staged attribute changes: a no-op, Vorgang applies them at once",
)
def execute_migrations(request: HttpRequest) -> dict[str, Any]:
    _admin(request)
    return {}
