"""Users, organisations, groups (departments) and roles, in Zammad's paths and shapes.

Who sees what (Zammad's rules inside Vorgang's tenant walls):

- users: agents and admins list, search and show every user of their tenant; citizens
  and integration accounts see only themselves. Admins create and edit everyone;
  agents create and edit citizens only and set neither roles nor ``group_ids``.
- organizations: agents and admins read, create and edit; a citizen sees only their own.
- groups: admins read and change every department of their tenant; agents read the
  departments in which they hold an access level (Zammad lets only admins read groups;
  agents need the names to create and hand over cases). Zammad's ``email_address_id``
  and ``signature_id`` point to separate objects; a Vorgang department has exactly one
  sender address and one signature, so both are given as text (``email_address``,
  ``signature``) and their ids equal the group's id (``signature_id`` is null without a
  signature). Writes take the text fields; the id fields are ignored.
- roles: the four fixed roles (see roles.py), readable by agents and admins.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Router, Status

from vorgang.accounts import access
from vorgang.accounts import services as accounts
from vorgang.accounts.models import (
    Department,
    DepartmentAccess,
    FollowUpPolicy,
    Organisation,
    User,
)
from vorgang.core.errors import InvalidInput, NotFound, PermissionDenied

from . import fields, roles
from .common import json_body, mark_ignored, paginate, ts, want_expand

router = Router()

SEARCH_LIMIT = 100


def _auth(request: HttpRequest) -> User:
    user: User = request.auth  # type: ignore[attr-defined]
    return user


def _body(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    """OpenAPI for a JSON body read by hand (names accepted in place of ids)."""
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


_TEXT = {"type": "string"}
_ID_OR_NAME = {"oneOf": [{"type": "integer"}, {"type": "string"}]}
USER_BODY = _body(
    {
        "login": _TEXT,
        "firstname": _TEXT,
        "lastname": _TEXT,
        "email": {"type": "string", "format": "email"},
        "phone": _TEXT,
        "address": _TEXT,
        "active": {"type": "boolean"},
        "password": _TEXT,
        "organization_id": {"type": ["integer", "null"]},
        "organization": {"type": ["string", "null"]},
        "role_ids": {"type": "array", "items": _ID_OR_NAME},
        "roles": {"type": "array", "items": _TEXT},
        "group_ids": {
            "type": "object",
            "additionalProperties": {"type": "array", "items": _TEXT},
            "description": 'department id or name -> access levels, e.g. {"3": ["full"]}',
        },
    }
)
ORGANIZATION_BODY = _body({"name": _TEXT, "note": _TEXT}, ["name"])
GROUP_BODY = _body(
    {
        "name": _TEXT,
        "email_address": {"type": "string", "format": "email"},
        "signature": _TEXT,
        "active": {"type": "boolean"},
        "follow_up_possible": {"type": "string", "enum": ["yes", "new_ticket"]},
        "follow_up_policy": {"type": "string", "enum": FollowUpPolicy.values},
        "follow_up_days": {"type": "integer", "minimum": 1},
    }
)


def _require_staff(user: User) -> None:
    """Agents and admins only (Zammad: ticket.agent or admin.*)."""
    if not (user.is_active and user.is_agent):
        raise PermissionDenied(_("Only agents and administrators may do this."))


def _require_admin(user: User) -> None:
    accounts.require_admin(user)


def _ignored(response: HttpResponse, data: dict[str, Any], known: Iterable[str]) -> None:
    mark_ignored(response, set(data) - set(known))


# --- lookups by id or by name -------------------------------------------------------------


def organisation_from(user: User, value: Any, key: str = "organization") -> Organisation | None:
    """An organisation of the user's tenant by id or name; "" or null clears it."""
    if value is None or value == "":
        return None
    qs = Organisation.objects.filter(tenant_id=user.tenant_id)
    if isinstance(value, str) and not value.strip().isdigit():
        found = qs.filter(name=value.strip()).first()
    else:
        found = qs.filter(pk=fields.integer(value, key)).first()
    if found is None:
        raise InvalidInput(_("Unknown organisation %(name)s.") % {"name": repr(value)})
    return found


def department_from(user: User, value: Any, key: str = "group") -> Department:
    """A department of the user's tenant by id or name (Zammad: group)."""
    qs = Department.objects.filter(tenant_id=user.tenant_id)
    if isinstance(value, str) and not value.strip().isdigit():
        found = qs.filter(name=value.strip()).first()
    else:
        found = qs.filter(pk=fields.integer(value, key)).first()
    if found is None:
        raise InvalidInput(_("Unknown group %(name)s.") % {"name": repr(value)})
    return found


