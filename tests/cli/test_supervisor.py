"""The process supervisor on its own, with short timings (each run in a subprocess,
because it installs signal handlers)."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .helpers import alive, children, wait_for

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="reads the process tree from /proc"
)

SCRIPT = """
import logging, sys
from vorgang.core.supervisor import ChildSpec, Supervisor
logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(message)s")
py = sys.executable
specs = [ChildSpec(name, [py, "-c", code]) for name, code in {children!r}]
sys.exit(Supervisor(specs, backoff_initial=0.1, backoff_max=0.4, stable_after={stable},
                    stop_timeout=1.0, poll_interval=0.02).run())
"""
SLEEPER = "import time; time.sleep(600)"
CRASHER = "import sys; sys.exit(3)"
STUBBORN = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)"


def start(
    tmp_path: Path, children: list[tuple[str, str]], stable: float = 60
) -> tuple[subprocess.Popen[bytes], Path]:
    log = tmp_path / "supervisor.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-c", SCRIPT.format(children=children, stable=stable)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return process, log


def delays(log: Path, name: str) -> list[str]:
    return re.findall(rf"restarting {name} in (\S+)s", log.read_text())


def test_restarts_with_growing_delays_and_stops_cleanly(tmp_path: Path) -> None:
    process, log = start(tmp_path, [("crash", CRASHER), ("sleep", SLEEPER)])
    try:
        wait_for(lambda: len(delays(log, "crash")) >= 5, 15, "five restarts")
        sleeper = wait_for(lambda: children(process.pid), 5, "the children")
    finally:
        process.send_signal(signal.SIGINT)
        code = process.wait(timeout=10)

    assert code == 0
    assert delays(log, "crash")[:5] == ["0.1", "0.2", "0.4", "0.4", "0.4"]
    assert "crash (pid" in log.read_text() and "exit code 3" in log.read_text()
    assert delays(log, "sleep") == []
    assert not any(alive(pid) for pid in sleeper)


def test_a_child_that_ran_stably_restarts_after_the_first_delay(tmp_path: Path) -> None:
    flaky = "import time, sys; time.sleep(0.3); sys.exit(1)"
    process, log = start(tmp_path, [("flaky", flaky)], stable=0.2)
    try:
        wait_for(lambda: len(delays(log, "flaky")) >= 3, 15, "three restarts")
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    assert set(delays(log, "flaky")) == {"0.1"}


def test_a_child_that_ignores_sigterm_is_killed(tmp_path: Path) -> None:
    process, log = start(tmp_path, [("stubborn", STUBBORN)])
    stubborn = wait_for(lambda: children(process.pid), 10, "the child")
    time.sleep(0.5)  # let it ignore SIGTERM

    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=10) == 0

    assert 0.9 < time.monotonic() - started < 5
    assert "stubborn did not stop in time" in log.read_text()
    assert not any(alive(pid) for pid in stubborn)


def test_children_go_when_the_supervisor_is_killed(tmp_path: Path) -> None:
    process, _log = start(tmp_path, [("sleep", SLEEPER)])
    sleeper = wait_for(lambda: children(process.pid), 10, "the child")
    time.sleep(0.2)

    process.kill()
    process.wait(timeout=5)

    wait_for(lambda: not any(alive(pid) for pid in sleeper), 5, "the orphan to stop")
