"""``vorgang scheduler``: runs the periodic jobs (mail recovery, IMAP polling, ...).

``vorgang serve`` starts it as a child; in production run exactly one. The jobs are
listed in ``vorgang.core.scheduler.JOBS``.
"""

from __future__ import annotations

import sys
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from vorgang.core import scheduler
from vorgang.core.management.utils import require_migrated


class Command(BaseCommand):
    help = "Run the periodic jobs only (internal: `vorgang serve` starts it)."

    requires_system_checks: list[str] = []

    def add_arguments(self, parser: ArgumentParser) -> None:
        names = ", ".join(name for name, _path, _interval in scheduler.JOBS)
        parser.add_argument(
            "--job",
            action="append",
            default=[],
            metavar="NAME",
            help=f"run only this job (repeatable; known: {names})",
        )
        parser.add_argument(
            "--once",
            action="store_true",
            help="run each job once and exit (exit code 1 if one failed)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        jobs = list(scheduler.JOBS)
        if options["job"]:
            known = {name for name, _path, _interval in jobs}
            unknown = sorted(set(options["job"]) - known)
            if unknown:
                raise CommandError(
                    f"Unknown job(s): {', '.join(unknown)} (known: {', '.join(sorted(known))})."
                )
            jobs = [job for job in jobs if job[0] in options["job"]]
        require_migrated()
        runner = scheduler.Scheduler(jobs)
        if options["once"]:
            failed = runner.run_once()
            if failed:
                sys.exit(1)
            return
        code = runner.run()
        if code:
            sys.exit(code)
