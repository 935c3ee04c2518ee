"""The scheduler: jobs run on time, a failing job stops nothing, SIGTERM stops the loop."""

from __future__ import annotations

import logging
import signal
import subprocess
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from tests.cli.helpers import run_vorgang, vorgang_argv, wait_for
from vorgang.core import scheduler
from vorgang.core.scheduler import Scheduler

from . import jobs

HERE = "tests.channels.listener.jobs"

# Each job run checks the database connections (as a request does): database access on.
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_counts() -> Iterator[None]:
    jobs.calls.clear()
    yield
    jobs.calls.clear()


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_jobs_run_at_start_and_then_every_interval() -> None:
    clock = FakeClock()
    runner = Scheduler([("tick", f"{HERE}.tick", 10), ("tock", f"{HERE}.tock", 30)], clock=clock)

    assert runner.run_pending() == ["tick", "tock"]  # all due at start
    assert runner.run_pending() == []
    clock.now += 10
    assert runner.run_pending() == ["tick"]
    clock.now += 20
    assert runner.run_pending() == ["tick", "tock"]
    clock.now += 95  # asleep for long: each job runs once, not once per missed interval
    assert runner.run_pending() == ["tick", "tock"]
    assert jobs.calls == {"tick": 4, "tock": 3}


def test_a_failing_job_does_not_stop_the_others(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    runner = Scheduler([("broken", f"{HERE}.broken", 5), ("tick", f"{HERE}.tick", 5)], clock=clock)
    with caplog.at_level(logging.INFO, logger="vorgang.scheduler"):
        for _ in range(3):
            assert runner.run_pending() == ["broken", "tick"]
            clock.now += 5
    assert jobs.calls == {"broken": 3, "tick": 3}
    assert [job.failures for job in runner.jobs] == [3, 0]
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert errors == ["job broken failed: RuntimeError"] * 3
    assert "always fails" not in caplog.text  # the text stays out of the log


def test_a_job_that_cannot_be_imported_is_logged_and_retried(
    caplog: pytest.LogCaptureFixture,
) -> None:
    runner = Scheduler([("missing", f"{HERE}.no_such_job", 1), ("tick", f"{HERE}.tick", 1)])
    with caplog.at_level(logging.ERROR, logger="vorgang.scheduler"):
        assert runner.run_once() == 1
    assert "job missing failed: ImportError" in caplog.text
    assert jobs.calls == {"tick": 1}


def test_the_loop_runs_jobs_until_stopped() -> None:
    runner = Scheduler(
        [("tick", f"{HERE}.tick", 0.05), ("broken", f"{HERE}.broken", 0.05)], tick=0.01
    )
    thread = threading.Thread(target=runner.run, kwargs={"handle_signals": False}, daemon=True)
    thread.start()
    wait_for(lambda: jobs.calls.get("tick", 0) >= 3, 10, "three runs of the job")
    runner.stop()
    thread.join(timeout=5)
    assert not thread.is_alive()
    assert jobs.calls["broken"] >= 2  # failed each time, and ran again


def test_bad_job_lists_are_refused() -> None:
    with pytest.raises(ValueError, match="unique"):
        Scheduler([("a", f"{HERE}.tick", 1), ("a", f"{HERE}.tock", 1)])
    with pytest.raises(ValueError, match="positive"):
        Scheduler([("a", f"{HERE}.tick", 0)])


def test_the_registered_jobs() -> None:
    assert [(name, interval) for name, _path, interval in scheduler.JOBS][:2] == [
        ("inbound-recovery", 60),
        ("imap", 15),
    ]


def test_inbound_recovery_requeues_only_stale_entries() -> None:
    from django_tasks_db.models import DBTaskResult

    from vorgang.channels import journal
    from vorgang.channels.models import InboundMessage, InboundStatus
    from vorgang.core import clock

    from .conftest import message

    stale = journal.accept(message(), channel="lmtp")
    fresh = journal.accept(message(), channel="lmtp")
    failed = journal.accept(message(), channel="lmtp")
    InboundMessage.objects.filter(pk=stale.pk).update(
        status=InboundStatus.PROCESSING, started_at=clock.now() - timedelta(minutes=6)
    )
    InboundMessage.objects.filter(pk=failed.pk).update(status=InboundStatus.FAILED)

    assert scheduler.recover_inbound() == 1
    assert [t.args_kwargs["args"] for t in DBTaskResult.objects.all()] == [[stale.pk]]
    assert fresh.pk != stale.pk


def test_every_job_names_a_callable() -> None:
    from django.utils.module_loading import import_string

    for _name, path, interval in scheduler.JOBS:
        assert callable(import_string(path))
        assert interval > 0


def test_scheduler_command_stops_cleanly_on_sigterm(
    migrated_env: dict[str, str], tmp_path: Path
) -> None:
    # A message whose worker died long ago: the recovery job must queue it again.
    code = (
        "from datetime import timedelta\n"
        "from vorgang.channels import journal\n"
        "from vorgang.channels.models import InboundMessage\n"
        "from vorgang.core import clock\n"
        "e = journal.accept(b'Subject: x\\r\\n\\r\\ny\\r\\n', channel='pipe')\n"
        "InboundMessage.objects.filter(pk=e.pk).update(status='processing',"
        " started_at=clock.now() - timedelta(hours=1))\n"
        "print(e.pk)\n"
    )
    made = run_vorgang(migrated_env, "shell", "-c", code, timeout=60)
    assert made.returncode == 0, made.stderr

    log = tmp_path / "scheduler.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            vorgang_argv("scheduler"), env=migrated_env, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        wait_for(lambda: "job inbound-recovery: 1" in log.read_text(), 60, "the recovery job's run")
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0, log.read_text()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
    text = log.read_text()
    assert "scheduler started: inbound-recovery every 60s, imap every 15s" in text
    assert "scheduler stopped" in text
    assert "Traceback" not in text

    once = run_vorgang(migrated_env, "scheduler", "--once", "--job", "inbound-recovery")
    assert once.returncode == 0, once.stderr
    unknown = run_vorgang(migrated_env, "scheduler", "--job", "nope")
    assert unknown.returncode == 1
    assert "Unknown job(s): nope" in unknown.stderr
