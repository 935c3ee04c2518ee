"""Helpers the benchmark scripts in bench/ share.

The scripts run as ``.venv/bin/python bench/<script>.py``, so bench/ is ``sys.path[0]``
and ``import common`` finds this module. It holds no benchmark of its own:

- processes: ``vorgang_argv``, ``run_vorgang``, ``die_with_parent``, ``stop_process``;
- ports: ``free_port``, ``accepts``, ``wait_for_port``;
- databases: ``scratch_database`` (a throw-away PostgreSQL database beside DATABASE_URL),
  ``scratch_environment`` (that and a fresh data directory for ``vorgang`` children),
  ``engine_name``, ``setup_django``;
- memory: ``process_tree``, ``rss_kib``, ``process_name``, ``MemorySampler`` (RSS of a
  process and all its descendants, from /proc);
- generated German text: ``SERVICES``, ``NOUNS``, ``german_date``, ``SentencePool``;
- figures: ``percentile``, ``percentile_rounded``, ``cpus_and_python``.
"""

from __future__ import annotations

import contextlib
import os
import platform
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

# --- processes ---------------------------------------------------------------------------------


def vorgang_argv(*args: str) -> list[str]:
    """The command line of ``vorgang <args>`` with this interpreter."""
    return [sys.executable, "-m", "vorgang.cli", *args]


def run_vorgang(env: Mapping[str, str], *args: str, timeout: float = 300) -> str:
    """Run ``vorgang <args>`` to its end (raising on failure); its standard output."""
    done = subprocess.run(  # noqa: S603 - our own argv
        vorgang_argv(*args), env=env, check=True, capture_output=True, text=True, timeout=timeout
    )
    return done.stdout


def die_with_parent() -> Callable[[], None] | None:
    """A pre-exec hook: on Linux the child gets SIGTERM when this script dies (no orphans)."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    prctl = ctypes.CDLL(None, use_errno=True).prctl

    def hook() -> None:
        prctl(1, int(signal.SIGTERM), 0, 0, 0)  # PR_SET_PDEATHSIG

    return hook


def stop_process(process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    """SIGTERM a child that still runs; SIGKILL it if it has not ended within ``timeout``."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


# --- ports -------------------------------------------------------------------------------------


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def accepts(port: int) -> bool:
    """Whether something on loopback accepts a connection on ``port``."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def wait_for_port(port: int, timeout: float) -> None:
    """Return once ``port`` accepts connections; TimeoutError after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if accepts(port):
            return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listens on port {port}")


# --- databases ---------------------------------------------------------------------------------


@contextlib.contextmanager
def scratch_database(
    url: str,
    prefix: str,
    *,
    keep: bool = False,
    say_kept: bool = True,
    close_django: bool = False,
) -> Iterator[str]:
    """A new, empty database ``<prefix><random>`` on the PostgreSQL server of ``url``.

    Yields its URL; drops it afterwards unless ``keep`` (then its name is printed when
    ``say_kept``). ``close_django`` closes this process's Django connections before the drop.
    """
    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    name = f"{prefix}{secrets.token_hex(4)}"
    admin = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield parts._replace(path=f"/{name}").geturl()
    finally:
        if keep:
            if say_kept:
                print(f"kept database {name}")
        else:
            if close_django:
                from django.db import connections

                connections.close_all()
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                )


@contextlib.contextmanager
def scratch_environment(
    dir_prefix: str,
    db_prefix: str,
    variables: Mapping[str, str],
    *,
    keep: bool = False,
    keep_database: bool = False,
) -> Iterator[tuple[dict[str, str], Path]]:
    """A fresh data directory and, with DATABASE_URL set, a scratch database there.

    Yields the environment for ``vorgang`` children (this one's, the data directory, the
    scratch database and ``variables``) and the directory. Afterwards the directory is
    removed unless ``keep`` (then its path is printed), and the database is dropped unless
    ``keep_database`` (kept without a word).
    """
    data_dir = Path(tempfile.mkdtemp(prefix=dir_prefix))
    env = {**os.environ, "VORGANG_DATA_DIR": str(data_dir), **variables}
    with contextlib.ExitStack() as stack:
        if os.environ.get("DATABASE_URL"):
            env["DATABASE_URL"] = stack.enter_context(
                scratch_database(
                    os.environ["DATABASE_URL"], db_prefix, keep=keep_database, say_kept=False
                )
            )
        try:
            yield env, data_dir
        finally:
            if keep:
                print(f"kept: {data_dir}")
            else:
                shutil.rmtree(data_dir, ignore_errors=True)


