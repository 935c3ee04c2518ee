"""``vorgang user create LOGIN --email EMAIL --role admin|agent|citizen|integration``."""

from __future__ import annotations

import getpass
import os
import sys
from argparse import ArgumentParser
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from vorgang.accounts import services
from vorgang.accounts.models import Role, User
from vorgang.core.management.utils import (
    add_tenant_argument,
    require_migrated,
    service_errors,
    tenant_or_default,
)

PASSWORD_ENV = "VORGANG_PASSWORD"  # noqa: S105 - a variable name, not a password


class Command(BaseCommand):
    help = "Create users (admins, agents, citizens, integration accounts)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
        create = actions.add_parser(
            "create",
            help="create a user",
            description="Create a user. The password comes from --password, else from "
            f"${PASSWORD_ENV}, else it is asked for (on a terminal); without one the "
            "user cannot log in until an admin sets it (vorgang changepassword LOGIN).",
        )
        create.add_argument("login", help="login name")
        create.add_argument("--email", required=True, help="e-mail address")
        create.add_argument(
            "--role",
            required=True,
            help="admin, agent, citizen or integration (submits to online services through "
            "the API, reads no case)",
        )
        create.add_argument("--password", help=f"password (or set ${PASSWORD_ENV})")
        create.add_argument("--first-name", default="", help="first name")
        create.add_argument("--last-name", default="", help="last name")
        create.add_argument(
            "--no-input",
            action="store_false",
            dest="interactive",
            help="never ask for a password",
        )
        add_tenant_argument(create, "the tenant's short name (default: the first tenant)")

    def handle(self, *args: Any, **options: Any) -> None:
        require_migrated()
        if options["action"] == "create":
            self.create(options)

    def create(self, options: dict[str, Any]) -> None:
        role = options["role"]
        if role not in Role.values:
            raise CommandError(f"Unknown role {role!r}; use one of {', '.join(Role.values)}.")
        tenant = tenant_or_default(options["tenant"])
        password = (
            options["password"] or os.environ.get(PASSWORD_ENV) or self._ask_password(options)
        )
        if password:
            candidate = User(
                username=options["login"],
                email=options["email"],
                first_name=options["first_name"],
                last_name=options["last_name"],
            )
            try:
                validate_password(password, candidate)
            except ValidationError as exc:
                raise CommandError("Password refused: " + " ".join(exc.messages)) from exc
        with service_errors(), transaction.atomic():
            user = services.create_user(
                options["login"],
                email=options["email"],
                role=role,
                password=password or None,
                first_name=options["first_name"],
                last_name=options["last_name"],
                tenant=tenant,
            )
        self.stdout.write(f"Created {user.role} {user.username!r} (id {user.pk}).")
        if not password:
            self.stderr.write(
                f"No password set: {user.username!r} cannot log in until one is set "
                f"(vorgang changepassword {user.username})."
            )

    def _ask_password(self, options: dict[str, Any]) -> str:
        if not options["interactive"] or not sys.stdin.isatty():
            return ""
        first = getpass.getpass("Password (empty: none): ")
        if first and getpass.getpass("Password again: ") != first:
            raise CommandError("The passwords differ; nothing was created.")
        return first
