"""Creating users, citizens and departments (used by the CLI, demo data, admin and the API).

``create_person``/``update_person``, ``create_organisation``/``update_organisation`` and
``update_department`` take the acting user and check what that user may do, as Zammad does:
admins manage everyone in their tenant; agents create and edit citizens (customers) and
organisations but never roles or department access; nobody else manages users.
"""

from __future__ import annotations

import functools
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import connection, transaction
from django.utils.translation import gettext as _

from vorgang.core import instances
from vorgang.core.errors import InvalidInput, NotFound, PermissionDenied

from . import access
from .models import (
    AccessLevel,
    Department,
    DepartmentAccess,
    FollowUpPolicy,
    Organisation,
    Role,
    Tenant,
    User,
)


def _email(address: str) -> str:
    address = (address or "").strip()
    try:
        validate_email(address)
    except ValidationError:
        raise InvalidInput(
            _("%(address)s is not a valid e-mail address.") % {"address": repr(address)}
        ) from None
    return address


def create_user(
    login: str,
    *,
    email: str,
    role: str,
    password: str | None = None,
    first_name: str = "",
    last_name: str = "",
    tenant: Tenant | None = None,
) -> User:
    login = (login or "").strip()
    if not login:
        raise InvalidInput(_("A user needs a login name."))
    if role not in Role.values:
        raise InvalidInput(
            _("Unknown role %(role)s; use one of %(choices)s.")
            % {"role": repr(role), "choices": ", ".join(Role.values)}
        )
    if User.objects.filter(username=login).exists():
        raise InvalidInput(
            _("A user with the login %(login)s exists already.") % {"login": repr(login)}
        )
    user = User(
        username=login,
        email=_email(email),
        role=role,
        first_name=first_name,
        last_name=last_name,
        tenant=tenant or Tenant.default(),
    )
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.save()
    return user


@functools.cache
def _citizen_by_email_sql(vendor: str) -> str:
    del vendor  # part of the cache key: quoting differs per engine
    table = connection.ops.quote_name(User._meta.db_table)
    return (
        f"SELECT {instances.columns(User, 'u')} FROM {table} u "  # noqa: S608
        "WHERE u.tenant_id = %s AND u.role = %s AND UPPER(u.email) = UPPER(%s)"
    )


def find_or_create_citizen(
    tenant: Tenant | int, email: str, *, first_name: str = "", last_name: str = "", **extra: str
) -> User:
    """The tenant's (or tenant id's) citizen with this address, created on first contact."""
    email = _email(email)
    tenant_id = tenant.pk if isinstance(tenant, Tenant) else tenant
    # All matches (a handful at most), not ``.first()``: with ORDER BY id LIMIT 1 the
    # planner may walk the primary key through every user instead of using the index
    # on UPPER(email) when the address is new (45-90 ms instead of 0.1 ms, 33,000 users).
    # UPPER(email) = UPPER(address) rather than ``email__iexact``: the same comparison, in
    # the form of the index (accounts_user_email_upper); SQLite turns ``iexact`` into a
    # LIKE, which reads every user of the tenant.
    # Plain SQL (core.instances): the ORM's query, even ``raw``, cost more Python than
    # the index lookup.
    matches = instances.rows(
        User, _citizen_by_email_sql(connection.vendor), [tenant_id, Role.CITIZEN.value, email]
    )
    existing = min(matches, key=lambda user: user.pk, default=None)
    if existing is not None:
        return existing
    user = User(
        username=f"citizen-{secrets.token_hex(8)}",
        email=email,
        role=Role.CITIZEN,
        tenant_id=tenant_id,
        first_name=first_name[:150],
        last_name=last_name[:150],
        **extra,
    )
    if isinstance(tenant, Tenant):
        user.tenant = tenant  # callers that passed the tenant read it without a query
    user.set_unusable_password()
    user.save()
    return user


