"""Helpers shared by the management commands."""

from __future__ import annotations

from argparse import ArgumentParser
from collections.abc import Iterator
from contextlib import contextmanager

from django.core.management.base import CommandError
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.migrations.executor import MigrationExecutor

from vorgang.accounts.models import Tenant
from vorgang.core.errors import ServiceError


def add_tenant_argument(parser: ArgumentParser, help: str) -> None:
    parser.add_argument("--tenant", metavar="SLUG", help=help)


def tenant_or_default(slug: str | None) -> Tenant:
    """The tenant with this short name, or the default one when none is given."""
    if not slug:
        return Tenant.default()
    return tenant_by_slug(slug)


def tenant_by_slug(slug: str) -> Tenant:
    tenant = Tenant.objects.filter(slug=slug).first()
    if tenant is None:
        known = ", ".join(Tenant.objects.values_list("slug", flat=True)) or "none"
        raise CommandError(f"No tenant {slug!r} (known: {known}).")
    return tenant


def require_migrated() -> None:
    """Refuse to go on, with a clear message, unless the database is migrated."""
    try:
        executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except DatabaseError as exc:
        raise CommandError(f"Cannot open the database: {exc}") from exc
    if plan:
        apps = ", ".join(sorted({migration.app_label for migration, _backwards in plan}))
        raise CommandError(
            f"The database is not up to date: {len(plan)} migration(s) pending ({apps}). "
            "Run `vorgang migrate` first."
        )


@contextmanager
def service_errors() -> Iterator[None]:
    """Report a service's refusal as a command error (exit code 1) with its message."""
    try:
        yield
    except ServiceError as exc:
        raise CommandError(exc.message) from exc