def _departments_from(user: User, value: Any) -> dict[int, list[str]]:
    """Zammad's ``group_ids``: {"<id or name>": ["full", ...]} (a single level may be a string)."""
    if not isinstance(value, dict):
        raise InvalidInput(_('group_ids must be an object like {"1": ["full"]}.'))
    result: dict[int, list[str]] = {}
    for key, levels in value.items():
        department = department_from(user, key, "group_ids")
        if isinstance(levels, str):
            levels = [levels]
        if not isinstance(levels, list) or not all(isinstance(lv, str) for lv in levels):
            raise InvalidInput(_("The access levels of a group must be a list of names."))
        result[department.pk] = levels
    return result


# --- users ------------------------------------------------------------------------------------

USER_FIELDS = {
    "login",
    "firstname",
    "lastname",
    "email",
    "phone",
    "address",
    "active",
    "password",
    "organization_id",
    "organization",
    "role_ids",
    "roles",
    "group_ids",
}


class UserOut(fields.ZammadOut):
    id: int
    login: str
    firstname: str
    lastname: str
    email: str
    phone: str
    address: str
    active: bool
    organization_id: int | None
    role_ids: list[int]
    group_ids: dict[str, list[str]]
    created_at: str | None
    updated_at: str | None


def _group_ids(levels: dict[int, frozenset[str]]) -> dict[str, list[str]]:
    return {str(dep): sorted(held) for dep, held in sorted(levels.items())}


def _all_levels(user: User) -> dict[int, frozenset[str]]:
    """All department access of a user, inactive departments included (an admin edits it)."""
    collected: dict[int, set[str]] = {}
    for dep, level in DepartmentAccess.objects.filter(
        user=user, department__tenant_id=user.tenant_id
    ).values_list("department_id", "level"):
        collected.setdefault(dep, set()).add(level)
    return {dep: frozenset(levels) for dep, levels in collected.items()}


def user_out(user: User, expand: bool = False) -> dict[str, Any]:
    """A user in Zammad's shape; ``updated_at`` is the creation time (Vorgang keeps no other)."""
    levels = _all_levels(user) if user.is_agent else {}
    out: dict[str, Any] = {
        "id": user.pk,
        "login": user.username,
        "firstname": user.first_name,
        "lastname": user.last_name,
        "email": user.email,
        "phone": user.phone,
        "address": user.address,
        "active": user.is_active,
        "verified": user.trust_level != "none",
        "organization_id": user.organisation_id,
        "role_ids": roles.user_role_ids(user),
        "group_ids": _group_ids(levels),
        "last_login": ts(user.last_login),
        "created_at": ts(user.date_joined),
        "updated_at": ts(user.date_joined),
    }
    if expand:
        out["organization"] = user.organisation.name if user.organisation else None
        out["roles"] = roles.role_names(user.role)
        names = dict(Department.objects.filter(pk__in=levels).values_list("pk", "name"))
        out["groups"] = {names[dep]: sorted(held) for dep, held in levels.items()}
    return out


def _visible_users(user: User) -> QuerySet[User]:
    base = User.objects.filter(tenant_id=user.tenant_id).select_related("organisation")
    if user.is_active and user.is_agent:
        return base
    return base.filter(pk=user.pk)


def _person(user: User, data: dict[str, Any]) -> accounts.PersonInput:
    role = None
    if data.get("role_ids") is not None:
        role = roles.role_from(data["role_ids"])
    elif data.get("roles") is not None:
        role = roles.role_from(data["roles"])
    organisation: Any = accounts.UNSET
    if "organization_id" in data:
        organisation = organisation_from(user, data["organization_id"], "organization_id")
    elif "organization" in data:
        organisation = organisation_from(user, data["organization"])
    departments = None
    if data.get("group_ids") is not None:
        if not user.is_admin:  # before resolving them: no probing of department ids
            raise PermissionDenied(_("Only administrators may change department access."))
        departments = _departments_from(user, data["group_ids"])
    return accounts.PersonInput(
        login=fields.text(data, "login"),
        email=fields.text(data, "email"),
        first_name=fields.text(data, "firstname"),
        last_name=fields.text(data, "lastname"),
        phone=fields.text(data, "phone"),
        address=fields.text(data, "address"),
        role=role,
        active=fields.boolean(data, "active"),
        password=fields.text(data, "password"),
        organisation=organisation,
        departments=departments,
    )


