"""``vorgang demo``: load the demo city administration (idempotent)."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from vorgang.core import demo
from vorgang.core.errors import ServiceError
from vorgang.core.management.utils import require_migrated
from vorgang.tickets.models import Ticket


class Command(BaseCommand):
    help = "Load demo data: departments, staff, citizens and cases (safe to run twice)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--force",
            action="store_true",
            help="load even though the database holds cases that are not demo data",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        require_migrated()
        if not options["force"] and demo.has_foreign_cases():
            # Not an error: `make run` loads the demo before every start, also on a
            # database in real use; that one is left as it is.
            self.stderr.write(
                "Demo data not loaded: this database holds cases that are not demo data. "
                "Use a fresh data directory (VORGANG_DATA_DIR), or --force to mix it in."
            )
            return
        try:
            result = demo.load(force=options["force"])
        except (demo.DemoError, ServiceError) as exc:
            raise CommandError(str(exc)) from exc
        cases = Ticket.objects.filter(department__email_address__in=demo.DEMO_ADDRESSES).count()
        if result.cases or result.departments or result.staff or result.citizens:
            self.stdout.write(
                f"Demo data loaded: {result.departments} departments, {result.staff} staff "
                f"accounts, {result.citizens} citizens and {result.cases} cases added "
                f"({cases} demo cases in all)."
            )
        else:
            self.stdout.write(f"Demo data is complete already ({cases} demo cases); nothing added.")
        self.stdout.write("")
        self.stdout.write(self.table(result.staff_rows))
        self.stdout.write("")
        self.stdout.write(f"Log in at {settings.BASE_URL}/login/")

    @staticmethod
    def table(rows: list[tuple[str, str, str, str]]) -> str:
        header = ("Login", "Role", "Departments: access levels", "Password")
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]
        lines = []
        for i, row in enumerate([header, *rows]):
            lines.append("  ".join(cell.ljust(widths[n]) for n, cell in enumerate(row)).rstrip())
            if i == 0:
                lines.append("  ".join("-" * w for w in widths))
        return "\n".join(lines)