def create_department(
    name: str,
    *,
    address: str,
    tenant: Tenant | None = None,
    signature: str = "",
    grants: Iterable[tuple[str, str]] = (),
    active: bool = True,
    follow_up_policy: str = FollowUpPolicy.REOPEN,
    follow_up_days: int = 14,
) -> Department:
    """A department with its sender address; ``grants`` are (login, level) pairs."""
    name = (name or "").strip()
    if not name:
        raise InvalidInput(_("A department needs a name."))
    if len(name) > 200:
        raise InvalidInput(_("A department name has at most 200 characters."))
    _check_follow_up(follow_up_policy, follow_up_days)
    tenant = tenant or Tenant.default()
    address = _email(address)
    grants = list(grants)
    with transaction.atomic():
        if Department.objects.filter(tenant=tenant, name=name).exists():
            raise InvalidInput(
                _("A department named %(name)s exists already.") % {"name": repr(name)}
            )
        if Department.objects.filter(email_address__iexact=address).exists():
            raise InvalidInput(
                _("The address %(address)s belongs to another department.") % {"address": address}
            )
        department = Department.objects.create(
            tenant=tenant,
            name=name,
            email_address=address,
            signature=signature,
            active=active,
            follow_up_policy=follow_up_policy,
            follow_up_days=follow_up_days,
        )
        for login, level in grants:
            grant_access(department, login, level)
    return department


def grant_access(department: Department, login: str, level: str) -> None:
    if level not in AccessLevel.values:
        raise InvalidInput(
            _("Unknown access level %(level)s; use one of %(choices)s.")
            % {"level": repr(level), "choices": ", ".join(AccessLevel.values)}
        )
    user = User.objects.filter(username=login, tenant=department.tenant).first()
    if user is None:
        raise InvalidInput(
            _("No user %(login)s in %(tenant)s.")
            % {"login": repr(login), "tenant": str(department.tenant)}
        )
    if user.is_citizen:
        raise InvalidInput(
            _("%(login)s is a citizen and cannot work cases.") % {"login": repr(login)}
        )
    access.grant(user, department.pk, [level])


# --- managing people, organisations and departments on behalf of a user ------------------


class _Unset:
    """Marks a field the caller leaves as it is (``None`` can be a real value)."""

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()

MAX_NAME = 150  # Django's first_name/last_name


@dataclass(frozen=True)
class PersonInput:
    """Fields of a person to set; ``None`` (or UNSET) leaves a field unchanged.

    ``departments`` replaces all of the person's department access when given
    (department id -> access levels), as Zammad's ``group_ids`` does.
    """

    login: str | None = None
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    address: str | None = None
    role: str | None = None
    active: bool | None = None
    password: str | None = None
    organisation: Any = UNSET  # Organisation | None | UNSET
    departments: Mapping[int, Sequence[str]] | None = None


def may_manage(actor: User, role: str) -> bool:
    """May ``actor`` create or edit a person who has (or gets) ``role``?"""
    if not actor.is_active:
        return False
    if actor.is_admin:
        return True
    return actor.role == Role.AGENT and role == Role.CITIZEN


def _require_manage(actor: User, role: str) -> None:
    if may_manage(actor, role):
        return
    if actor.role == Role.AGENT:
        raise PermissionDenied(_("Agents may only create and edit citizens."))
    raise PermissionDenied(_("Only agents and administrators may manage users."))


def _role(role: str) -> str:
    if role not in Role.values:
        raise InvalidInput(
            _("Unknown role %(role)s; use one of %(choices)s.")
            % {"role": repr(role), "choices": ", ".join(Role.values)}
        )
    return role


def _text(value: str, limit: int, label: str) -> str:
    value = (value or "").strip()
    if len(value) > limit:
        raise InvalidInput(
            _("%(field)s has at most %(limit)d characters.") % {"field": label, "limit": limit}
        )
    return value


def _is_staff_role(role: str) -> bool:
    return role in (Role.ADMIN, Role.AGENT)


def _check_email_free(tenant_id: int, email: str, role: str, exclude: int | None) -> None:
    """Citizens are found by their address, so it may belong to only one citizen (and
    likewise to only one agent account) per tenant."""
    roles = [Role.CITIZEN] if role == Role.CITIZEN else [Role.ADMIN, Role.AGENT, Role.INTEGRATION]
    taken = User.objects.filter(tenant_id=tenant_id, email__iexact=email, role__in=roles)
    if exclude is not None:
        taken = taken.exclude(pk=exclude)
    if taken.exists():
        raise InvalidInput(
            _("The e-mail address %(address)s is already used by another user.")
            % {"address": email}
        )


def _check_login_free(login: str, exclude: int | None) -> None:
    taken = User.objects.filter(username=login)
    if exclude is not None:
        taken = taken.exclude(pk=exclude)
    if taken.exists():
        raise InvalidInput(
            _("A user with the login %(login)s exists already.") % {"login": repr(login)}
        )


