"""``vorgang web``: the web server (gunicorn) on its own.

``vorgang serve`` runs it as a child; in production run as many as needed, e.g. one
per machine behind a proxy. Extra gunicorn options can be given in
``GUNICORN_CMD_ARGS`` (e.g. ``--forwarded-allow-ips=10.0.0.1``).
"""

from __future__ import annotations

import gc
import os
import shlex
from argparse import ArgumentParser
from typing import Any

from django.core.handlers.wsgi import WSGIHandler
from django.core.management.base import BaseCommand, CommandError
from django.db import connections
from gunicorn.app.base import BaseApplication

# Neither the client's address nor the query string (it may hold search terms or
# personal data) is logged: method, path, status, size, duration.
ACCESS_LOG_FORMAT = '"%(m)s %(U)s" %(s)s %(B)s %(M)sms'


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        raise CommandError(f"{name} must be a whole number, not {value!r}.") from None


def freeze_startup_objects(_worker: Any) -> None:
    """Keep the objects made at start-up out of every later garbage collection.

    Django, Ninja and the app make some 150,000 long-lived objects while loading; each
    full collection (every few hundred requests) walked all of them and stopped the
    process for 40-55 ms, in the middle of whatever requests it was serving: a large
    share of the API's p99 latency. Frozen, such a pause takes 3-6 ms (measured in
    process, bench/README.md "REST API under load").
    """
    gc.freeze()


class WebServer(BaseApplication):
    """gunicorn run from Python, with Vorgang's WSGI application."""

    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        known = self.cfg.settings
        for key, value in self.options.items():
            if key in known:  # settings that an older gunicorn lacks are left out
                self.cfg.set(key, value)
        if extra := os.environ.get("GUNICORN_CMD_ARGS"):
            parsed = self.cfg.parser().parse_args(shlex.split(extra))
            for key, value in vars(parsed).items():
                if value is not None and key.lower() in known:
                    self.cfg.set(key.lower(), value)

    def load(self) -> WSGIHandler:
        from vorgang.conf.wsgi import application

        return application


class Command(BaseCommand):
    help = "Run the web server only (internal: `vorgang serve` starts it)."

    requires_system_checks: list[str] = []

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="default: 127.0.0.1")
        parser.add_argument(
            "--port", type=int, default=None, help="default: $VORGANG_PORT, else 8000"
        )
        parser.add_argument(
            "--workers",
            type=int,
            default=None,
            help="worker processes (default: $VORGANG_WEB_WORKERS, else 2)",
        )
        parser.add_argument(
            "--threads",
            type=int,
            default=None,
            help="threads per worker process (default: $VORGANG_WEB_THREADS, else 4)",
        )
        parser.add_argument(
            "--access-log",
            action="store_true",
            default=os.environ.get("VORGANG_ACCESS_LOG", "") == "1",
            help="log each request, without client address or query string "
            "(default: off, or on with VORGANG_ACCESS_LOG=1)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        port = options["port"] if options["port"] is not None else _env_int("VORGANG_PORT", 8000)
        # One process per core of a small machine; threads overlap the database waits
        # (the GIL lets only one of them run Python at a time). On 2 vCPUs with
        # PostgreSQL beside it, 3 or 4 processes were slower, not faster, for the REST
        # API under load (bench/README.md, "REST API under load"); give a bigger
        # machine more processes with VORGANG_WEB_WORKERS.
        workers = options["workers"] or _env_int("VORGANG_WEB_WORKERS", 2)
        threads = options["threads"] or _env_int("VORGANG_WEB_THREADS", 4)
        if workers < 1 or threads < 1:
            raise CommandError("--workers and --threads must be at least 1.")
        host: str = options["host"]
        bind = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        connections.close_all()  # nothing open may be shared with the forked workers
        WebServer(
            {
                "bind": [bind],
                "workers": workers,
                "worker_class": "gthread",
                "threads": threads,
                "timeout": 60,
                "graceful_timeout": 8,  # below the supervisor's 10 s before SIGKILL
                "keepalive": 5,
                "accesslog": "-" if options["access_log"] else None,
                "access_log_format": ACCESS_LOG_FORMAT,
                "errorlog": "-",
                "loglevel": "info",
                "proc_name": "vorgang-web",
                "post_worker_init": freeze_startup_objects,
                # gunicorn >= 25 opens a control socket in $HOME by default; two
                # instances on one machine would share it.
                "control_socket_disable": True,
            }
        ).run()
