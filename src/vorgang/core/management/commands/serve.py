"""``vorgang serve``: the whole product in one command.

Children: the web server, the task workers ($VORGANG_WORKERS, else 2 on PostgreSQL and
1 on SQLite), the LMTP listener for incoming mail
(``--lmtp-port``, default $VORGANG_LMTP_PORT else 8024, on the same host as the web
server; ``--no-lmtp`` leaves it out) and the scheduler (periodic jobs: mail recovery,
IMAP polling).
"""

from __future__ import annotations

import os
import socket
import sys
from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from vorgang.core.management.utils import require_migrated
from vorgang.core.supervisor import ChildSpec, Supervisor


def default_port() -> int:
    value = os.environ.get("VORGANG_PORT", "8000")
    try:
        return int(value)
    except ValueError:
        raise CommandError(f"VORGANG_PORT must be a port number, not {value!r}.") from None


def url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def vorgang_argv(*args: str) -> list[str]:
    """The command line that runs ``vorgang <args>`` with this very Python."""
    return [sys.executable, "-m", "vorgang.cli", *args]


def children(host: str, port: int, lmtp_port: int | None = None) -> list[ChildSpec]:
    """The processes of the embedded product; without ``lmtp_port`` no mail listener."""
    specs = [ChildSpec("web", vorgang_argv("web", "--host", host, "--port", str(port)))]
    # Several workers take tasks side by side (each task is claimed once); the mail
    # intake's drain runs in one while another sends confirmations or indexes.
    specs += [
        ChildSpec("worker" if k == 0 else f"worker-{k + 1}", vorgang_argv("worker"))
        for k in range(worker_count())
    ]
    if lmtp_port is not None:
        specs.append(
            ChildSpec("lmtp", vorgang_argv("lmtp", "--host", host, "--port", str(lmtp_port)))
        )
    specs.append(ChildSpec("scheduler", vorgang_argv("scheduler")))
    return specs


class Command(BaseCommand):
    help = (
        "Run Vorgang: web server, task workers ($VORGANG_WORKERS, else 2 on PostgreSQL "
        "and 1 on SQLite), mail listener and scheduler, supervised (Ctrl+C stops)."
    )

    requires_system_checks: list[str] = []  # run by handle(), before anything starts

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)"
        )
        parser.add_argument(
            "--port",
            type=int,
            default=None,
            help="port to listen on (default: $VORGANG_PORT, else 8000)",
        )
        parser.add_argument(
            "--lmtp-port",
            type=int,
            default=None,
            help="port of the LMTP listener for incoming mail, on the same host "
            "(default: $VORGANG_LMTP_PORT, else 8024)",
        )
        parser.add_argument("--no-lmtp", action="store_true", help="do not run the LMTP listener")

    def handle(self, *args: Any, **options: Any) -> None:
        host: str = options["host"]
        port: int = options["port"] if options["port"] is not None else default_port()
        lmtp_port: int | None = None
        if not options["no_lmtp"]:
            lmtp_port = (
                options["lmtp_port"] if options["lmtp_port"] is not None else default_lmtp_port()
            )
        for number in (port, lmtp_port):
            if number is not None and not 0 < number < 65536:
                raise CommandError(f"{number} is not a port number.")
        if lmtp_port == port:
            raise CommandError(f"The web server and the LMTP listener cannot share port {port}.")

        self.check(display_num_errors=False)
        require_migrated()
        _check_port_free(host, port)
        if lmtp_port is not None:
            _check_port_free(host, lmtp_port, option="--lmtp-port")
        connections.close_all()  # the children open their own

        url = f"http://{url_host(host)}:{port}/"
        self.stdout.write(f"Vorgang läuft auf {url} (Strg+C beendet)")
        self.stdout.write(f"Vorgang is running at {url} (Ctrl+C stops)")
        if lmtp_port is not None:
            where = f"{url_host(host)}:{lmtp_port}"
            self.stdout.write(f"E-Mail-Eingang (LMTP) auf {where}")
            self.stdout.write(f"Incoming mail (LMTP) at {where}")
        self.stdout.flush()

        # The children read the same data directory, whatever their working directory.
        env = {"VORGANG_DATA_DIR": str(settings.DATA_DIR)}
        specs = [ChildSpec(spec.name, spec.argv, env) for spec in children(host, port, lmtp_port)]
        code = Supervisor(specs).run()
        if code:
            sys.exit(code)


def worker_count() -> int:
    """How many task workers ``serve`` runs: $VORGANG_WORKERS, else 2 on PostgreSQL and
    1 on SQLite.

    On PostgreSQL two workers drain the mail journal side by side (each claims other
    entries; copies of one message wait for each other, see ``intake._lock_copies``):
    end to end 1.4 times the rate of one on two cores (bench/mail_ingest.py). SQLite
    has one writer at a time; a second worker gained nothing there and cost 70 MiB.
    """
    postgresql = "postgresql" in settings.DATABASES["default"]["ENGINE"]
    value = os.environ.get("VORGANG_WORKERS", "2" if postgresql else "1")
    try:
        count = int(value)
    except ValueError:
        count = 0
    if count < 1:
        raise CommandError(f"VORGANG_WORKERS must be a whole number of at least 1, not {value!r}.")
    return count


def default_lmtp_port() -> int:
    value = os.environ.get("VORGANG_LMTP_PORT", "8024")
    try:
        return int(value)
    except ValueError:
        raise CommandError(f"VORGANG_LMTP_PORT must be a port number, not {value!r}.") from None


def _check_port_free(host: str, port: int, option: str = "--port") -> None:
    """Fail now with a clear message rather than have the web server restart forever."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise CommandError(f"Cannot listen on {host!r}: {exc.strerror}") from exc
    family, kind, proto, _canon, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            raise CommandError(
                f"Cannot listen on {url_host(host)}:{port}: {exc.strerror}. "
                f"Is Vorgang already running? Choose another port with {option}."
            ) from exc