@router.get(
    "/users/me",
    response={200: UserOut, **fields.ERRORS},
    tags=["users"],
    summary="The authenticated user",
)
def users_me(request: HttpRequest) -> dict[str, Any]:
    return user_out(_auth(request), want_expand(request))


@router.get(
    "/users/search",
    response={200: list[UserOut], **fields.ERRORS},
    tags=["users"],
    summary="Search users by login, name, e-mail or phone (agents and admins)",
)
def users_search(request: HttpRequest, query: str = "") -> list[dict[str, Any]]:
    user = _auth(request)
    _require_staff(user)
    qs = _visible_users(user)
    for word in query.replace("*", " ").split()[:10]:
        qs = qs.filter(
            Q(username__icontains=word)
            | Q(first_name__icontains=word)
            | Q(last_name__icontains=word)
            | Q(email__icontains=word)
            | Q(phone__icontains=word)
        )
    found = paginate(request, qs.order_by("pk"))[: fields.limit(request, SEARCH_LIMIT, 500)]
    expand = want_expand(request)
    return [user_out(u, expand) for u in found]


@router.get(
    "/users",
    response={200: list[UserOut], **fields.ERRORS},
    tags=["users"],
    summary="List users (citizens see only themselves)",
)
def users_list(request: HttpRequest) -> list[dict[str, Any]]:
    user = _auth(request)
    expand = want_expand(request)
    return [user_out(u, expand) for u in paginate(request, _visible_users(user).order_by("pk"))]


@router.get(
    "/users/{int:user_id}",
    response={200: UserOut, **fields.ERRORS},
    tags=["users"],
    summary="One user",
)
def users_show(request: HttpRequest, user_id: int) -> dict[str, Any]:
    found = _visible_users(_auth(request)).filter(pk=user_id).first()
    if found is None:
        raise NotFound(_("Unknown user."))
    return user_out(found, want_expand(request))


@router.post(
    "/users",
    openapi_extra=USER_BODY,
    response={201: UserOut, **fields.ERRORS},
    tags=["users"],
    summary="Create a user (agents: citizens only)",
)
def users_create(request: HttpRequest, response: HttpResponse) -> Status[dict[str, Any]]:
    user = _auth(request)
    _require_staff(user)
    data = json_body(request)
    created = accounts.create_person(user, _person(user, data))
    _ignored(response, data, USER_FIELDS)
    return Status(201, user_out(created, want_expand(request)))


@router.put(
    "/users/{int:user_id}",
    openapi_extra=USER_BODY,
    response={200: UserOut, **fields.ERRORS},
    tags=["users"],
    summary="Update a user (agents: citizens only)",
)
def users_update(request: HttpRequest, response: HttpResponse, user_id: int) -> dict[str, Any]:
    user = _auth(request)
    _require_staff(user)
    if not _visible_users(user).filter(pk=user_id).exists():
        raise NotFound(_("Unknown user."))
    data = json_body(request)
    updated = accounts.update_person(user, user_id, _person(user, data))
    _ignored(response, data, USER_FIELDS)
    return user_out(
        User.objects.select_related("organisation").get(pk=updated.pk), want_expand(request)
    )


# --- organizations --------------------------------------------------------------------------

ORGANIZATION_FIELDS = {"name", "note"}


class OrganizationOut(fields.ZammadOut):
    id: int
    name: str
    note: str
    active: bool
    member_ids: list[int]
    created_at: str | None
    updated_at: str | None


def organization_out(organisation: Organisation, expand: bool = False) -> dict[str, Any]:
    members = list(organisation.members.order_by("pk").values_list("pk", "username"))
    out: dict[str, Any] = {
        "id": organisation.pk,
        "name": organisation.name,
        "note": organisation.note,
        "active": True,
        "shared": True,
        "member_ids": [pk for pk, _login in members],
        "created_at": ts(organisation.created_at),
        "updated_at": ts(organisation.created_at),
    }
    if expand:
        out["members"] = [login for _pk, login in members]
    return out


def _visible_organisations(user: User) -> QuerySet[Organisation]:
    base = Organisation.objects.filter(tenant_id=user.tenant_id)
    if user.is_active and user.is_agent:
        return base
    if user.is_active and user.is_citizen and user.organisation_id:
        return base.filter(pk=user.organisation_id)
    return base.none()


@router.get(
    "/organizations",
    response={200: list[OrganizationOut], **fields.ERRORS},
    tags=["organizations"],
    summary="List organisations (a citizen sees only their own)",
)
def organizations_list(request: HttpRequest) -> list[dict[str, Any]]:
    qs = _visible_organisations(_auth(request)).order_by("pk")
    expand = want_expand(request)
    return [organization_out(o, expand) for o in paginate(request, qs)]


