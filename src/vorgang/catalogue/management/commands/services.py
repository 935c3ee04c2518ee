"""``vorgang services export DIR`` / ``vorgang services import DIR`` (online services as JSON)."""

from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from vorgang.catalogue import exchange
from vorgang.core.management.utils import (
    add_tenant_argument,
    require_migrated,
    tenant_or_default,
)


class Command(BaseCommand):
    help = "Export online services to JSON files, or import them (create or update by slug)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
        export = actions.add_parser(
            "export",
            help="write one JSON file per service (<slug>.json) into DIR",
            description="Write each online service of the tenant to DIR/<slug>.json. The "
            "department is named by its e-mail address; everything else is written as it is.",
        )
        export.add_argument("directory", metavar="DIR", help="directory to write to")
        add_tenant_argument(export, "the tenant's short name (default: the first tenant)")
        imp = actions.add_parser(
            "import",
            help="create or update services from DIR/*.json (all or nothing)",
            description="Create or update the tenant's online services from DIR/*.json, by "
            "slug. Every file is checked first; if one is not sound, nothing is imported and "
            "each problem is named with its file. The departments must exist.",
        )
        imp.add_argument("directory", metavar="DIR", help="directory to read from")
        add_tenant_argument(imp, "the tenant's short name (default: the first tenant)")

    def handle(self, *args: Any, **options: Any) -> None:
        require_migrated()
        tenant = tenant_or_default(options["tenant"])
        directory = Path(options["directory"])
        if options["action"] == "export":
            written = exchange.export_services(directory, tenant)
            self.stdout.write(f"Exported {len(written)} online service(s) to {directory}.")
            return
        try:
            result = exchange.import_services(directory, tenant)
        except exchange.ImportFailed as exc:
            raise CommandError(
                _("Nothing imported:") + "\n" + "\n".join(f"  {p}" for p in exc.problems)
            ) from exc
        self.stdout.write(
            f"Imported {len(result.created) + len(result.updated)} online service(s) from "
            f"{directory}: {len(result.created)} created, {len(result.updated)} updated."
        )
