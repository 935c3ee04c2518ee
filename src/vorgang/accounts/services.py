"""Creating users, citizens and departments (used by the CLI, demo data and admin)."""

from __future__ import annotations

import secrets
from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils.translation import gettext as _

from vorgang.core.errors import InvalidInput

from . import access
from .models import AccessLevel, Department, Role, Tenant, User


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


def find_or_create_citizen(
    tenant: Tenant, email: str, *, first_name: str = "", last_name: str = "", **extra: str
) -> User:
    """The tenant's citizen with this address, created on first contact."""
    email = _email(email)
    existing = (
        User.objects.filter(tenant=tenant, role=Role.CITIZEN, email__iexact=email)
        .order_by("pk")
        .first()
    )
    if existing is not None:
        return existing
    user = User(
        username=f"citizen-{secrets.token_hex(8)}",
        email=email,
        role=Role.CITIZEN,
        tenant=tenant,
        first_name=first_name[:150],
        last_name=last_name[:150],
        **extra,
    )
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
) -> Department:
    """A department with its sender address; ``grants`` are (login, level) pairs."""
    name = (name or "").strip()
    if not name:
        raise InvalidInput(_("A department needs a name."))
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
            tenant=tenant, name=name, email_address=address, signature=signature
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
