"""Mail ingestion end to end: LMTP into a running ``vorgang serve`` until the last article.

Generates N realistic messages (German subjects, plain text or with an HTML
alternative, 10% with a 200 KB attachment, 30% replies to existing cases: half by the
``[Vorgang#number]`` tag in the subject, half by In-Reply-To/References) and

1. hands them to the LMTP listener of a running ``vorgang serve`` (a subprocess with its
   worker, over ``--connections`` parallel LMTP sessions, as an MTA would), and measures
   messages per second from the first handover to the last stored article, and the peak
   memory (RSS summed over ``serve`` and all its processes, sampled from /proc);
2. parses the same messages with the bare standard library (``email.message_from_bytes``
   with ``policy.default``, then every part walked and decoded), the practical limit;
3. prints the ratio of the two against the target of 40%, and where the CPU went during
   the run: ms of CPU per message for each process of ``serve`` (by name), this script's
   LMTP client, on PostgreSQL the server's processes for the run's database, and the
   share of the machine that stayed idle (other work on the VM shows as the difference
   between "of the machine" and the sum of the processes).

The messages are built before the clock starts and read back from a file during the
run (``--build-during-run``: built by the sessions as they send, as before 2026-11-28).

SQLite in a fresh data dir by default; with DATABASE_URL set, a scratch database on that
PostgreSQL server (dropped afterwards).

    .venv/bin/python bench/mail_ingest.py [--n 1000] [--connections 4] [--seeds 50]
    .venv/bin/python bench/mail_ingest.py --n 20000      # memory must stay flat
    .venv/bin/python bench/mail_ingest.py --split        # handover and processing apart

``--split`` runs ``vorgang lmtp`` and ``vorgang worker`` on their own instead of
``serve``: first the listener alone takes the N messages (handover rate), then the
worker alone processes the filled journal (processing rate), to show where time goes.

``--in-process`` needs no server: it fills the journal in this process
(``journal.accept``) and drains it here (``intake.drain``), printing the CPU time and
the SQL statements per message of each side (the messages are built before the clock
starts); ``--profile`` adds a cProfile of each side (``--profile-out FILE`` keeps the
drain's), ``--sql`` the statements per message grouped by kind. CPU time is what other
work on the machine disturbs least.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import email
import os
import platform
import random
import signal
import smtplib
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import BinaryIO

from common import (
    MemorySampler,
    cpus_and_python,
    die_with_parent,
    engine_name,
    free_port,
    process_name,
    process_tree,
    run_vorgang,
    scratch_environment,
    setup_django,
    stop_process,
    vorgang_argv,
    wait_for_port,
)

DEPARTMENT = "buergerbuero@bench.example"
ATTACHMENT_BYTES = 200 * 1024

SUBJECTS = [
    "Anmeldung einer Wohnung – Frage zu Unterlagen",
    "Ummeldung nach Umzug innerhalb der Stadt",
    "Führerschein: Umtausch des alten Führerscheins",
    "Beglaubigung von Zeugnissen für die Bewerbung",
    "Antrag auf Wohngeld – fehlende Nachweise",
    "Hundesteuer: Abmeldung nach dem Tod unseres Hundes",
    "Straßenlaterne in der Goethestraße defekt",
    "Sperrmüll-Termin verschieben",
    "Gewerbeanmeldung für ein Café in der Altstadt",
    "Personalausweis verloren – was nun?",
    "Bewohnerparkausweis für die Schillerstraße",
    "Geburtsurkunde für mein Kind – zweite Ausfertigung",
]
BODIES = [
    "Sehr geehrte Damen und Herren,\n\nich bin zum 1. des Monats umgezogen und möchte mich "
    "ummelden. Welche Unterlagen muss ich mitbringen? Reicht die Wohnungsgeberbestätigung "
    "als PDF?\n\nMit freundlichen Grüßen\n{name}\n",
    "Guten Tag,\n\nanbei sende ich Ihnen die angeforderten Nachweise. Bitte teilen Sie mir "
    "mit, ob noch etwas fehlt. Für Rückfragen erreichen Sie mich werktags ab 16 Uhr.\n\n"
    "Viele Grüße\n{name}\n",
    "Hallo,\n\nleider konnte ich den Termin am Dienstag nicht wahrnehmen. Ist eine "
    "Verschiebung auf die nächste Woche möglich? Vormittags wäre mir lieber.\n\n"
    "Danke und freundliche Grüße\n{name}\n",
]
NAMES = ["Erika Müller", "Jürgen Schäfer", "Ayşe Yılmaz", "Lukas Weiß", "Zoë Öztürk"]


# --- messages ---------------------------------------------------------------------------


class Seed:
    def __init__(self, number: str, message_id: str) -> None:
        self.number, self.message_id = number, message_id


def make_message(i: int, seeds: list[Seed], *, kind_of: str = "m") -> tuple[str, bytes]:
    """Message ``i`` (the same bytes for the same ``i``): (Message-ID, raw bytes)."""
    rng = random.Random(i * 7919 + (0 if kind_of == "m" else 1))  # noqa: S311 - test data
    name = NAMES[i % len(NAMES)]
    msg = EmailMessage(policy=policy.SMTP)
    msg["From"] = f"{name} <buerger{i % 400}@example.org>"
    msg["To"] = f"Bürgerbüro <{DEPARTMENT}>"
    subject = SUBJECTS[i % len(SUBJECTS)]
    message_id = f"<{kind_of}{i}.{rng.getrandbits(48):x}@mail.example.org>"
    msg["Message-ID"] = message_id
    msg["Date"] = format_datetime(datetime(2026, 11, 28, 9, i % 60, tzinfo=UTC))
    roll = rng.random()
    if seeds and roll < 0.30:
        seed = seeds[i % len(seeds)]
        if roll < 0.15:
            msg["Subject"] = f"Re: [Vorgang#{seed.number}] {subject}"
        else:
            msg["Subject"] = f"AW: {subject}"
            msg["In-Reply-To"] = seed.message_id
            msg["References"] = seed.message_id
    else:
        msg["Subject"] = f"{subject} ({kind_of}{i})"
    text = BODIES[i % len(BODIES)].format(name=name)
    msg.set_content(text)
    if rng.random() < 0.40:
        paragraphs = "".join(f"<p>{line}</p>" for line in text.split("\n") if line)
        msg.add_alternative(
            f"<html><body style='font-family:Arial'>{paragraphs}"
            "<p><img src='https://tracker.example/pixel.gif'></p></body></html>",
            subtype="html",
        )
    if rng.random() < 0.10:
        msg.add_attachment(
            rng.randbytes(ATTACHMENT_BYTES),
            maintype="application",
            subtype="pdf",
            filename=f"Nachweis-{i}.pdf",
        )
    return message_id, bytes(msg)


def bare_parse_rate(n: int, seeds: list[Seed]) -> tuple[float, int]:
    """Messages per second of the bare stdlib parse of the same messages; total bytes."""
    total = 0.0
    size = 0
    for i in range(n):
        _mid, raw = make_message(i, seeds)
        size += len(raw)
        t0 = time.perf_counter()
        msg = email.message_from_bytes(raw, policy=policy.default)
        for part in msg.walk():
            if not part.is_multipart():
                part.get_payload(decode=True)
        total += time.perf_counter() - t0
    return n / total, size


# --- sending ----------------------------------------------------------------------------


class Prepared:
    """Messages built before the clock starts, kept in one file (not in memory: 20,000
    messages are 570 MB); each session reads its next message back from the page cache.

    Building a message with ``email.message`` costs about as much CPU as the listener
    spends to accept it; that is the MTA's work, not ours, so it stays out of the
    measured run on the same two cores (before 2026-11-28 14:00 UTC the sessions
    built their messages during the run, which took ~4 ms of CPU per message from
    the machine the run is measured on).
    """

    def __init__(self, path: Path, n: int, seeds: list[Seed], kind_of: str) -> None:
        self.path = path
        self.spans: list[tuple[str, int, int]] = []  # (Message-ID, offset, length)
        offset = 0
        with path.open("wb") as out:
            for i in range(n):
                message_id, raw = make_message(i, seeds, kind_of=kind_of)
                out.write(raw)
                self.spans.append((message_id, offset, len(raw)))
                offset += len(raw)

    def read(self, handle: BinaryIO, i: int) -> tuple[str, bytes]:
        message_id, offset, length = self.spans[i]
        handle.seek(offset)
        return message_id, handle.read(length)


class Sender(threading.Thread):
    """One LMTP session, sending messages ``start, start+step, ...`` (an MTA's connection)."""

    def __init__(
        self,
        port: int,
        indexes: range,
        seeds: list[Seed],
        kind_of: str,
        prepared: Prepared | None = None,
    ) -> None:
        super().__init__(daemon=True)
        self.port, self.indexes, self.seeds, self.kind_of = port, indexes, seeds, kind_of
        self.prepared = prepared
        self.ids: list[str] = []
        self.bytes = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            client = smtplib.LMTP("127.0.0.1", self.port, timeout=120)
            with contextlib.ExitStack() as stack:
                handle = (
                    stack.enter_context(self.prepared.path.open("rb"))
                    if self.prepared is not None
                    else None
                )
                for i in self.indexes:
                    if self.prepared is not None and handle is not None:
                        message_id, raw = self.prepared.read(handle, i)
                    else:
                        message_id, raw = make_message(i, self.seeds, kind_of=self.kind_of)
                    refused = client.sendmail("mta@bench.example", [DEPARTMENT], raw)
                    if refused:
                        raise RuntimeError(f"refused: {refused}")
                    self.ids.append(message_id)
                    self.bytes += len(raw)
            client.quit()
        except BaseException as exc:
            self.error = exc


def send_all(
    port: int,
    n: int,
    seeds: list[Seed],
    connections: int,
    kind_of: str,
    prepared: Prepared | None = None,
) -> list[Sender]:
    senders = [
        Sender(port, range(k, n, connections), seeds, kind_of, prepared) for k in range(connections)
    ]
    for sender in senders:
        sender.start()
    return senders


# --- CPU accounting ---------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds of ``pid`` so far (0 if it is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _database_backends(database: str) -> list[int]:
    """The PostgreSQL server processes serving ``database`` (on this machine)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if command.startswith(b"postgres: ") and f" {database} ".encode() in command:
            found.append(int(entry.name))
    return found


def machine_ticks() -> tuple[int, int]:
    """(all, idle) clock ticks of every CPU together, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return sum(values[:8]), values[3] + values[4]  # idle and iowait count as idle


def _database_name(env: dict[str, str]) -> str:
    """The scratch PostgreSQL database of the run; empty on SQLite."""
    from urllib.parse import urlsplit

    url = env.get("DATABASE_URL", "")
    return urlsplit(url).path.lstrip("/") if url else ""


class CpuAccount:
    """CPU seconds per process of a tree between ``start`` and ``stop``, by name.

    Where the cores go during the run: ``serve``'s children (web, worker, lmtp, scheduler),
    this script (the LMTP client sessions and the polling), on PostgreSQL the server's
    processes for the run's database, and how much of the machine stayed idle. The
    processes are looked up at both ends (one that ended during the run is missed).
    """

    def __init__(self, root: int, database: str = "") -> None:
        self.root = root
        self.database = database  # PostgreSQL: its server processes for this database count
        self.before: dict[int, tuple[str, float]] = {}
        self.by_name: dict[str, float] = {}
        self.idle_share = 0.0
        self.machine_seconds = 0.0

    def _snapshot(self) -> dict[int, tuple[str, float]]:
        found = {pid: (process_name(pid), cpu_seconds(pid)) for pid in process_tree(self.root)}
        found[os.getpid()] = ("bench client", time.process_time())
        if self.database:
            for pid in _database_backends(self.database):
                found[pid] = ("postgres", cpu_seconds(pid))
        return found

    def start(self) -> None:
        self.before = self._snapshot()
        self._ticks = machine_ticks()

    def stop(self) -> None:
        after = self._snapshot()
        total, idle = machine_ticks()
        total -= self._ticks[0]
        idle -= self._ticks[1]
        self.idle_share = idle / total if total else 0.0
        self.machine_seconds = total / os.sysconf("SC_CLK_TCK")
        for pid, (name, seconds) in after.items():
            spent = seconds - self.before.get(pid, (name, 0.0))[1]
            self.by_name[name] = self.by_name.get(name, 0.0) + spent


# --- main -------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--connections", type=int, default=4, help="parallel LMTP sessions")
    parser.add_argument("--seeds", type=int, default=50, help="existing cases replies go to")
    parser.add_argument("--timeout", type=float, default=7200)
    parser.add_argument("--keep", action="store_true", help="keep the data directory")
    parser.add_argument(
        "--split", action="store_true", help="measure the listener and the worker apart"
    )
    parser.add_argument(
        "--build-during-run",
        action="store_true",
        help="the LMTP sessions build their messages during the run (as before 2026-11-28)",
    )
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="fill and drain the journal in this process: CPU ms and SQL per message",
    )
    parser.add_argument("--profile", action="store_true", help="with --in-process: cProfile")
    parser.add_argument(
        "--profile-out",
        help="with --profile: also write the drain's profile to this file (the tasks' to FILE.tasks)",
    )
    parser.add_argument(
        "--sql", action="store_true", help="with --in-process: the statements per message by kind"
    )
    args = parser.parse_args()

    variables = {"VORGANG_LOG_LEVEL": "WARNING", "PYTHONUNBUFFERED": "1"}
    with scratch_environment("vorgang-ingest-", "vorgang_bench_", variables, keep=args.keep) as (
        env,
        data_dir,
    ):
        if args.in_process:
            return run_in_process(args, env)
        return (run_split if args.split else run)(args, env, data_dir)


