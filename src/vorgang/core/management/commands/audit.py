"""``vorgang audit verify``: check that no case history was edited or cut off."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from vorgang.core.management.utils import require_migrated
from vorgang.tickets import history
from vorgang.tickets.models import History, Ticket


class Command(BaseCommand):
    help = "Audit the case histories (verify their hash chains)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
        actions.add_parser(
            "verify",
            help="verify every case's history chain",
            description="Verify every case's hash-chained history: exit 0 if all hold, "
            "else list each broken chain and exit 1.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        require_migrated()
        if options["action"] == "verify":
            self.verify()

    def verify(self) -> None:
        breaks = list(history.verify())
        if not breaks:
            entries = History.objects.count()
            cases = History.objects.values("ticket_id").distinct().count()
            self.stdout.write(f"OK: {entries} entries in {cases} cases verified")
            return
        numbers = dict(
            Ticket.objects.filter(pk__in={b.ticket_id for b in breaks}).values_list("pk", "number")
        )
        for b in breaks:
            number = numbers.get(b.ticket_id, f"id {b.ticket_id}")
            self.stdout.write(f"case {number}: entry {b.seq} (id {b.history_id}): {b.reason}")
        raise CommandError(f"{len(breaks)} case histories do not verify.", returncode=1)