def _check_organisation(organisation: Any, tenant_id: int) -> None:
    if isinstance(organisation, Organisation) and organisation.tenant_id != tenant_id:
        raise InvalidInput(_("Unknown organisation."))


def _set_departments(user: User, departments: Mapping[int, Sequence[str]]) -> None:
    """Replace the user's department access with ``departments``."""
    wanted = {int(dep): list(levels) for dep, levels in departments.items() if levels}
    if wanted and not _is_staff_role(user.role):
        raise InvalidInput(_("Only agents and administrators can have department access."))
    known = set(
        Department.objects.filter(tenant_id=user.tenant_id, pk__in=wanted).values_list(
            "pk", flat=True
        )
    )
    for dep, levels in wanted.items():
        if dep not in known:
            raise InvalidInput(_("Unknown department %(id)s.") % {"id": dep})
        for level in levels:
            if level not in AccessLevel.values:
                raise InvalidInput(
                    _("Unknown access level %(level)s; use one of %(choices)s.")
                    % {"level": repr(level), "choices": ", ".join(AccessLevel.values)}
                )
    DepartmentAccess.objects.filter(user=user).delete()
    DepartmentAccess.objects.bulk_create(
        DepartmentAccess(user=user, department_id=dep, level=level)
        for dep, levels in wanted.items()
        for level in sorted(set(levels))
    )
    access.forget(user)


def create_person(actor: User, data: PersonInput) -> User:
    """A new citizen, agent, admin or integration account in the actor's tenant.

    Without a role the person is a citizen (Zammad's "Customer", its signup default).
    """
    role = _role(data.role or Role.CITIZEN)
    _require_manage(actor, role)
    if data.departments and not actor.is_admin:
        raise PermissionDenied(_("Only administrators may grant department access."))
    email = _email(data.email or "")
    if data.password and role == Role.CITIZEN:
        raise InvalidInput(_("Citizens sign in with their case link, not with a password."))
    login = _text(data.login or "", 150, _("Login"))
    if not login:
        login = f"citizen-{secrets.token_hex(8)}" if role == Role.CITIZEN else email
    organisation = None if data.organisation is UNSET else data.organisation
    _check_organisation(organisation, actor.tenant_id)
    with transaction.atomic():
        _check_login_free(login, None)
        _check_email_free(actor.tenant_id, email, role, None)
        user = User(
            tenant_id=actor.tenant_id,
            username=login,
            email=email,
            role=role,
            first_name=_text(data.first_name or "", MAX_NAME, _("First name")),
            last_name=_text(data.last_name or "", MAX_NAME, _("Last name")),
            phone=_text(data.phone or "", 50, _("Phone")),
            address=(data.address or "").strip(),
            organisation=organisation,
            is_active=True if data.active is None else data.active,
        )
        if data.password:
            user.set_password(data.password)
        else:
            user.set_unusable_password()
        user.save()
        if data.departments:
            _set_departments(user, data.departments)
    return user


def update_person(actor: User, user_id: int, data: PersonInput) -> User:
    """Change a person of the actor's tenant; only the fields given change."""
    with transaction.atomic():
        user = (
            User.objects.select_for_update().filter(pk=user_id, tenant_id=actor.tenant_id).first()
        )
        if user is None:
            raise NotFound(_("Unknown user."))
        _require_manage(actor, user.role)
        new_role = _role(data.role) if data.role is not None else user.role
        _require_manage(actor, new_role)
        if data.departments is not None and not actor.is_admin:
            raise PermissionDenied(_("Only administrators may change department access."))
        if user.pk == actor.pk and (new_role != Role.ADMIN or data.active is False):
            raise InvalidInput(
                _("You cannot take away your own administrator role or deactivate yourself.")
            )
        if data.password and new_role == Role.CITIZEN:
            raise InvalidInput(_("Citizens sign in with their case link, not with a password."))
        if data.email is not None:
            user.email = _email(data.email)
        if data.email is not None or new_role != user.role:
            _check_email_free(actor.tenant_id, user.email, new_role, user.pk)
        if data.login is not None:
            login = _text(data.login, 150, _("Login"))
            if not login:
                raise InvalidInput(_("A user needs a login name."))
            _check_login_free(login, user.pk)
            user.username = login
        if data.first_name is not None:
            user.first_name = _text(data.first_name, MAX_NAME, _("First name"))
        if data.last_name is not None:
            user.last_name = _text(data.last_name, MAX_NAME, _("Last name"))
        if data.phone is not None:
            user.phone = _text(data.phone, 50, _("Phone"))
        if data.address is not None:
            user.address = data.address.strip()
        if data.active is not None:
            user.is_active = data.active
        if data.organisation is not UNSET:
            _check_organisation(data.organisation, actor.tenant_id)
            user.organisation = data.organisation
        if data.password:
            user.set_password(data.password)
        role_changed = new_role != user.role
        user.role = new_role
        user.save()
        if data.departments is not None:
            _set_departments(user, data.departments)
        elif role_changed and not _is_staff_role(new_role):
            # Citizens and integrations never open cases through department access.
            _set_departments(user, {})
    access.forget(user)
    return user