def run_in_process(args: argparse.Namespace, env: dict[str, str]) -> int:
    """Listener side and worker side in this process, by CPU time and SQL statements."""
    import cProfile
    import os
    import pstats

    os.environ["VORGANG_LOG_LEVEL"] = env["VORGANG_LOG_LEVEL"]  # no line per message here
    prepare(env)
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    from vorgang.channels import addressing, journal
    from vorgang.channels.email import intake
    from vorgang.tickets.models import Article

    # Count every statement of a long drain (Django keeps the last 9,000 by default).
    connection.queries_limit = 10**7
    connection.queries_log = collections.deque(maxlen=connection.queries_limit)
    found = addressing.resolve(DEPARTMENT)
    assert found is not None
    department = found.department

    def fill(messages: list[tuple[str, bytes]]) -> list[str]:
        for _message_id, raw in messages:
            journal.accept(raw, channel="lmtp", recipient=DEPARTMENT, department=department)
        return [message_id for message_id, _raw in messages]

    def generate(count: int, seeds: list[Seed], kind_of: str) -> list[tuple[str, bytes]]:
        # Made before the clock starts: building a message costs about as much as
        # accepting it, and is the MTA's work, not ours.
        return [make_message(i, seeds, kind_of=kind_of) for i in range(count)]

    seed_ids = fill(generate(args.seeds, [], "seed"))
    intake.drain(limit=10**9)
    by_id = dict(
        Article.objects.filter(message_id__in=seed_ids).values_list("message_id", "ticket__number")
    )
    seeds = [Seed(str(by_id[mid]), mid) for mid in seed_ids]
    _run_queued_tasks()  # the seeds' confirmations: not part of the measured run

    messages = generate(args.n, seeds, "m")
    reset_queries()
    accept_profile = cProfile.Profile() if args.profile else None
    with CaptureQueriesContext(connection) as accepted:
        cpu, wall = time.process_time(), time.monotonic()
        if accept_profile is not None:
            accept_profile.enable()
        fill(messages)
        if accept_profile is not None:
            accept_profile.disable()
        accept_cpu, accept_wall = time.process_time() - cpu, time.monotonic() - wall
    profile = cProfile.Profile() if args.profile else None
    with CaptureQueriesContext(connection) as drained:
        cpu, wall = time.process_time(), time.monotonic()
        if profile is not None:
            profile.enable()
        done = 0
        while done < args.n:
            step, _more = intake.drain(limit=10**9)
            if not step:
                break
            done += step
        if profile is not None:
            profile.disable()
        drain_cpu, drain_wall = time.process_time() - cpu, time.monotonic() - wall
    # What the drain left for the worker (confirmation mails, attachment text for search):
    # the queued tasks, run as the worker runs them, with its claim and bookkeeping.
    tasks_before = _task_counts(finished=True)
    tasks_profile = cProfile.Profile() if args.profile else None
    cpu, wall = time.process_time(), time.monotonic()
    if tasks_profile is not None:
        tasks_profile.enable()
    _run_queued_tasks()
    if tasks_profile is not None:
        tasks_profile.disable()
    tasks_cpu, tasks_wall = time.process_time() - cpu, time.monotonic() - wall
    tasks_run = {
        path: count - tasks_before.get(path, 0)
        for path, count in _task_counts(finished=True).items()
        if count > tasks_before.get(path, 0)
    }
    articles = Article.objects.filter(message_id__startswith="<m").count()
    connection.close()
    n = args.n
    print(f"database:      {engine_name(env)}")
    print(
        f"accept:        {n / accept_wall:8.1f} messages/s, {1000 * accept_cpu / n:.2f} ms CPU "
        f"and {len(accepted) / n:.1f} SQL statements per message"
    )
    print(
        f"drain:         {n / drain_wall:8.1f} messages/s, {1000 * drain_cpu / n:.2f} ms CPU "
        f"and {len(drained) / n:.1f} SQL statements per message"
    )
    print(
        f"queued tasks:  {n / tasks_wall:8.1f} messages/s, {1000 * tasks_cpu / n:.2f} ms CPU per "
        f"message for {sum(tasks_run.values())} tasks ("
        + ", ".join(f"{path.rsplit('.', 1)[-1]} {count}" for path, count in tasks_run.items())
        + ")"
    )
    if accept_profile is not None:
        print("\nProfile of accept:")
        pstats.Stats(accept_profile).sort_stats("cumulative").print_stats(25)
    if profile is not None:
        print("\nProfile of drain:")
        if args.profile_out:
            profile.dump_stats(args.profile_out)
        pstats.Stats(profile).sort_stats("cumulative").print_stats(r"vorgang/", 40)
    if tasks_profile is not None:
        print("\nProfile of the queued tasks:")
        if args.profile_out:
            tasks_profile.dump_stats(args.profile_out + ".tasks")
        pstats.Stats(tasks_profile).sort_stats("cumulative").print_stats(r"vorgang/", 40)
    if args.sql:
        for label, captured in (("accept", accepted), ("drain", drained)):
            print(f"\nSQL per message, {label}:")
            for count, statement in statement_kinds(captured.captured_queries):
                print(f"{count / n:7.2f}  {statement}")
    ok = done == n and articles == n
    print("RESULT: " + ("OK" if ok else f"FAILED: {articles} articles for {n} messages"))
    return 0 if ok else 1


