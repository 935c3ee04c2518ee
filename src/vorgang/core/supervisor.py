"""A small process supervisor: runs child processes, restarts them, stops them together.

``vorgang serve`` runs the embedded product as a list of children (web server, task
worker; later the LMTP listener, the IMAP poller and the scheduler), each a separate
process so that every core does work. The supervisor

- starts each :class:`ChildSpec` as its own process (in its own process group, so a
  Ctrl+C in the terminal reaches only the supervisor, which then stops the children in
  order; on Linux a child also gets SIGTERM should the supervisor die without cleaning up),
- restarts a child that exits while it should be running, after a delay that starts at
  ``backoff_initial`` and doubles up to ``backoff_max``; a child that ran for
  ``stable_after`` seconds before it exited is restarted after the initial delay again,
- on SIGINT or SIGTERM sends SIGTERM to every child, waits up to ``stop_timeout``
  seconds, sends SIGKILL to those still running and returns 0. A second signal during
  that wait kills the rest at once.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import FrameType

log = logging.getLogger("vorgang.supervisor")

_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@dataclass(frozen=True)
class ChildSpec:
    """One supervised program: a name for the logs and the command line that runs it."""

    name: str
    argv: Sequence[str]
    env: Mapping[str, str] | None = None  # extra variables on top of the supervisor's own


@dataclass
class _Child:
    spec: ChildSpec
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    restart_at: float | None = None  # when a stopped child is due to start again
    delay: float = 0.0  # the wait before the next restart
    restarts: int = 0


def _parent_death_signal() -> Callable[[], None] | None:
    """On Linux: a pre-exec hook that has the child sent SIGTERM when the supervisor dies."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        prctl = libc.prctl
    except (OSError, AttributeError):
        return None
    supervisor_pid = os.getpid()
    pr_set_pdeathsig = 1

    def hook() -> None:
        prctl(pr_set_pdeathsig, int(signal.SIGTERM), 0, 0, 0)
        if os.getppid() != supervisor_pid:  # the supervisor died before prctl took effect
            os._exit(1)

    return hook


class Supervisor:
    """Runs ``specs`` until asked to stop; see the module docstring."""

    def __init__(
        self,
        specs: Sequence[ChildSpec],
        *,
        backoff_initial: float = 1.0,
        backoff_max: float = 30.0,
        stable_after: float = 60.0,
        stop_timeout: float = 10.0,
        poll_interval: float = 0.2,
    ) -> None:
        names = [spec.name for spec in specs]
        if len(set(names)) != len(names):
            raise ValueError(f"child names must be unique: {names}")
        self.children = [_Child(spec, delay=backoff_initial) for spec in specs]
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.stable_after = stable_after
        self.stop_timeout = stop_timeout
        self.poll_interval = poll_interval
        # Plain flags, not threading.Event: a signal handler must not take a lock.
        self._stopping = False
        self._kill_now = False
        self._preexec = _parent_death_signal()

    # --- public ------------------------------------------------------------------------

    def run(self) -> int:
        """Start the children, keep them running until a stop signal, stop them; return 0."""
        previous = {sig: signal.signal(sig, self._on_signal) for sig in _STOP_SIGNALS}
        try:
            for child in self.children:
                self._start(child)
            while not self._stopping:
                self._check_children()
                time.sleep(self.poll_interval)
            self._shutdown()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return 0

    def stop(self) -> None:
        """Ask the supervisor to stop its children and return from :meth:`run`."""
        self._stopping = True

    def pids(self) -> dict[str, int | None]:
        """The pid of each child that is running now, by name."""
        return {
            child.spec.name: child.process.pid
            if child.process is not None and child.process.poll() is None
            else None
            for child in self.children
        }

    # --- internals -----------------------------------------------------------------------

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if self._stopping:
            self._kill_now = True  # asked twice: do not wait for the children any longer
        self._stopping = True

    def _start(self, child: _Child) -> None:
        env = {**os.environ, **(child.spec.env or {})}
        child.restart_at = None
        child.started_at = time.monotonic()
        try:
            child.process = subprocess.Popen(  # noqa: S603 - our own argv, no shell
                list(child.spec.argv),
                env=env,
                process_group=0,
                preexec_fn=self._preexec,  # safe: the supervisor is single-threaded
            )
        except OSError as exc:
            child.process = None
            log.error("could not start %s: %s", child.spec.name, exc)
            self._schedule_restart(child, ran_for=0.0)
            return
        log.info("started %s (pid %s)", child.spec.name, child.process.pid)

    def _check_children(self) -> None:
        now = time.monotonic()
        for child in self.children:
            if child.process is not None:
                code = child.process.poll()
                if code is None:
                    continue
                ran_for = now - child.started_at
                pid = child.process.pid
                child.process = None
                _kill_group(pid)  # e.g. web workers left behind by a killed master
                log.warning(
                    "%s (pid %s) exited unexpectedly (%s) after %.1fs",
                    child.spec.name,
                    pid,
                    _describe_exit(code),
                    ran_for,
                )
                self._schedule_restart(child, ran_for)
            elif child.restart_at is not None and now >= child.restart_at:
                child.restarts += 1
                log.info("restarting %s (restart %d)", child.spec.name, child.restarts)
                self._start(child)

    def _schedule_restart(self, child: _Child, ran_for: float) -> None:
        if ran_for >= self.stable_after:
            child.delay = self.backoff_initial
        wait = child.delay
        child.delay = min(child.delay * 2, self.backoff_max)
        child.restart_at = time.monotonic() + wait
        log.info("restarting %s in %ss", child.spec.name, f"{wait:g}")

    def _running(self) -> list[_Child]:
        return [c for c in self.children if c.process is not None and c.process.poll() is None]

    def _shutdown(self) -> None:
        running = self._running()
        if running:
            log.info("stopping %s", ", ".join(c.spec.name for c in running))
        for child in running:
            _terminate(child)
        deadline = time.monotonic() + self.stop_timeout
        while self._running() and time.monotonic() < deadline and not self._kill_now:
            time.sleep(0.1)
        for child in self._running():
            log.warning("%s did not stop in time; killing it", child.spec.name)
        for child in self.children:
            if child.process is None:
                continue
            # Whatever is left of the child's process group goes now, the child included.
            _kill_group(child.process.pid)
            try:
                child.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                log.error("%s (pid %s) is still running", child.spec.name, child.process.pid)
        log.info("stopped")


def _terminate(child: _Child) -> None:
    """Ask the child to stop; it stops its own helpers (e.g. gunicorn's workers)."""
    if child.process is not None:
        with contextlib.suppress(ProcessLookupError):
            child.process.send_signal(signal.SIGTERM)


def _kill_group(pgid: int) -> None:
    """SIGKILL every process left in a child's process group."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def _describe_exit(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"
