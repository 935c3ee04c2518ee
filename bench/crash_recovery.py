"""Crash acceptance: SIGKILL the mail processing while N messages come in; lose nothing.

Sets up a fresh data directory (SQLite; with DATABASE_URL set, a scratch PostgreSQL
database on that server instead, dropped afterwards), migrates, creates a department,
then starts ``vorgang lmtp`` and ``vorgang worker`` as processes and sends N messages
over LMTP from a thread, as an MTA would: a message that was not answered 250 (the
listener was down, or answered 4xx) is sent again. Meanwhile it SIGKILLs the worker
several times, each time while it holds a message in ``processing``, and the listener
once, restarting each. Then it runs the stale-entry recovery (``journal.retry`` with
``stale_after=0``, what the scheduler's "inbound-recovery" job does after 300 s) until
the journal has no ``received``/``processing`` entry left, and checks:

- exactly N articles carry the N Message-IDs sent, none twice;
- no journal entry failed; copies the MTA sent twice ended as ``duplicate``;
- every case's history chain verifies;
- no confirmation mail is lost: each one not sent yet still has a pending row or a task.

    .venv/bin/python bench/crash_recovery.py [--n 1000] [--worker-kills 4] [--listener-kills 1]

Exit code 0 when all checks hold ("RESULT: OK"), 1 otherwise.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import smtplib
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from common import (
    accepts,
    die_with_parent,
    engine_name,
    free_port,
    run_vorgang,
    scratch_environment,
    setup_django,
    stop_process,
    vorgang_argv,
)

DEPARTMENT = "posteingang@bench.example"


def wait_for(check: Callable[[], Any], timeout: float, what: str, interval: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def make_message(i: int) -> tuple[str, bytes]:
    message_id = f"<crash-{i}@bench.example>"
    citizen = f"buerger{i % 50}@example.org"
    raw = (
        f"From: Bürger {i % 50} <{citizen}>\r\n"
        f"To: {DEPARTMENT}\r\n"
        f"Subject: Antrag Nr. {i}: Ummeldung der Wohnung\r\n"
        f"Message-ID: {message_id}\r\n"
        "Date: Sat, 28 Nov 2026 10:00:00 +0100\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 8bit\r\n\r\n"
        f"Sehr geehrte Damen und Herren,\r\n\r\nich bin umgezogen (Vorgang {i}).\r\n"
        "Mit freundlichen Grüßen\r\n"
    ).encode()
    return message_id, raw


class Process:
    """A ``vorgang`` child that can be killed and started again."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log: Path) -> None:
        self.name, self.argv, self.env, self.log = name, argv, env, log
        self.process: subprocess.Popen[bytes] | None = None
        self.kills = 0

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(  # noqa: S603 - our own argv
                self.argv,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                # A pre-exec hook is unsafe once threads run (the sender): only before.
                preexec_fn=die_with_parent() if threading.active_count() == 1 else None,
            )

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)
        self.kills += 1

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process, timeout=15)