def _task_counts(*, finished: bool = False) -> dict[str, int]:
    """Task rows by task path (only those that finished, with ``finished``)."""
    from django.db.models import Count
    from django_tasks_db.models import DBTaskResult

    rows = DBTaskResult.objects.all()
    if finished:
        rows = rows.filter(status__in=["SUCCESSFUL", "FAILED"])
    return dict(rows.values_list("task_path").annotate(c=Count("pk")).order_by())


def _run_queued_tasks() -> None:
    """Run every waiting task in this process with the worker of ``vorgang worker``."""
    import logging

    from django_tasks_db.management.commands.db_worker import Worker

    logging.getLogger("django_tasks").setLevel(logging.WARNING)
    logging.getLogger("django_tasks_db").setLevel(logging.WARNING)
    Worker(
        queue_names=["*"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="bench",
        excluded_queue_names=[],
    ).run()


def statement_kinds(queries: list[dict[str, str]]) -> list[tuple[int, str]]:
    """The statements grouped by their text with the values taken out, most frequent first."""
    import re

    kinds: collections.Counter[str] = collections.Counter()
    for query in queries:
        text = re.sub(r"'(?:[^']|'')*'", "?", query["sql"])
        text = re.sub(r'"s\d+_x\d+"', "sp", text)  # savepoint names
        text = re.sub(r"\b\d+(?:\.\d+)?\b", "?", text)
        text = re.sub(r"\((?:\?, )+\?\)", "(...)", text)
        kinds[text[:240]] += 1
    return [(count, text) for text, count in kinds.most_common()]


def prepare(env: dict[str, str]) -> None:
    """Migrate, create the department, and set up Django in this process to watch."""
    for step in (
        ["migrate", "--noinput", "-v", "0"],
        ["department", "create", "Bürgerbüro", "--address", DEPARTMENT],
    ):
        run_vorgang(env, *step, timeout=120)

    setup_django(env)


def seed_cases(port: int, count: int, done_count: Callable[[], int]) -> list[Seed]:
    """Send ``count`` first messages and wait until they are cases (not timed)."""
    from vorgang.tickets.models import Article

    senders = send_all(port, count, [], 1, "seed")
    for sender in senders:
        sender.join()
        if sender.error:
            raise sender.error
    deadline = time.monotonic() + 300
    while done_count() < count:
        if time.monotonic() > deadline:
            raise TimeoutError("seed messages not processed")
        time.sleep(0.2)
    seed_ids = [mid for s in senders for mid in s.ids]
    by_id = dict(
        Article.objects.filter(message_id__in=seed_ids).values_list("message_id", "ticket__number")
    )
    return [Seed(str(by_id[mid]), mid) for mid in seed_ids]


def run_split(args: argparse.Namespace, env: dict[str, str], data_dir: Path) -> int:
    n = args.n
    database = engine_name(env)
    prepare(env)
    from django.db import close_old_connections

    from vorgang.channels.models import InboundMessage

    def done_count() -> int:
        close_old_connections()
        return InboundMessage.objects.filter(status__in=["processed", "duplicate"]).count()

    port = free_port()
    logs = data_dir / "logs"
    logs.mkdir()
    env = {**env, "VORGANG_WORKER_INTERVAL": "0.1"}
    with (logs / "lmtp.log").open("wb") as out:
        listener = subprocess.Popen(  # noqa: S603
            vorgang_argv("lmtp", "--port", str(port)),
            env=env,
            stdout=out,
            stderr=out,
            preexec_fn=die_with_parent(),
        )
    with (logs / "worker.log").open("wb") as out:
        worker = subprocess.Popen(  # noqa: S603
            vorgang_argv("worker"), env=env, stdout=out, stderr=out, preexec_fn=die_with_parent()
        )
    try:
        wait_for_port(port, 60)
        seeds = seed_cases(port, args.seeds, done_count)
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=30)

        prepared = (
            None if args.build_during_run else Prepared(data_dir / "messages.bin", n, seeds, "m")
        )
        started = time.monotonic()
        senders = send_all(port, n, seeds, args.connections, "m", prepared)
        for sender in senders:
            sender.join()
            if sender.error:
                raise sender.error
        handed_over = time.monotonic()

        with (logs / "worker.log").open("ab") as out:
            worker = subprocess.Popen(  # noqa: S603
                vorgang_argv("worker"),
                env=env,
                stdout=out,
                stderr=out,
                preexec_fn=die_with_parent(),
            )
        work_started = time.monotonic()
        while done_count() < args.seeds + n:
            if InboundMessage.objects.filter(status="failed").exists():
                raise RuntimeError("messages failed; see `vorgang mail list`")
            if time.monotonic() - work_started > args.timeout:
                raise TimeoutError("processing took too long")
            time.sleep(0.1)
        processed = time.monotonic()
    finally:
        for process in (worker, listener):
            stop_process(process)
        from django.db import connections

        connections.close_all()
    print(f"database:      {database}")
    print(f"messages:      {n} ({args.connections} LMTP sessions, {args.seeds} earlier cases)")
    print(
        f"listener only: {n / (handed_over - started):8.1f} messages/s (LMTP handover, no worker)"
    )
    print(
        f"worker only:   {n / (processed - work_started):8.1f} messages/s "
        "(processing a filled journal; includes the worker's start)"
    )
    return 0