def engine_name(env: Mapping[str, str]) -> str:
    """ "PostgreSQL" when ``env`` names a DATABASE_URL, else "SQLite" (the default)."""
    return "PostgreSQL" if env.get("DATABASE_URL") else "SQLite"


def setup_django(env: Mapping[str, str] | None = None) -> None:
    """Set up Django in this process (on the data dir and database of ``env``, if given)."""
    if env is not None:
        os.environ.update(
            {k: v for k, v in env.items() if k in ("VORGANG_DATA_DIR", "DATABASE_URL")}
        )
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vorgang.conf.settings")
    import django

    django.setup()


def departments_and_two_agents(count: int) -> tuple[Any, list[Any], Any, Any]:
    """The default tenant, ``count`` departments "Amt 00", "Amt 01", ..., and the two
    agents the city-scale benchmarks search and page as: ``bench-one`` (the first
    department) and ``bench-all`` (every department), both with full access."""
    from vorgang.accounts import access
    from vorgang.accounts.models import Department, Role, Tenant, User

    tenant = Tenant.default()
    departments = [
        Department.objects.create(
            tenant=tenant, name=f"Amt {i:02d}", email_address=f"amt{i}@bench.example"
        )
        for i in range(count)
    ]
    one = User.objects.create(username="bench-one", tenant=tenant, role=Role.AGENT)
    everyone = User.objects.create(username="bench-all", tenant=tenant, role=Role.AGENT)
    access.grant(one, departments[0].pk, ["full"])
    for dep in departments:
        access.grant(everyone, dep.pk, ["full"])
    return tenant, departments, one, everyone


def copy_rows(model: Any, columns: list[str], rows: Iterable[tuple[Any, ...]]) -> int:
    """COPY rows into ``model``'s table (PostgreSQL); columns not given get the field's
    default; with an ``id`` column the id sequence moves past the rows."""
    from django.db import connection
    from psycopg.types.json import Jsonb

    extra_cols, extra = [], []
    for f in model._meta.concrete_fields:
        if f.column in columns or f.column == "id":
            continue
        value = f.get_default() if f.has_default() else (None if f.null else "")
        extra_cols.append(f.column)
        extra.append(Jsonb(value) if isinstance(value, dict | list) else value)
    extra_t = tuple(extra)
    names = ", ".join(f'"{c}"' for c in [*columns, *extra_cols])
    count = 0
    with connection.cursor() as cursor:
        raw = cursor.cursor  # the psycopg cursor under Django's wrapper
        with raw.copy(f"COPY {model._meta.db_table} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row((*row, *extra_t))
                count += 1
    if "id" in columns:
        with connection.cursor() as cursor:
            table = model._meta.db_table
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                f"(SELECT coalesce(max(id), 1) FROM {table}))"  # our own table names
            )
    return count


# --- memory (Linux /proc) ----------------------------------------------------------------------


def _children_map() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            raw = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(raw[raw.rindex(")") + 2 :].split()[1])
        kids.setdefault(ppid, []).append(int(entry))
    return kids


def process_tree(pid: int) -> list[int]:
    """``pid`` and all its descendants."""
    kids = _children_map()
    result, todo = [pid], [pid]
    while todo:
        for kid in kids.get(todo.pop(), []):
            result.append(kid)
            todo.append(kid)
    return result