def _require_agent(actor: User) -> None:
    if not (actor.is_active and actor.is_agent):
        raise PermissionDenied(_("Only agents and administrators may manage organisations."))


def _organisation_name(name: str, tenant_id: int, exclude: int | None) -> str:
    name = _text(name, 200, _("Name"))
    if not name:
        raise InvalidInput(_("An organisation needs a name."))
    taken = Organisation.objects.filter(tenant_id=tenant_id, name=name)
    if exclude is not None:
        taken = taken.exclude(pk=exclude)
    if taken.exists():
        raise InvalidInput(
            _("An organisation named %(name)s exists already.") % {"name": repr(name)}
        )
    return name


def create_organisation(actor: User, *, name: str, note: str = "") -> Organisation:
    _require_agent(actor)
    with transaction.atomic():
        return Organisation.objects.create(
            tenant_id=actor.tenant_id,
            name=_organisation_name(name, actor.tenant_id, None),
            note=note or "",
        )


def update_organisation(
    actor: User, organisation_id: int, *, name: str | None = None, note: str | None = None
) -> Organisation:
    _require_agent(actor)
    with transaction.atomic():
        organisation = (
            Organisation.objects.select_for_update()
            .filter(pk=organisation_id, tenant_id=actor.tenant_id)
            .first()
        )
        if organisation is None:
            raise NotFound(_("Unknown organisation."))
        if name is not None:
            organisation.name = _organisation_name(name, actor.tenant_id, organisation.pk)
        if note is not None:
            organisation.note = note
        organisation.save()
    return organisation


def require_admin(actor: User) -> None:
    if not (actor.is_active and actor.is_admin):
        raise PermissionDenied(_("Only administrators may do this."))


def _check_follow_up(policy: str, days: int) -> None:
    if policy not in FollowUpPolicy.values:
        raise InvalidInput(
            _("Unknown follow-up rule %(rule)s; use one of %(choices)s.")
            % {"rule": repr(policy), "choices": ", ".join(FollowUpPolicy.values)}
        )
    if days < 1:
        raise InvalidInput(_("The follow-up days must be 1 or more."))


def update_department(
    actor: User,
    department_id: int,
    *,
    name: str | None = None,
    address: str | None = None,
    signature: str | None = None,
    active: bool | None = None,
    follow_up_policy: str | None = None,
    follow_up_days: int | None = None,
) -> Department:
    """Change a department of the actor's tenant (administrators only)."""
    require_admin(actor)
    with transaction.atomic():
        department = (
            Department.objects.select_for_update()
            .filter(pk=department_id, tenant_id=actor.tenant_id)
            .first()
        )
        if department is None:
            raise NotFound(_("Unknown department."))
        if name is not None:
            name = _text(name, 200, _("Name"))
            if not name:
                raise InvalidInput(_("A department needs a name."))
            if (
                Department.objects.filter(tenant_id=department.tenant_id, name=name)
                .exclude(pk=department.pk)
                .exists()
            ):
                raise InvalidInput(
                    _("A department named %(name)s exists already.") % {"name": repr(name)}
                )
            department.name = name
        if address is not None:
            address = _email(address)
            if (
                Department.objects.filter(email_address__iexact=address)
                .exclude(pk=department.pk)
                .exists()
            ):
                raise InvalidInput(
                    _("The address %(address)s belongs to another department.")
                    % {"address": address}
                )
            department.email_address = address
        if signature is not None:
            department.signature = signature
        if active is not None:
            department.active = active
        policy = follow_up_policy if follow_up_policy is not None else department.follow_up_policy
        days = follow_up_days if follow_up_days is not None else department.follow_up_days
        _check_follow_up(policy, days)
        department.follow_up_policy = policy
        department.follow_up_days = days
        department.save()
    return department
