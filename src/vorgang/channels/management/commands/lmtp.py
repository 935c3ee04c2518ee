"""``vorgang lmtp [--host 127.0.0.1] [--port 8024] [--smtp]``: the mail listener on its own.

``vorgang serve`` runs it as a child. An MTA hands mail over by LMTP (Postfix:
``mailbox_transport = lmtp:inet:127.0.0.1:8024`` or a ``transport_maps`` entry for the
departments' domain); ``--smtp`` speaks SMTP instead, for MTAs that cannot do LMTP.
SIGTERM or Ctrl+C stops it; a session in progress is cut off and the MTA retries it.
"""

from __future__ import annotations

import logging
import os
import sys
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.migrations.executor import MigrationExecutor

from vorgang.channels.email.listener import serve_forever

log = logging.getLogger("vorgang.channels.email.listener")

DEFAULT_PORT = 8024


def default_port() -> int:
    value = os.environ.get("VORGANG_LMTP_PORT", str(DEFAULT_PORT))
    try:
        port = int(value)
    except ValueError:
        raise CommandError(f"VORGANG_LMTP_PORT must be a port number, not {value!r}.") from None
    return port


def check_database() -> None:
    """Refuse to start on a database that is not migrated; start anyway when it is down.

    A listener whose database is unreachable answers 451 (the MTA keeps the mail and
    retries), which is better than refusing connections: it recovers by itself.
    """
    try:
        executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except DatabaseError as exc:
        log.warning(
            "the database is not reachable now (%s); answering 451 until it is", type(exc).__name__
        )
        return
    finally:
        connections.close_all()  # the listener's database thread opens its own
    if plan:
        raise CommandError(
            f"The database is not up to date: {len(plan)} migration(s) pending. "
            "Run `vorgang migrate` first."
        )


class Command(BaseCommand):
    help = "Run the LMTP listener for incoming mail only (`vorgang serve` starts it)."

    requires_system_checks: list[str] = []

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)"
        )
        parser.add_argument(
            "--port",
            type=int,
            default=None,
            help=f"port to listen on (default: $VORGANG_LMTP_PORT, else {DEFAULT_PORT})",
        )
        parser.add_argument(
            "--smtp", action="store_true", help="speak SMTP instead of LMTP (same behaviour)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        host: str = options["host"]
        port: int = options["port"] if options["port"] is not None else default_port()
        if not 0 < port < 65536:
            raise CommandError(f"{port} is not a port number.")
        lmtp = not options["smtp"]
        check_database()
        kind = "LMTP" if lmtp else "SMTP"
        where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"

        def ready() -> None:
            self.stdout.write(f"{kind} listener on {where} (Ctrl+C stops)")
            self.stdout.flush()

        try:
            serve_forever(host, port, lmtp=lmtp, ready=ready)
        except OSError as exc:
            raise CommandError(f"Cannot listen on {where}: {exc.strerror or exc}") from exc
        sys.stdout.flush()