class Sender(threading.Thread):
    """Sends the messages like an MTA: keep each until it is answered 250."""

    def __init__(self, port: int, n: int) -> None:
        super().__init__(daemon=True)
        self.port, self.n = port, n
        self.accepted = 0
        self.retries = 0
        self.refused: list[tuple[int, int, bytes]] = []
        self.error: BaseException | None = None
        self.message_ids: list[str] = []

    def run(self) -> None:
        try:
            self._run()
        except BaseException as exc:  # reported by the main thread
            self.error = exc

    def _run(self) -> None:
        client: smtplib.LMTP | None = None
        for i in range(self.n):
            message_id, raw = make_message(i)
            self.message_ids.append(message_id)
            deadline = time.monotonic() + 120
            while True:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"message {i} not accepted within 120 s")
                try:
                    if client is None:
                        client = smtplib.LMTP("127.0.0.1", self.port, timeout=30)
                    refused = client.sendmail("mta@bench.example", [DEPARTMENT], raw)
                    if refused:
                        raise smtplib.SMTPRecipientsRefused(refused)
                    self.accepted += 1
                    break
                except smtplib.SMTPResponseException as exc:
                    if 500 <= exc.smtp_code < 600:
                        self.refused.append((i, exc.smtp_code, exc.smtp_error))
                        break
                    client = self._retry_later(client)
                except (OSError, smtplib.SMTPException):
                    client = self._retry_later(client)
        if client is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                client.quit()

    def _retry_later(self, client: smtplib.LMTP | None) -> None:
        self.retries += 1
        if client is not None:
            with contextlib.suppress(OSError):
                client.close()
        time.sleep(0.2)
        return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="messages to send (default 1000)")
    parser.add_argument("--worker-kills", type=int, default=4)
    parser.add_argument("--listener-kills", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=900, help="give up after (seconds)")
    parser.add_argument("--keep", action="store_true", help="keep the data dir / database")
    args = parser.parse_args()

    variables = {
        "VORGANG_WORKER_INTERVAL": "0.1",
        "VORGANG_LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    }
    with scratch_environment(
        "vorgang-crash-", "vorgang_crash_", variables, keep=args.keep, keep_database=args.keep
    ) as (env, data_dir):
        return run(args, env, data_dir)


def unsent_without_a_way_out() -> tuple[int, dict[str, int]]:
    """Confirmation mails that are queued but that nothing will send (lost by a kill), and
    the confirmations by delivery status.

    A queued confirmation is on its way while a ``PendingConfirmation`` row (the drain's
    batch, sent by ``send_confirmations``; a killed worker's claim expires) or a
    ``deliver_article`` task waits for it.
    """
    from django_tasks_db.models import DBTaskResult

    from vorgang.channels.models import PendingConfirmation
    from vorgang.tickets.models import Article, DeliveryStatus, SenderKind

    system = Article.objects.filter(sender=SenderKind.SYSTEM, kind="email")
    by_status: dict[str, int] = {}
    for status in system.values_list("delivery_status", flat=True):
        by_status[str(status)] = by_status.get(str(status), 0) + 1
    queued = set(system.filter(delivery_status=DeliveryStatus.QUEUED).values_list("pk", flat=True))
    pending = set(PendingConfirmation.objects.values_list("article_id", flat=True))
    tasks = {
        args[0]
        for args in (
            t.args_kwargs.get("args") or [None]
            for t in DBTaskResult.objects.filter(
                task_path="vorgang.tickets.tasks.deliver_article", status__in=["READY", "RUNNING"]
            )
        )
    }
    return len(queued - pending - tasks), dict(sorted(by_status.items()))


def run(args: argparse.Namespace, env: dict[str, str], data_dir: Path) -> int:
    n = args.n
    database = engine_name(env)
    for step in (
        ["migrate", "--noinput", "-v", "0"],
        ["department", "create", "Posteingang", "--address", DEPARTMENT],
    ):
        run_vorgang(env, *step, timeout=120)

    setup_django(env)  # this process watches the same database
    from django.db import close_old_connections
    from django.db.models import Count
    from django_tasks_db.models import DBTaskResult

    from vorgang.channels import journal
    from vorgang.channels.models import InboundMessage, InboundStatus
    from vorgang.tickets import history
    from vorgang.tickets.models import Article, Ticket

    def counts() -> dict[str, int]:
        close_old_connections()
        rows = InboundMessage.objects.values_list("status").annotate(c=Count("pk"))
        return {str(status): c for status, c in rows}

    port = free_port()
    logs = data_dir / "logs"
    logs.mkdir()
    listener = Process("lmtp", vorgang_argv("lmtp", "--port", str(port)), env, logs / "lmtp.log")
    worker = Process("worker", vorgang_argv("worker"), env, logs / "worker.log")
    listener.start()
    worker.start()
    sender: Sender | None = None
    try:
        wait_for(lambda: accepts(port), 60, "the listener")
        started = time.monotonic()
        sender = Sender(port, n)
        sender.start()

        # Kill points, as fractions of the messages accepted so far.
        worker_points = [(k + 1) / (args.worker_kills + 1) for k in range(args.worker_kills)]
        listener_points = [
            (k + 1) / (args.listener_kills + 1) + 0.05 for k in range(args.listener_kills)
        ]
        mid_processing = 0
        while sender.is_alive():
            done = sender.accepted / n
            if worker_points and done >= worker_points[0]:
                worker_points.pop(0)
                # Strike while the worker holds a message in "processing".
                with contextlib.suppress(TimeoutError):
                    wait_for(
                        lambda: InboundMessage.objects.filter(
                            status=InboundStatus.PROCESSING
                        ).exists(),
                        5,
                        "a message in processing",
                        interval=0.005,
                    )
                    mid_processing += 1
                worker.kill()
                time.sleep(0.3)
                worker.start()
            if listener_points and done >= listener_points[0]:
                listener_points.pop(0)
                listener.kill()
                time.sleep(1.0)
                listener.start()
            if time.monotonic() - started > args.timeout:
                raise TimeoutError("sending took too long")
            time.sleep(0.02)
        sender.join()
        if sender.error is not None:
            raise sender.error
        sent_at = time.monotonic()
        after_kills = counts()
        left_behind = after_kills.get("processing", 0)

        # Recovery: once the queue is drained, whatever is still received/processing was
        # abandoned by a killed worker; queue it again (the scheduler's job, without the
        # 300 s grace period).
        requeued = 0
        recovery_runs = 0
        deadline = time.monotonic() + args.timeout
        while True:
            now = counts()
            open_entries = now.get("received", 0) + now.get("processing", 0)
            if not open_entries:
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"journal still has {open_entries} open entries")
            if not DBTaskResult.objects.filter(status="READY").exists():
                time.sleep(0.5)  # the worker may be finishing its last task
                if not DBTaskResult.objects.filter(status="READY").exists():
                    requeued += journal.retry(None, failed=False, stale_after=0)
                    recovery_runs += 1
            time.sleep(0.3)
        finished = time.monotonic()

        # --- checks -------------------------------------------------------------------
        close_old_connections()
        sent = set(sender.message_ids)
        articles = list(
            Article.objects.filter(message_id__in=sent).values_list("message_id", flat=True)
        )
        final = counts()
        breaks = list(history.verify())
        stuck_tasks = DBTaskResult.objects.filter(status="RUNNING").count()
        problems = []
        if sender.refused:
            problems.append(f"{len(sender.refused)} messages refused permanently")
        if len(articles) != n:
            problems.append(f"{len(articles)} articles for {n} messages")
        if len(set(articles)) != len(articles):
            problems.append(f"{len(articles) - len(set(articles))} duplicate articles")
        if set(articles) != sent:
            problems.append(f"{len(sent - set(articles))} messages have no article")
        if final.get("failed"):
            problems.append(f"{final['failed']} journal entries failed")
            errors = InboundMessage.objects.filter(status=InboundStatus.FAILED)
            firsts = Counter(
                e.split("\n", 1)[0][:200] for e in errors.values_list("error", flat=True)
            )
            for error, count in firsts.most_common(5):
                print(f"failed x{count}: {error}")
        if breaks:
            problems.append(f"{len(breaks)} history chains broken")
        lost_confirmations, confirmations = unsent_without_a_way_out()
        if lost_confirmations:
            problems.append(f"{lost_confirmations} confirmations queued with nothing to send them")

        print(f"database:                 {database}")
        print(f"messages sent:            {n}")
        print(f"worker SIGKILLs:          {worker.kills} ({mid_processing} mid-processing)")
        print(f"listener SIGKILLs:        {listener.kills}")
        print(f"client retries (4xx/conn): {sender.retries}")
        print(f"left processing by kills: {left_behind}")
        print(f"recovery runs / requeued: {recovery_runs} / {requeued}")
        print(f"tasks left RUNNING:       {stuck_tasks} (rows of killed workers; harmless)")
        print(f"journal entries:          {sum(final.values())} {dict(sorted(final.items()))}")
        print(f"cases:                    {Ticket.objects.count()}")
        print(f"articles with sent ids:   {len(articles)} ({len(set(articles))} distinct)")
        print(f"history chains verified:  {Ticket.objects.count() - len(breaks)} ok")
        print(f"confirmations:            {confirmations}")
        print(f"time: sending {sent_at - started:.1f}s, until all stored {finished - started:.1f}s")
        print(f"throughput under kills:   {n / (finished - started):.1f} messages/s")
        if problems:
            print("RESULT: FAILED: " + "; ".join(problems))
            return 1
        print(f"RESULT: OK: exactly {n} messages stored as articles, no duplicate")
        return 0
    finally:
        worker.stop()
        listener.stop()
        from django.db import connections

        connections.close_all()


if __name__ == "__main__":
    sys.exit(main())
