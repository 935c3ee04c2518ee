"""A small scheduler: runs registered periodic jobs in one process (``vorgang scheduler``).

``vorgang serve`` runs it as a child; in production run exactly one. Each job is a
``(name, dotted path, interval in seconds)`` entry in :data:`JOBS`; the path names a
callable without arguments (import it lazily inside, so a job's module loads only when
it runs). Other parts add their jobs to the list::

    JOBS.append(("sla-escalation", "vorgang.sla.jobs.escalate", 60))

Every job is due once at start, then again ``interval`` seconds after its last start
(a run that overran is followed by the next at once, never by a burst). Jobs run one
after another in this process; a job that raises is logged (type only, the traceback
at DEBUG: exception texts may hold citizen data) and runs again at its next time; it
never stops the loop or the other jobs. SIGTERM or SIGINT stops the loop after the job
that is running now; the process then exits 0.
"""

from __future__ import annotations

import logging
import signal
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import FrameType
from typing import Any

from django.db import close_old_connections
from django.utils.module_loading import import_string

log = logging.getLogger("vorgang.scheduler")

# (name, dotted path of a callable without arguments, interval in seconds)
JOBS: list[tuple[str, str, float]] = [
    ("inbound-recovery", "vorgang.core.scheduler.recover_inbound", 60),
    ("imap", "vorgang.channels.imap.poll_due_mailboxes", 15),
    ("portal-deadlines", "vorgang.portal.deadlines.run_due", 300),
    ("search-catch-up", "vorgang.channels.email.intake.index_missed", 60),
    ("confirmation-recovery", "vorgang.channels.email.confirmations.recover", 60),
]

# A journal entry left received/processing this long is taken as abandoned by a dead worker.
INBOUND_STALE_AFTER = 300


def recover_inbound() -> int:
    """Queue again the mail whose worker died while holding it (idempotent processing)."""
    from vorgang.channels import journal

    return journal.retry(None, failed=False, stale_after=INBOUND_STALE_AFTER)


@dataclass
class Job:
    name: str
    path: str
    interval: float
    due: float = 0.0  # monotonic time of the next run
    runs: int = 0
    failures: int = 0


def _count(result: Any) -> int:
    """How much a job did, for the log: its number, or how many things it returned.

    Never the result's text, which might name a mailbox user or a citizen.
    """
    if isinstance(result, bool):
        return int(result)
    if isinstance(result, int):
        return result
    try:
        return len(result)
    except TypeError:
        return 0


class Scheduler:
    """Runs ``jobs`` until :meth:`stop` (or SIGTERM/SIGINT when :meth:`run` installs them)."""

    def __init__(
        self,
        jobs: Sequence[tuple[str, str, float]] | None = None,
        *,
        tick: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        entries = list(JOBS if jobs is None else jobs)
        names = [name for name, _path, _interval in entries]
        if len(set(names)) != len(names):
            raise ValueError(f"job names must be unique: {names}")
        for name, _path, interval in entries:
            if interval <= 0:
                raise ValueError(f"job {name}: the interval must be positive")
        now = clock()
        self.jobs = [Job(name, path, float(interval), due=now) for name, path, interval in entries]
        self.tick = tick
        self.clock = clock
        # A plain flag: a signal handler must not take a lock.
        self._stopping = False

    def stop(self) -> None:
        self._stopping = True

    @property
    def stopping(self) -> bool:
        return self._stopping

    def run_job(self, job: Job) -> bool:
        """Run one job now; True if it succeeded. Never raises (but for KeyboardInterrupt)."""
        started = self.clock()
        job.due = started + job.interval
        job.runs += 1
        close_old_connections()
        try:
            result = import_string(job.path)()
        except Exception as exc:
            job.failures += 1
            log.error("job %s failed: %s", job.name, type(exc).__name__)
            log.debug("job %s failed", job.name, exc_info=True)
            return False
        finally:
            close_old_connections()
        took = self.clock() - started
        count = _count(result)
        if count:
            log.info("job %s: %s (%.2fs)", job.name, count, took)
        else:
            log.debug("job %s done (%.2fs)", job.name, took)
        return True

    def run_pending(self) -> list[str]:
        """Run every job that is due now, in list order; the names of those run."""
        ran = []
        for job in self.jobs:
            if self._stopping:
                break
            if self.clock() >= job.due:
                self.run_job(job)
                ran.append(job.name)
        return ran

    def run_once(self) -> int:
        """Run every job once, now; the number that failed."""
        return sum(not self.run_job(job) for job in self.jobs)

    def run(self, *, handle_signals: bool = True) -> int:
        """Loop until stopped; returns 0. Only the main thread may handle signals."""
        previous: dict[int, Any] = {}
        if handle_signals:
            for sig in (signal.SIGTERM, signal.SIGINT):
                previous[sig] = signal.signal(sig, self._on_signal)
        log.info(
            "scheduler started: %s",
            ", ".join(f"{job.name} every {job.interval:g}s" for job in self.jobs) or "no jobs",
        )
        try:
            while not self._stopping:
                self.run_pending()
                if not self._stopping:
                    self._sleep_until_due()
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
            close_old_connections()
        log.info("scheduler stopped")
        return 0

    def _sleep_until_due(self) -> None:
        next_due = min((job.due for job in self.jobs), default=self.clock() + self.tick)
        # Short naps, so a stop request is noticed within a tick.
        while not self._stopping:
            remaining = next_due - self.clock()
            if remaining <= 0:
                return
            time.sleep(min(remaining, self.tick))

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self._stopping = True