def work_left() -> tuple[int, int]:
    """(confirmation mails not sent yet, tasks waiting) at this moment."""
    from django_tasks_db.models import DBTaskResult

    from vorgang.tickets.models import Article, DeliveryStatus, SenderKind

    unsent = Article.objects.filter(
        sender=SenderKind.SYSTEM, delivery_status=DeliveryStatus.QUEUED
    ).count()
    return unsent, DBTaskResult.objects.filter(status="READY").count()


def run(args: argparse.Namespace, env: dict[str, str], data_dir: Path) -> int:
    n = args.n
    database = engine_name(env)
    prepare(env)
    from django.db import close_old_connections

    from vorgang.channels.models import InboundMessage
    from vorgang.tickets.models import Article, Ticket

    def done_count() -> int:
        close_old_connections()
        return InboundMessage.objects.filter(status__in=["processed", "duplicate"]).count()

    def failed_count() -> int:
        return InboundMessage.objects.filter(status="failed").count()

    web_port, lmtp_port = free_port(), free_port()
    log = data_dir / "serve.log"
    with log.open("wb") as out:
        serve = subprocess.Popen(  # noqa: S603
            vorgang_argv("serve", "--port", str(web_port), "--lmtp-port", str(lmtp_port)),
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            preexec_fn=die_with_parent(),
        )
    sampler: MemorySampler | None = None
    try:
        wait_for_port(lmtp_port, 60)

        # Existing cases for the replies (not timed).
        seeds = seed_cases(lmtp_port, args.seeds, done_count)
        tickets_before = Ticket.objects.count()
        prepared = (
            None if args.build_during_run else Prepared(data_dir / "messages.bin", n, seeds, "m")
        )
        time.sleep(1.5)  # let the worker go idle, so its first look is part of the run

        sampler = MemorySampler(serve.pid)
        sampler.start()
        time.sleep(0.5)
        idle_rss = sampler.current_total
        rss_at: list[tuple[int, int]] = []
        target = args.seeds + n
        cpu = CpuAccount(serve.pid, _database_name(env))
        cpu.start()
        started = time.monotonic()
        senders = send_all(lmtp_port, n, seeds, args.connections, "m", prepared)
        accepted_at: float | None = None
        next_mark = 0.25
        while True:
            done = done_count() - args.seeds
            if accepted_at is None and not any(s.is_alive() for s in senders):
                accepted_at = time.monotonic()
                for sender in senders:
                    if sender.error:
                        raise sender.error
            if done / n >= next_mark:
                rss_at.append((done, sampler.current_total))
                next_mark += 0.25
            if done + args.seeds >= target and accepted_at is not None:
                break
            if failed_count():
                raise RuntimeError(f"{failed_count()} messages failed; see `vorgang mail list`")
            if time.monotonic() - started > args.timeout:
                raise TimeoutError(f"only {done} of {n} processed")
            time.sleep(0.1)
        finished = time.monotonic()
        left_over = work_left()
        # The work the run left behind (confirmation mails, attachment text for search):
        # the time until the worker has none left, as a second, stricter figure.
        while work_left() != (0, 0):
            if time.monotonic() - started > args.timeout:
                raise TimeoutError("the worker did not finish its tasks")
            time.sleep(0.1)
        quiet = time.monotonic()
        cpu.stop()
        sampler.stop()

        sent_ids = {mid for s in senders for mid in s.ids}
        sent_bytes = sum(s.bytes for s in senders)
        articles = Article.objects.filter(message_id__in=sent_ids).count()
        new_cases = Ticket.objects.count() - tickets_before
        assert accepted_at is not None
    finally:
        # Stop serve first: nothing below may leave it running.
        stop_process(serve)
        if sampler is not None:
            sampler.stop()
        from django.db import connections

        connections.close_all()

    e2e_rate = n / (finished - started)
    accept_rate = n / (accepted_at - started)
    parse_rate, parse_bytes = bare_parse_rate(n, seeds)
    ratio = e2e_rate / parse_rate

    print(f"machine:       {platform.node()}, {cpus_and_python()}")
    print(f"database:      {database}")
    print(
        f"messages:      {n} ({sent_bytes / 1e6:.1f} MB; {args.seeds} earlier cases, "
        f"{args.connections} LMTP sessions)"
    )
    print(f"stored:        {articles} articles, {new_cases} new cases (the rest replies)")
    print(f"handover:      {accept_rate:8.1f} messages/s (LMTP, until the last 250)")
    print(f"end to end:    {e2e_rate:8.1f} messages/s (until the last article stored)")
    print(f"bare parse:    {parse_rate:8.1f} messages/s ({parse_bytes / 1e6:.1f} MB, stdlib)")
    print(f"ratio:         {ratio:8.1%} of the bare parse rate (target: at least 40%)")
    print(
        f"memory:        peak {sampler.peak_total / 1024:.0f} MiB RSS over all processes "
        f"(idle before: {idle_rss / 1024:.0f} MiB)"
    )
    print(
        "  per process: "
        + ", ".join(
            f"{name} {kib / 1024:.0f}" for name, kib in sorted(sampler.peak_by_name.items())
        )
        + " (MiB, peak)"
    )
    print(
        "  during run:  "
        + ", ".join(f"{done}: {kib / 1024:.0f}" for done, kib in rss_at)
        + " (processed: MiB)"
    )
    print(
        f"left over:     {left_over[0]} confirmations not sent yet, {left_over[1]} tasks waiting "
        "when the last article was stored"
    )
    print(
        f"all work done: {n / (quiet - started):8.1f} messages/s (until every confirmation is "
        f"sent and no task waits, {quiet - finished:.1f}s after the last article)"
    )
    busy = cpu.machine_seconds * (1 - cpu.idle_share)
    print(
        f"CPU:           {1000 * busy / n:.1f} ms of the machine per message "
        f"({cpu.idle_share:.0%} of {os.cpu_count()} CPUs idle until all work was done)"
    )
    print(
        "  per process: "
        + ", ".join(
            f"{name} {1000 * seconds / n:.1f}"
            for name, seconds in sorted(cpu.by_name.items(), key=lambda item: -item[1])
        )
        + " (ms CPU per message)"
    )
    ok = articles == n
    print("RESULT: " + ("OK" if ok else f"FAILED: {articles} articles for {n} messages"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
