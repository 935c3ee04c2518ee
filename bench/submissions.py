"""Online-service submissions through the API, against a running ``vorgang serve``.

Loads the demo (departments and the three demo services), creates an integration
account with an API token, starts ``vorgang serve`` (web server and worker, no LMTP)
as a subprocess and sends ``--n`` submissions of the driving licence application
(``POST /api/v1/services/fuehrerscheinantrag/submissions``: the form data, a 100 KB
JPEG photo and a small PDF, base64 in JSON, each with its own Idempotency-Key) over
``--connections`` parallel keep-alive HTTP connections. Prints sustained submissions
per second (first request sent to last 201 received), p50/p99/max latency, then the
latency of idempotent replays, and checks that every submission became exactly one case.

SQLite in a fresh data dir by default; with DATABASE_URL set, a scratch database on
that PostgreSQL server (dropped afterwards).

    .venv/bin/python bench/submissions.py [--n 500] [--connections 4] [--web-workers 2]
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import platform
import statistics
import subprocess
import sys
import threading
import time
import zlib
from pathlib import Path

from common import (
    cpus_and_python,
    engine_name,
    free_port,
    percentile_rounded,
    run_vorgang,
    scratch_environment,
    setup_django,
    stop_process,
    vorgang_argv,
    wait_for_port,
)

ATTACHMENT_BYTES = 100 * 1024
SLUG = "fuehrerscheinantrag"
PATH = f"/api/v1/services/{SLUG}/submissions"


# --- the request --------------------------------------------------------------------------


JPEG_HEAD = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
FILLER = bytes((i * 7919) % 251 for i in range(ATTACHMENT_BYTES - len(JPEG_HEAD) - 2 - 16))


def photo(i: int) -> bytes:
    """A 100 KB file that is a JPEG by its first bytes, different for every ``i`` (as every
    citizen's photo is: stored files are deduplicated by their hash)."""
    return JPEG_HEAD + f"{i:016d}".encode() + FILLER + b"\xff\xd9"


def small_pdf() -> bytes:
    return (
        b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
        b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n"
        b"trailer << /Root 1 0 R >>\n%%EOF\n"
    )


def payload(i: int, prefix: str) -> bytes:
    photo_b64 = base64.b64encode(photo(zlib.crc32(prefix.encode()) * 10**7 + i)).decode()
    pdf_b64 = base64.b64encode(small_pdf()).decode()
    body = {
        "citizen": {
            "email": f"buerger{i % 500}@example.org",
            "firstname": "Erika",
            "lastname": f"Mustermann {i % 500}",
            "external_id": f"bundid:bench-{i % 500:04d}",
            "trust_level": "substantial",
        },
        "data": {
            "licence_class": "B",
            "first_name": "Erika",
            "last_name": f"Mustermann {i % 500}",
            "birth_date": "2007-05-14",
            "address": {"street": "Lindenstraße 12", "postcode": "12345", "city": "Musterstadt"},
            "phone": "030 23125123",
            "email": f"buerger{i % 500}@example.org",
            "eye_test_done": True,
        },
        "attachments": [
            {
                "filename": "passfoto.jpg",
                "data": photo_b64,
                "mime-type": "image/jpeg",
                "document": "photo",
            },
            {
                "filename": "erste-hilfe.pdf",
                "data": pdf_b64,
                "mime-type": "application/pdf",
                "document": "first_aid",
            },
        ],
    }
    return json.dumps(body).encode()


class Sender(threading.Thread):
    """One keep-alive HTTP connection sending submissions ``indexes``; records latencies."""

    def __init__(self, port: int, token: str, indexes: range, prefix: str) -> None:
        super().__init__(daemon=True)
        self.port, self.token, self.indexes, self.prefix = port, token, indexes, prefix
        self.latencies: list[float] = []
        self.statuses: dict[int, int] = {}
        self.numbers: list[str] = []
        self.error: BaseException | None = None
        self.last_done = 0.0

    def run(self) -> None:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
            for i in self.indexes:
                body = payload(i, self.prefix)
                headers = {
                    "Authorization": f"Token token={self.token}",
                    "Content-Type": "application/json",
                    "Idempotency-Key": f"{self.prefix}-{i}",
                }
                t0 = time.perf_counter()
                conn.request("POST", PATH, body=body, headers=headers)
                response = conn.getresponse()
                answer = response.read()
                self.latencies.append(time.perf_counter() - t0)
                self.last_done = time.monotonic()
                self.statuses[response.status] = self.statuses.get(response.status, 0) + 1
                if response.status in (200, 201):
                    self.numbers.append(json.loads(answer)["number"])
                elif len(self.statuses) < 5:
                    print(f"  {response.status}: {answer[:300]!r}", file=sys.stderr)
            conn.close()
        except BaseException as exc:
            self.error = exc


def run_senders(
    port: int,
    token: str,
    n: int,
    connections: int,
    prefix: str,
) -> tuple[list[Sender], float]:
    senders = [Sender(port, token, range(k, n, connections), prefix) for k in range(connections)]
    started = time.monotonic()
    for sender in senders:
        sender.start()
    for sender in senders:
        sender.join(timeout=3600)
        if sender.error:
            raise sender.error
    finished = max(s.last_done for s in senders)
    return senders, finished - started


# --- main ------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=500, help="submissions in the timed run")
    parser.add_argument("--connections", type=int, default=4, help="parallel HTTP connections")
    parser.add_argument("--web-workers", type=int, default=2, help="VORGANG_WEB_WORKERS")
    parser.add_argument("--web-threads", type=int, default=4, help="VORGANG_WEB_THREADS")
    parser.add_argument("--keep", action="store_true", help="keep the data directory")
    args = parser.parse_args()

    variables = {
        "VORGANG_LOG_LEVEL": "WARNING",
        "VORGANG_WEB_WORKERS": str(args.web_workers),
        "VORGANG_WEB_THREADS": str(args.web_threads),
        "PYTHONUNBUFFERED": "1",
    }
    with scratch_environment(
        "vorgang-submissions-", "vorgang_bench_", variables, keep=args.keep
    ) as (env, data_dir):
        return run(args, env, data_dir)


def run(args: argparse.Namespace, env: dict[str, str], data_dir: Path) -> int:
    database = engine_name(env)
    run_vorgang(env, "migrate", "--noinput", "-v", "0")
    run_vorgang(env, "demo")
    run_vorgang(
        env,
        *("user", "create", "bench-formserver", "--email", "formserver@bench.example"),
        *("--role", "integration", "--no-input"),
    )
    token = run_vorgang(env, "api-token", "bench-formserver").strip().splitlines()[-1]

    request_bytes = len(payload(0, "size"))

    port = free_port()
    log = data_dir / "serve.log"
    with log.open("wb") as out:
        serve = subprocess.Popen(  # noqa: S603
            vorgang_argv("serve", "--port", str(port), "--no-lmtp"),
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for_port(port, 60)
        run_senders(port, token, 40, args.connections, "warmup")  # not timed

        senders, elapsed = run_senders(port, token, args.n, args.connections, "run")
        latencies = [x for s in senders for x in s.latencies]
        statuses: dict[int, int] = {}
        for sender in senders:
            for status, count in sender.statuses.items():
                statuses[status] = statuses.get(status, 0) + count
        numbers = [n for s in senders for n in s.numbers]

        replays, replay_elapsed = run_senders(port, token, min(args.n, 200), 1, "run")
        replay_latencies = [x for s in replays for x in s.latencies]
        replay_statuses = {k: v for s in replays for k, v in s.statuses.items()}
    finally:
        stop_process(serve)

    setup_django(env)
    from vorgang.catalogue.models import IdempotencyKey
    from vorgang.tickets.models import Ticket

    cases = Ticket.objects.filter(service__slug=SLUG).count()
    keys = IdempotencyKey.objects.filter(key__startswith="run-").count()

    ms = 1000.0
    print(f"Submissions through the API ({database}, vorgang serve)")
    print(f"  machine:      {platform.machine()}, {cpus_and_python()}")
    print(
        f"  web:          {args.web_workers} workers x {args.web_threads} threads; "
        f"{args.connections} client connections"
    )
    print(
        f"  request:      {request_bytes / 1024:.0f} KB JSON "
        f"(100 KB JPEG + {len(small_pdf())} B PDF, base64)"
    )
    print(f"  submissions:  {args.n} in {elapsed:.2f} s = {args.n / elapsed:.1f} per second")
    print(
        f"  latency:      p50 {statistics.median(latencies) * ms:.0f} ms, "
        f"p99 {percentile_rounded(latencies, 0.99) * ms:.0f} ms, max {max(latencies) * ms:.0f} ms"
    )
    print(f"  statuses:     {dict(sorted(statuses.items()))}")
    print(
        f"  replays:      {len(replay_latencies)} in {replay_elapsed:.2f} s, "
        f"p50 {statistics.median(replay_latencies) * ms:.1f} ms, statuses {replay_statuses}"
    )
    print(f"  cases:        {cases} for {args.n} + 40 warm-up submissions; {keys} keys")
    ok = (
        statuses == {201: args.n}
        and replay_statuses == {200: len(replay_latencies)}
        and cases == args.n + 40
        and len(set(numbers)) == args.n
    )
    print("  check:        " + ("every submission is exactly one case" if ok else "FAILED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
