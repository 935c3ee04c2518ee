"""Concurrent writers on the embedded default: do web, worker and intake block each other?

Starts PROCESSES processes that each create CASES cases (with one article) and
change their state, all at once, on one database (a fresh SQLite file in a temp
dir, or the database in DATABASE_URL). Prints throughput, the slowest write and
the number of failed writes ("database is locked" would show up there), then
checks that all case numbers are unique and every history chain verifies.

    .venv/bin/python bench/concurrent_writes.py [--processes 4] [--cases 200]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import statistics
import sys
import tempfile
import time

from common import setup_django


def _worker(department_id: int, cases: int, start: float, out: mp.Queue) -> None:  # type: ignore[type-arg]
    setup_django()
    from vorgang.accounts.models import Department
    from vorgang.tickets import services

    department = Department.objects.get(pk=department_id)
    while time.time() < start:
        time.sleep(0.001)
    latencies: list[float] = []
    failures = 0
    for i in range(cases):
        t0 = time.perf_counter()
        try:
            ticket = services.create_ticket(
                None,
                department=department,
                title=f"Anmeldung {os.getpid()}-{i}",
                article=services.ArticleInput(body="Ich bin umgezogen.", kind="web"),
            )
            services.change_state(None, ticket, "open")
        except Exception as exc:
            failures += 1
            print(f"write failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        latencies.append(time.perf_counter() - t0)
    out.put((latencies, failures))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--cases", type=int, default=200, help="cases per process")
    args = parser.parse_args()

    if not os.environ.get("DATABASE_URL"):
        os.environ["VORGANG_DATA_DIR"] = tempfile.mkdtemp(prefix="vorgang-bench-")
    setup_django()
    from django.core.management import call_command
    from django.db import connection

    from vorgang.accounts.services import create_department
    from vorgang.tickets import history
    from vorgang.tickets.models import Ticket

    call_command("migrate", verbosity=0)
    department = create_department(f"Bench {time.time()}", address=f"bench{os.getpid()}@x.example")
    connection.close()

    ctx = mp.get_context("spawn")
    queue: mp.Queue = ctx.Queue()  # type: ignore[type-arg]
    start = time.time() + 3
    procs = [
        ctx.Process(target=_worker, args=(department.pk, args.cases, start, queue))
        for _ in range(args.processes)
    ]
    for p in procs:
        p.start()
    results = [queue.get() for _ in procs]
    elapsed = time.time() - start
    for p in procs:
        p.join()

    latencies = sorted(lat for lats, _f in results for lat in lats)
    failures = sum(f for _l, f in results)
    total = len(latencies)
    numbers = list(Ticket.objects.filter(department=department).values_list("number", flat=True))
    breaks = list(history.verify())
    engine = connection.vendor
    print(f"engine: {engine}, processes: {args.processes}, cases: {total}")
    print(f"throughput: {total / elapsed:.0f} cases/s (create + state change), {elapsed:.1f} s")
    print(
        f"latency ms: p50 {statistics.median(latencies) * 1000:.1f}, "
        f"p95 {latencies[int(total * 0.95) - 1] * 1000:.1f}, max {latencies[-1] * 1000:.1f}"
    )
    print(f"failed writes: {failures}")
    print(f"unique numbers: {len(set(numbers)) == len(numbers) == total - failures}")
    print(f"history chains broken: {len(breaks)}")
    if failures or breaks or len(set(numbers)) != len(numbers):
        sys.exit(1)


if __name__ == "__main__":
    main()