def rss_kib(pid: int) -> int:
    """The resident set size of ``pid`` in KiB (0 if it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def process_name(pid: int) -> str:
    """The ``vorgang`` subcommand of ``pid`` (``serve``, ``worker``, ...), else its program."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return "?"
    words = [a.decode(errors="replace") for a in argv if a]
    if "vorgang.cli" in words:
        return words[words.index("vorgang.cli") + 1]
    return Path(words[0]).name if words else "?"


class MemorySampler(threading.Thread):
    """Samples the RSS summed over a process tree; keeps the peaks, in total and by name."""

    def __init__(self, root: int, interval: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.root, self.interval = root, interval
        self.peak_total = 0
        self.peak_by_name: dict[str, int] = {}
        self.current_total = 0
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            total = 0
            by_name: dict[str, int] = {}
            for pid in process_tree(self.root):
                rss = rss_kib(pid)
                total += rss
                name = process_name(pid)
                by_name[name] = by_name.get(name, 0) + rss
            self.current_total = total
            self.peak_total = max(self.peak_total, total)
            for name, rss in by_name.items():
                self.peak_by_name[name] = max(self.peak_by_name.get(name, 0), rss)
            self._halt.wait(self.interval)

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=5)


# --- generated German text ---------------------------------------------------------------------


SERVICES = [
    "Wohngeld",
    "Personalausweis",
    "Reisepass",
    "Meldebescheinigung",
    "Führerschein",
    "Gewerbeanmeldung",
    "Baugenehmigung",
    "Hundesteuer",
    "Elterngeld",
    "Kitaplatz",
    "Parkausweis",
    "Eheschließung",
    "Geburtsurkunde",
    "Sterbeurkunde",
    "Einbürgerung",
    "Aufenthaltstitel",
    "Wohnberechtigungsschein",
    "Sperrmüll",
    "Führungszeugnis",
    "Fischereischein",
    "Anwohnerparken",
    "Grundsteuer",
    "Übersetzung",
    "Beglaubigung",
    "Bauvoranfrage",
    "Sondernutzung",
    "Straßenreinigung",
    "Abfallgebühren",
    "Gewerbeabmeldung",
    "Namensänderung",
]
"""A city's online services, the words most texts are about."""

NOUNS = [
    "Antrag",
    "Unterlagen",
    "Nachweis",
    "Widerspruch",
    "Rückfrage",
    "Termin",
    "Gebühr",
    "Bescheid",
]
"""The few nouns of a case's correspondence."""

SIGN_OFF = "\n\nMit freundlichen Grüßen\n"


def german_date(rng: random.Random) -> str:
    """A day of 2025/2026 as ``dd.mm.yyyy``."""
    day = datetime(2025, 1, 1) + timedelta(days=rng.randrange(700))
    return day.strftime("%d.%m.%Y")


class SentencePool:
    """A pool of sentences drawn once; bodies are a few of them (fast for millions).

    Subclasses say how one sentence is made (``sentence``).
    """

    def __init__(self, rng: random.Random, pool_size: int) -> None:
        self.rng = rng
        self.pool = [self.sentence() for _ in range(pool_size)]

    def sentence(self) -> str:
        raise NotImplementedError

    def some(self, low: int, high: int) -> list[str]:
        """``low`` to ``high - 1`` sentences of the pool."""
        return self.rng.choices(self.pool, k=self.rng.randrange(low, high))

    @staticmethod
    def signed(parts: list[str], name: str) -> str:
        return " ".join(parts) + f"{SIGN_OFF}{name}"

    def body(self, name: str) -> str:
        """A citizen's message: three to six sentences and a greeting."""
        return self.signed(self.some(3, 7), name)


# --- figures -----------------------------------------------------------------------------------


def percentile(samples: list[float], q: float) -> float:
    """The sample at index ``int(n * q)`` of the sorted ones (the last at most)."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def percentile_rounded(samples: list[float], q: float) -> float:
    """The sample at index ``round(q * (n - 1))`` of the sorted ones."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def cpus_and_python() -> str:
    """``"<n> CPUs, Python <version>"`` for a benchmark's machine line."""
    return f"{os.cpu_count()} CPUs, Python {platform.python_version()}"