@router.get(
    "/organizations/search",
    response={200: list[OrganizationOut], **fields.ERRORS},
    tags=["organizations"],
    summary="Search organisations by name (agents and admins)",
)
def organizations_search(request: HttpRequest, query: str = "") -> list[dict[str, Any]]:
    user = _auth(request)
    _require_staff(user)
    qs = _visible_organisations(user)
    for word in query.replace("*", " ").split()[:10]:
        qs = qs.filter(name__icontains=word)
    found = paginate(request, qs.order_by("name", "pk"))[: fields.limit(request, SEARCH_LIMIT, 500)]
    expand = want_expand(request)
    return [organization_out(o, expand) for o in found]


@router.get(
    "/organizations/{int:organization_id}",
    response={200: OrganizationOut, **fields.ERRORS},
    tags=["organizations"],
    summary="One organisation",
)
def organizations_show(request: HttpRequest, organization_id: int) -> dict[str, Any]:
    found = _visible_organisations(_auth(request)).filter(pk=organization_id).first()
    if found is None:
        raise NotFound(_("Unknown organisation."))
    return organization_out(found, want_expand(request))


@router.post(
    "/organizations",
    openapi_extra=ORGANIZATION_BODY,
    response={201: OrganizationOut, **fields.ERRORS},
    tags=["organizations"],
    summary="Create an organisation (agents and admins)",
)
def organizations_create(request: HttpRequest, response: HttpResponse) -> Status[dict[str, Any]]:
    user = _auth(request)
    _require_staff(user)
    data = json_body(request)
    created = accounts.create_organisation(
        user, name=fields.required_text(data, "name"), note=fields.text(data, "note") or ""
    )
    _ignored(response, data, ORGANIZATION_FIELDS)
    return Status(201, organization_out(created, want_expand(request)))


@router.put(
    "/organizations/{int:organization_id}",
    openapi_extra=ORGANIZATION_BODY,
    response={200: OrganizationOut, **fields.ERRORS},
    tags=["organizations"],
    summary="Update an organisation (agents and admins)",
)
def organizations_update(
    request: HttpRequest, response: HttpResponse, organization_id: int
) -> dict[str, Any]:
    user = _auth(request)
    _require_staff(user)
    data = json_body(request)
    updated = accounts.update_organisation(
        user, organization_id, name=fields.text(data, "name"), note=fields.text(data, "note")
    )
    _ignored(response, data, ORGANIZATION_FIELDS)
    return organization_out(updated, want_expand(request))


# --- groups (departments) --------------------------------------------------------------------

GROUP_FIELDS = {
    "name",
    "email_address",
    "signature",
    "active",
    "follow_up_possible",
    "follow_up_policy",
    "follow_up_days",
}

# Zammad's follow_up_possible is "yes" (a reply reopens) or "new_ticket".
_FOLLOW_UP_OUT: dict[str, str] = {
    FollowUpPolicy.REOPEN: "yes",
    FollowUpPolicy.NEW_CASE: "new_ticket",
    FollowUpPolicy.NEW_AFTER_DAYS: "yes",
}
_FOLLOW_UP_IN: dict[str, str] = {
    "yes": FollowUpPolicy.REOPEN,
    "new_ticket": FollowUpPolicy.NEW_CASE,
}


class GroupOut(fields.ZammadOut):
    id: int
    name: str
    active: bool
    email_address: str
    email_address_id: int | None
    signature: str
    signature_id: int | None
    follow_up_possible: str
    follow_up_policy: str
    follow_up_days: int
    user_ids: list[int]
    created_at: str | None
    updated_at: str | None


def group_out(department: Department, expand: bool = False) -> dict[str, Any]:
    members = list(
        User.objects.filter(department_access__department=department)
        .distinct()
        .order_by("pk")
        .values_list("pk", "username")
    )
    out: dict[str, Any] = {
        "id": department.pk,
        "name": department.name,
        "active": department.active,
        "note": None,
        "email_address": department.email_address,
        "email_address_id": department.pk,
        "signature": department.signature,
        "signature_id": department.pk if department.signature else None,
        "follow_up_possible": _FOLLOW_UP_OUT.get(department.follow_up_policy, "yes"),
        "follow_up_assignment": True,
        "follow_up_policy": department.follow_up_policy,
        "follow_up_days": department.follow_up_days,
        "assignment_timeout": None,
        "user_ids": [pk for pk, _login in members],
        "created_at": ts(department.created_at),
        "updated_at": ts(department.created_at),
    }
    if expand:
        out["users"] = [login for _pk, login in members]
    return out


