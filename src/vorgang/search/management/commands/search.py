"""``vorgang search reindex``: rebuild the search index while the system keeps serving."""

from __future__ import annotations

import time
from argparse import ArgumentParser
from typing import Any, TextIO

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from vorgang.search import indexing, parallel


class ProgressPrinter:
    """A bar redrawn in place on a terminal; a plain line every few seconds otherwise."""

    def __init__(self, out: TextIO, tty: bool, interval: float = 5.0) -> None:
        self.out, self.tty, self.interval = out, tty, interval
        self.started = time.monotonic()
        self.last = 0.0

    def __call__(self, progress: indexing.Progress) -> None:
        now = time.monotonic()
        finished = progress.done >= progress.total
        if not self.tty and not finished and now - self.last < self.interval:
            return
        self.last = now
        elapsed = now - self.started
        rate = progress.done / elapsed if elapsed > 0 else 0.0
        share = progress.done / progress.total if progress.total else 1.0
        left = (progress.total - progress.done) / rate if rate > 0 else 0.0
        figures = (
            f"{progress.done}/{progress.total} cases ({share:.0%}), {rate:.0f}/s, "
            f"{_duration(left)} left"
        )
        if self.tty:
            width = 30
            filled = int(width * share)
            bar = "#" * filled + "-" * (width - filled)
            self.out.write(f"\r[{bar}] {figures}  ")
            if finished:
                self.out.write("\n")
        else:
            self.out.write(f"reindex: {figures}\n")
        self.out.flush()


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


class Command(BaseCommand):
    help = "Search index: 'reindex' rebuilds every case's document in batches while serving"

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        reindex = sub.add_parser("reindex", help="rebuild the search index")
        reindex.add_argument(
            "--batch-size", type=int, default=indexing.BATCH_SIZE, help="cases per transaction"
        )
        reindex.add_argument("--tenant", type=int, help="only the cases of this tenant id")
        reindex.add_argument(
            "--jobs",
            type=int,
            default=1,
            help="processes working on separate id ranges at once (PostgreSQL; e.g. the cores)",
        )
        reindex.add_argument(
            "--no-attachments",
            action="store_true",
            help="do not extract text of attachments that have none yet (faster)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] != "reindex":
            raise CommandError(f"unknown action {options['action']!r}")
        batch = options["batch_size"]
        if batch < 1 or batch > 10_000:
            raise CommandError("--batch-size must be between 1 and 10000")
        out: TextIO = self.stdout._out  # type: ignore[assignment]  # the real stream: tty?
        tty = bool(getattr(out, "isatty", lambda: False)())
        printer = ProgressPrinter(out, tty)
        started = time.monotonic()
        ticket_filter = {"tenant_id": options["tenant"]} if options["tenant"] else None
        jobs = options["jobs"]
        if jobs < 1 or jobs > 64:
            raise CommandError("--jobs must be between 1 and 64")
        if jobs > 1 and connection.vendor != "postgresql":
            jobs = 1  # SQLite has one writer at a time; more processes would only wait
        if jobs > 1:
            progress = parallel.reindex(
                jobs,
                batch_size=batch,
                with_attachments=not options["no_attachments"],
                ticket_filter=ticket_filter,
                on_batch=printer,
            )
        else:
            progress = indexing.reindex_all(
                batch_size=batch,
                with_attachments=not options["no_attachments"],
                ticket_filter=ticket_filter,
                on_batch=printer,
            )
        elapsed = time.monotonic() - started
        self.stdout.write(
            f"Indexed {progress.done} cases in {elapsed:.1f} s "
            f"({progress.extracted} attachment texts extracted)."
        )
