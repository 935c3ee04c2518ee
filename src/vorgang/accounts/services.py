"""Creating users, citizens and departments (used by the CLI, demo data and admin)."""

from __future__ import annotations

import secrets
from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from vorgang.core.errors import InvalidInput

from . import access
from .models import AccessLevel, Department, Role, Tenant, User


def _email(address: str) -> str:
    address = (address or "").strip()
    try:
        validate_email(address)
    except ValidationError:
        raise InvalidInput(f"{address!r} is not a valid e-mail address.") from None
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
        raise InvalidInput("A user needs a login name.")
    if role not in Role.values:
        raise InvalidInput(f"Unknown role {role!r}; use one of {', '.join(Role.values)}.")
    if User.objects.filter(username=login).exists():
        raise InvalidInput(f"A user with the login {login!r} exists already.")
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
        raise InvalidInput("A department needs a name.")
    tenant = tenant or Tenant.default()
    address = _email(address)
    grants = list(grants)
    with transaction.atomic():
        if Department.objects.filter(tenant=tenant, name=name).exists():
            raise InvalidInput(f"A department named {name!r} exists already.")
        if Department.objects.filter(email_address__iexact=address).exists():
            raise InvalidInput(f"The address {address} belongs to another department.")
        department = Department.objects.create(
            tenant=tenant, name=name, email_address=address, signature=signature
        )
        for login, level in grants:
            grant_access(department, login, level)
    return department


def grant_access(department: Department, login: str, level: str) -> None:
    if level not in AccessLevel.values:
        raise InvalidInput(
            f"Unknown access level {level!r}; use one of {', '.join(AccessLevel.values)}."
        )
    user = User.objects.filter(username=login, tenant=department.tenant).first()
    if user is None:
        raise InvalidInput(f"No user {login!r} in {department.tenant.name}.")
    if user.is_citizen:
        raise InvalidInput(f"{login!r} is a citizen and cannot work cases.")
    access.grant(user, department.pk, [level])
