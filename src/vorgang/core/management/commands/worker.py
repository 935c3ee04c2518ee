"""``vorgang worker``: the background task worker on its own.

``vorgang serve`` runs it as a child; in production run several (each takes tasks
one at a time from the database queue).
"""

from __future__ import annotations

import os
from argparse import ArgumentParser
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from vorgang.core.management.utils import require_migrated


def _default_interval() -> float:
    value = os.environ.get("VORGANG_WORKER_INTERVAL", "1")
    try:
        return float(value)
    except ValueError:
        raise CommandError(f"VORGANG_WORKER_INTERVAL must be a number, not {value!r}.") from None


class Command(BaseCommand):
    help = "Run the task worker only (internal: `vorgang serve` starts it)."

    requires_system_checks: list[str] = []

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--interval",
            type=float,
            default=None,
            help="seconds between looks at an empty queue "
            "(default: $VORGANG_WORKER_INTERVAL, else 1)",
        )
        parser.add_argument(
            "--queue-name",
            default="*",
            help="queues to work, comma-separated; '*' for all (default)",
        )
        parser.add_argument("--batch", action="store_true", help="run the waiting tasks, then exit")
        parser.add_argument(
            "--max-tasks", type=int, default=None, help="exit after this many tasks"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        from django_tasks import DEFAULT_TASK_BACKEND_ALIAS, task_backends
        from django_tasks_db import DatabaseBackend

        backend = task_backends[DEFAULT_TASK_BACKEND_ALIAS]
        if not isinstance(backend, DatabaseBackend):
            raise CommandError(
                f"The task backend is {type(backend).__module__}.{type(backend).__name__}, "
                "not the database backend; run that backend's own worker instead."
            )
        require_migrated()
        interval = options["interval"] if options["interval"] is not None else _default_interval()
        worker_options: dict[str, Any] = {
            "interval": interval,
            "queue_name": options["queue_name"],
            "batch": options["batch"],
            "reload": False,
            "startup_delay": False,
            "verbosity": options["verbosity"],
        }
        if options["max_tasks"] is not None:
            worker_options["max_tasks"] = options["max_tasks"]
        call_command("db_worker", **worker_options)