def _visible_departments(user: User) -> QuerySet[Department]:
    base = Department.objects.filter(tenant_id=user.tenant_id)
    _require_staff(user)
    if user.is_admin:
        return base
    return base.filter(pk__in=list(access.levels_by_department(user)))


def _follow_up(data: dict[str, Any]) -> str | None:
    policy = fields.text(data, "follow_up_policy")
    if policy is not None:
        return policy
    possible = fields.text(data, "follow_up_possible")
    if possible is None:
        return None
    if possible not in _FOLLOW_UP_IN:
        raise InvalidInput(_('follow_up_possible must be "yes" or "new_ticket".'))
    return _FOLLOW_UP_IN[possible]


def _days(data: dict[str, Any]) -> int | None:
    if data.get("follow_up_days") is None:
        return None
    return fields.integer(data["follow_up_days"], "follow_up_days")


@router.get(
    "/groups",
    response={200: list[GroupOut], **fields.ERRORS},
    tags=["groups"],
    summary="List departments (admins: all; agents: their own)",
)
def groups_list(request: HttpRequest) -> list[dict[str, Any]]:
    qs = _visible_departments(_auth(request)).order_by("pk")
    expand = want_expand(request)
    return [group_out(d, expand) for d in paginate(request, qs)]


@router.get(
    "/groups/{int:group_id}",
    response={200: GroupOut, **fields.ERRORS},
    tags=["groups"],
    summary="One department",
)
def groups_show(request: HttpRequest, group_id: int) -> dict[str, Any]:
    found = _visible_departments(_auth(request)).filter(pk=group_id).first()
    if found is None:
        raise NotFound(_("Unknown group."))
    return group_out(found, want_expand(request))


@router.post(
    "/groups",
    openapi_extra=GROUP_BODY,
    response={201: GroupOut, **fields.ERRORS},
    tags=["groups"],
    summary="Create a department (admins)",
)
def groups_create(request: HttpRequest, response: HttpResponse) -> Status[dict[str, Any]]:
    user = _auth(request)
    _require_admin(user)
    data = json_body(request)
    name = fields.required_text(data, "name")
    address = fields.text(data, "email_address")
    if not address:
        raise InvalidInput(_("A department needs its sender address (email_address)."))
    active = fields.boolean(data, "active")
    days = _days(data)
    created = accounts.create_department(
        name,
        address=address,
        tenant=user.tenant,
        signature=fields.text(data, "signature") or "",
        active=True if active is None else active,
        follow_up_policy=_follow_up(data) or FollowUpPolicy.REOPEN,
        follow_up_days=14 if days is None else days,
    )
    _ignored(response, data, GROUP_FIELDS)
    return Status(201, group_out(created, want_expand(request)))


@router.put(
    "/groups/{int:group_id}",
    openapi_extra=GROUP_BODY,
    response={200: GroupOut, **fields.ERRORS},
    tags=["groups"],
    summary="Update a department (admins)",
)
def groups_update(request: HttpRequest, response: HttpResponse, group_id: int) -> dict[str, Any]:
    user = _auth(request)
    _require_admin(user)
    data = json_body(request)
    updated = accounts.update_department(
        user,
        group_id,
        name=fields.text(data, "name"),
        address=fields.text(data, "email_address"),
        signature=fields.text(data, "signature"),
        active=fields.boolean(data, "active"),
        follow_up_policy=_follow_up(data),
        follow_up_days=_days(data),
    )
    _ignored(response, data, GROUP_FIELDS)
    return group_out(updated, want_expand(request))


# --- roles ----------------------------------------------------------------------------------


class RoleOut(fields.ZammadOut):
    id: int
    name: str
    active: bool
    note: str
    default_at_signup: bool


@router.get(
    "/roles",
    response={200: list[RoleOut], **fields.ERRORS},
    tags=["roles"],
    summary="The fixed roles: Admin 1, Agent 2, Customer 3, Integration 4",
)
def roles_list(request: HttpRequest) -> list[dict[str, Any]]:
    _require_staff(_auth(request))
    return paginate(request, list(roles.all_roles()))


@router.get(
    "/roles/{int:role_id}",
    response={200: RoleOut, **fields.ERRORS},
    tags=["roles"],
    summary="One role",
)
def roles_show(request: HttpRequest, role_id: int) -> dict[str, Any]:
    _require_staff(_auth(request))
    if role_id not in roles.ROLES:
        raise NotFound(_("Unknown role."))
    return roles.role_out(role_id)


__all__ = ["department_from", "organisation_from", "router", "user_out"]
