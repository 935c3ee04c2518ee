"""``vorgang department create NAME --address ADDR [--agent LOGIN:LEVEL ...]``."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from vorgang.accounts import services
from vorgang.accounts.models import AccessLevel
from vorgang.core.management.utils import (
    add_tenant_argument,
    require_migrated,
    service_errors,
    tenant_or_default,
)

LEVELS = ", ".join(AccessLevel.values)


def parse_grant(value: str) -> list[tuple[str, str]]:
    """``login:level`` or ``login:level,level`` -> [(login, level), ...]."""
    login, sep, levels = value.rpartition(":")
    if not sep or not login or not levels:
        raise CommandError(f"--agent {value!r}: write LOGIN:LEVEL, with LEVEL one of {LEVELS}.")
    grants = []
    for level in levels.split(","):
        level = level.strip()
        if level not in AccessLevel.values:
            raise CommandError(f"--agent {value!r}: unknown access level {level!r}; use {LEVELS}.")
        grants.append((login, level))
    return grants


class Command(BaseCommand):
    help = "Create departments (the units that work cases)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
        create = actions.add_parser(
            "create",
            help="create a department and print its id",
            description="Create a department with its sender address and print its id. "
            "Nothing is created if any part fails.",
        )
        create.add_argument("name", help="the department's name, e.g. Bürgerbüro")
        create.add_argument("--address", required=True, help="its sender e-mail address")
        create.add_argument(
            "--agent",
            action="append",
            default=[],
            metavar="LOGIN:LEVEL",
            help=f"give an agent an access level ({LEVELS}); repeatable, "
            "several levels comma-separated (anna:read,overview)",
        )
        create.add_argument("--signature", default="", help="signature under replies")
        add_tenant_argument(create, "the tenant's short name (default: the first tenant)")

    def handle(self, *args: Any, **options: Any) -> None:
        require_migrated()
        if options["action"] == "create":
            self.create(options)

    def create(self, options: dict[str, Any]) -> None:
        grants = [grant for value in options["agent"] for grant in parse_grant(value)]
        tenant = tenant_or_default(options["tenant"])
        with service_errors():
            department = services.create_department(
                options["name"],
                address=options["address"],
                tenant=tenant,
                signature=options["signature"],
                grants=grants,
            )
        self.stdout.write(str(department.pk))
