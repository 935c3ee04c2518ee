"""The REST API under load: requests/s and p50/p99 latency at 16 concurrent clients.

Sets up a fresh data directory (SQLite) or, with DATABASE_URL set, a scratch database
on that PostgreSQL server (dropped afterwards unless --keep), migrates it and fills it
with --cases cases (default 100,000), each with its first article, in --departments
departments, with bulk inserts through the ORM (``bulk_create`` in batches: the same
code on both engines). Then it starts ``vorgang serve`` (web server, worker, scheduler;
no mail listener) as a subprocess and runs a bounded load generator on loopback:
--clients threads (default 16), each with its own keep-alive ``http.client``
connection and an admin's API token, send --requests requests per scenario:

- show     GET  /api/v1/tickets/<random id>
- list     GET  /api/v1/tickets?page=<random>&per_page=25  (any page of the whole list)
- search   GET  /api/v1/tickets/search?query=<word>&per_page=25&expand=true
- create   POST /api/v1/tickets  (group by name, customer guess:<email>, a note)

and prints requests/s, p50 and p99 per scenario and the issue's targets (p99 under
100 ms for show and list, under 200 ms for create, on PostgreSQL).

The bench cases are inserted without history entries (the history is a hash chain
that only the services write); ``vorgang audit verify`` would report them, and this
script does not run it. Cases created during the run go through the API and the
services as always. Bench numbers start with "B" so that they never meet the counter.

    .venv/bin/python bench/api.py --cases 5000                       # SQLite
    DATABASE_URL=postgres://vorgang:vorgang@127.0.0.1:55432/vorgang \\
        .venv/bin/python bench/api.py --keep                           # 100,000 cases
    DATABASE_URL=... .venv/bin/python bench/api.py --reuse vorgang_bench_api_<hex>  # again
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from common import (
    NOUNS,
    SERVICES,
    die_with_parent,
    free_port,
    percentile,
    scratch_database,
    setup_django,
    stop_process,
    vorgang_argv,
)

TARGETS_MS = {"show": 100.0, "list": 100.0, "create": 200.0}
PER_PAGE = 25
BATCH = 2000
WORDS = SERVICES[:13]  # the services a case title or a search names


# --- fill ----------------------------------------------------------------------------------------


def fill(n_cases: int, n_departments: int, seed: int) -> dict[str, Any]:
    """Departments, an admin with a token, citizens and cases with one article each."""
    setup_django()
    from django.db import connection, transaction

    from vorgang.accounts import access
    from vorgang.accounts.models import ApiToken, Department, Role, Tenant, User
    from vorgang.tickets.models import Article, Priority, State, Ticket

    rng = random.Random(seed)  # noqa: S311 - test data
    started = time.monotonic()
    tenant = Tenant.default()
    departments = [
        Department.objects.create(
            tenant=tenant, name=f"Amt {i:02d}", email_address=f"amt{i}@bench.example"
        )
        for i in range(n_departments)
    ]
    admin = User.objects.create(username="bench-admin", tenant=tenant, role=Role.ADMIN)
    for department in departments:
        access.grant(admin, department.pk, ["full"])
    token = ApiToken.issue(admin)
    states = {s.name: s.pk for s in State.objects.filter(active=True)}
    mix = [(states[name], share) for name, share in (("closed", 0.8), ("open", 0.12), ("new", 0.08)) if name in states]  # fmt: skip
    state_ids, weights = [m[0] for m in mix], [m[1] for m in mix]
    priority = Priority.objects.order_by("level").values_list("pk", flat=True)
    priorities = list(priority)
    n_citizens = max(1, n_cases // 3)
    with transaction.atomic():
        citizens = User.objects.bulk_create(
            (
                User(
                    username=f"bench-citizen-{i}",
                    email=f"buerger.{i}@example.org",
                    first_name="Bürger",
                    last_name=f"Nummer {i}",
                    password="!",  # noqa: S106 - no login
                    tenant=tenant,
                    role=Role.CITIZEN,
                )
                for i in range(n_citizens)
            ),
            batch_size=BATCH,
        )
    citizen_ids = (
        [c.pk for c in citizens]
        if citizens[0].pk
        else list(
            User.objects.filter(role=Role.CITIZEN, tenant=tenant).values_list("pk", flat=True)
        )
    )
    ids: list[int] = []
    for start in range(0, n_cases, BATCH):
        count = min(BATCH, n_cases - start)
        with transaction.atomic():
            tickets = [
                Ticket(
                    tenant=tenant,
                    number=f"B{start + i + 1:07d}",
                    title=f"{rng.choice(WORDS)}: {rng.choice(NOUNS)} {start + i + 1}",
                    department=rng.choice(departments),
                    state_id=rng.choices(state_ids, weights)[0],
                    priority_id=priorities[min(1, len(priorities) - 1)],
                    citizen_id=rng.choice(citizen_ids),
                )
                for i in range(count)
            ]
            created = Ticket.objects.bulk_create(tickets)
            if created[0].pk is None:  # a backend without RETURNING: read the ids back
                numbers = [t.number for t in tickets]
                by_number = dict(
                    Ticket.objects.filter(number__in=numbers).values_list("number", "pk")
                )
                for t in tickets:
                    t.pk = by_number[t.number]
            Article.objects.bulk_create(
                Article(
                    ticket_id=t.pk,
                    kind="email",
                    sender="citizen",
                    subject=t.title,
                    body=f"Sehr geehrte Damen und Herren, anbei mein Antrag ({t.title}).",
                )
                for t in tickets
            )
            ids.extend(t.pk for t in tickets)
        done = start + count
        if done % 20_000 < BATCH or done == n_cases:
            print(f"  {done:,} cases ({time.monotonic() - started:.0f} s)", flush=True)
    # The search scenario must find these cases too, as it would in a real installation.
    from vorgang.search.indexing import reindex_all

    print("  indexing for search ...", flush=True)
    reindex_all(with_attachments=False)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    connection.close()
    return {
        "token": token,
        "ids": ids,
        "department": departments[0].name,
        "seconds": time.monotonic() - started,
    }


def reuse() -> dict[str, Any]:
    """The bench data of a kept database, with a fresh token (only hashes are stored)."""
    setup_django()
    from django.db import connection

    from vorgang.accounts.models import ApiToken, Department, User
    from vorgang.tickets.models import Ticket

    admin = User.objects.get(username="bench-admin")
    ids = list(Ticket.objects.filter(number__startswith="B").order_by("pk").values_list("pk", flat=True))  # fmt: skip
    department = Department.objects.filter(tenant=admin.tenant).order_by("name").first()
    assert department is not None
    data = {"token": ApiToken.issue(admin), "ids": ids, "department": department.name, "seconds": 0.0}  # fmt: skip
    connection.close()
    return data


# --- load ------------------------------------------------------------------------------------------


@dataclass
class Result:
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, seconds: float, status: int) -> None:
        with self.lock:
            self.latencies.append(seconds)
            self.statuses[status] += 1


class Client:
    """One keep-alive connection; reconnects once if the server closed it."""

    def __init__(self, port: int, token: str) -> None:
        self.port = port
        self.headers = {
            "Authorization": f"Token token={token}",
            "Accept": "application/json",
            "Content-Type": "application/json",
        }
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def request(self, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
        for attempt in (1, 2):
            try:
                self.conn.request(method, path, body=body, headers=self.headers)
                response = self.conn.getresponse()
                return response.status, response.read()
            except (http.client.RemoteDisconnected, ConnectionError, http.client.BadStatusLine):
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        self.conn.close()


Request = Callable[[random.Random, int], tuple[str, str, bytes | None]]


def scenarios(data: dict[str, Any]) -> dict[str, Request]:
    ids = data["ids"]
    pages = max(1, len(ids) // PER_PAGE)
    group = data["department"]

    def show(rng: random.Random, n: int) -> tuple[str, str, bytes | None]:
        return "GET", f"/api/v1/tickets/{rng.choice(ids)}", None

    def listing(rng: random.Random, n: int) -> tuple[str, str, bytes | None]:
        return "GET", f"/api/v1/tickets?page={rng.randint(1, pages)}&per_page={PER_PAGE}", None

    def search(rng: random.Random, n: int) -> tuple[str, str, bytes | None]:
        word = quote(rng.choice(WORDS))
        return "GET", f"/api/v1/tickets/search?query={word}&per_page={PER_PAGE}&expand=true", None

    def create(rng: random.Random, n: int) -> tuple[str, str, bytes | None]:
        body = {
            "title": f"Lastprobe {n}: {rng.choice(WORDS)}",
            "group": group,
            "customer_id": f"guess:last.{n}@example.org",
            "article": {"body": "Antrag über die API (Lastprobe).", "type": "note"},
        }
        return "POST", "/api/v1/tickets", json.dumps(body).encode()

    return {"show": show, "list": listing, "search": search, "create": create}


def run_load(port: int, token: str, make: Request, clients: int, total: int, seed: int) -> tuple[Result, float, float]:  # fmt: skip
    """``total`` requests over ``clients`` threads; returns results, wall and client CPU time."""
    result = Result()
    counter = iter(range(total))
    counter_lock = threading.Lock()
    barrier = threading.Barrier(clients + 1)

    def worker(index: int) -> None:
        rng = random.Random(seed * 1000 + index)  # noqa: S311 - load pattern
        client = Client(port, token)
        try:
            barrier.wait()
            while True:
                with counter_lock:
                    n = next(counter, None)
                if n is None:
                    return
                method, path, body = make(rng, n)
                began = time.perf_counter()
                status, _ = client.request(method, path, body)
                result.add(time.perf_counter() - began, status)
        finally:
            client.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    barrier.wait()
    began, cpu = time.perf_counter(), time.process_time()
    for t in threads:
        t.join()
    return result, time.perf_counter() - began, time.process_time() - cpu


# --- main --------------------------------------------------------------------------------------


def wait_until_ready(port: int, token: str, serve: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if serve.poll() is not None:
            sys.exit(f"vorgang serve stopped:\n{log.read_text()[-3000:]}")
        try:
            client = Client(port, token)
            status, _ = client.request("GET", "/api/v1/users/me")
            client.close()
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    sys.exit(f"vorgang serve did not answer in time:\n{log.read_text()[-3000:]}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000, help="cases filled in first")
    parser.add_argument("--departments", type=int, default=10)
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients")
    parser.add_argument("--requests", type=int, default=2000, help="requests per read scenario")
    parser.add_argument("--creates", type=int, default=1000, help="requests of create")
    parser.add_argument(
        "--only", default="show,list,search,create", help="scenarios, comma-separated"
    )
    parser.add_argument("--web-workers", type=int, help="gunicorn workers (serve's default: 2)")
    parser.add_argument("--web-threads", type=int, help="threads per worker (default: 4)")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="keep the data dir / database")
    parser.add_argument(
        "--reuse", metavar="NAME", help="measure a database kept by --keep again (PostgreSQL)"
    )
    args = parser.parse_args()
    if args.reuse and not os.environ.get("DATABASE_URL"):
        parser.error("--reuse needs DATABASE_URL (a kept PostgreSQL database)")
    wanted = [s.strip() for s in args.only.split(",") if s.strip()]

    data_dir = Path(tempfile.mkdtemp(prefix="vorgang-bench-api-"))
    env = dict(os.environ, VORGANG_DATA_DIR=str(data_dir), PYTHONUNBUFFERED="1")
    env.pop("VORGANG_LOG_LEVEL", None)
    if args.web_workers:
        env["VORGANG_WEB_WORKERS"] = str(args.web_workers)
    if args.web_threads:
        env["VORGANG_WEB_THREADS"] = str(args.web_threads)
    with contextlib.ExitStack() as stack:
        engine = "SQLite"
        if args.reuse:
            url = urlsplit(os.environ["DATABASE_URL"])
            env["DATABASE_URL"] = url._replace(path=f"/{args.reuse}").geturl()
            engine = "PostgreSQL"
        elif os.environ.get("DATABASE_URL"):
            env["DATABASE_URL"] = stack.enter_context(
                scratch_database(os.environ["DATABASE_URL"], "vorgang_bench_api_", keep=args.keep)
            )
            engine = "PostgreSQL"
        try:
            subprocess.run(  # noqa: S603
                vorgang_argv("migrate", "--noinput", "-v", "0"), env=env, check=True, timeout=600
            )
            os.environ.update(
                {k: v for k, v in env.items() if k in ("VORGANG_DATA_DIR", "DATABASE_URL")}
            )
            if args.reuse:
                data = reuse()
                print(f"reusing {args.reuse}: {len(data['ids']):,} bench cases", flush=True)
            else:
                print(f"filling {args.cases:,} cases ({engine}) ...", flush=True)
                data = fill(args.cases, args.departments, args.seed)
                print(f"filled in {data['seconds']:.0f} s", flush=True)
            return measure(args, env, data_dir, data, wanted, engine)
        finally:
            if args.keep:
                print(f"kept: {data_dir}")
            else:
                shutil.rmtree(data_dir, ignore_errors=True)


def queued_tasks() -> int:
    """Background tasks waiting for the worker (search re-index, webhooks, mail)."""
    from django_tasks_db.models import DBTaskResult

    return DBTaskResult.objects.filter(status="READY").count()


def wait_for_empty_queue(timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while queued_tasks() and time.monotonic() < deadline:
        time.sleep(0.5)


def measure(
    args: argparse.Namespace,
    env: dict[str, str],
    data_dir: Path,
    data: dict[str, Any],
    wanted: list[str],
    engine: str,
) -> int:
    port = free_port()
    log = data_dir / "serve.log"
    with log.open("wb") as out:
        serve = subprocess.Popen(  # noqa: S603
            vorgang_argv("serve", "--port", str(port), "--no-lmtp"),
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            preexec_fn=die_with_parent(),
        )
    failed = False
    try:
        wait_until_ready(port, data["token"], serve, log)
        all_scenarios = scenarios(data)
        # Warm up every worker process (imports, connections, caches).
        for name in wanted:
            run_load(port, data["token"], all_scenarios[name], args.clients, args.clients * 4, 0)
        print(
            f"\n{engine}, {len(data['ids']):,} cases, {args.clients} clients "
            f"(loopback, keep-alive, API token); client = the load generator's own CPU\n"
            f"time per request in ms (it runs on the same cores as the server); queued =\n"
            f"background tasks still waiting at the end (each scenario starts with none)\n"
        )
        print(f"{'scenario':<8} {'requests':>8} {'errors':>6} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'client':>7} {'queued':>6}  target p99")  # fmt: skip
        for name in wanted:
            # Work the worker owes from earlier runs would compete with this one.
            wait_for_empty_queue()
            total = args.creates if name == "create" else args.requests
            result, wall, client_cpu = run_load(
                port, data["token"], all_scenarios[name], args.clients, total, args.seed
            )
            ok = sum(n for status, n in result.statuses.items() if 200 <= status < 300)
            errors = total - ok
            p50 = statistics.median(result.latencies) * 1000
            p99 = percentile(result.latencies, 0.99) * 1000
            target = TARGETS_MS.get(name)
            verdict = (
                "" if target is None else f"< {target:.0f} ms {'ok' if p99 < target else 'MISSED'}"
            )
            client_ms = client_cpu / total * 1000
            # Tasks still waiting when the last response came: work the run left behind.
            queued = queued_tasks()
            print(f"{name:<8} {total:>8} {errors:>6} {total / wall:>8.1f} {p50:>8.1f} {p99:>8.1f} {client_ms:>7.2f} {queued:>6}  {verdict}")  # fmt: skip
            if errors:
                failed = True
                print(f"         statuses: {dict(result.statuses)}")
    finally:
        stop_process(serve)
    if failed:
        print(f"\nsome requests failed; the server's log:\n{log.read_text()[-3000:]}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
