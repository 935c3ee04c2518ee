"""``vorgang serve``: a real run with web server and worker as supervised children."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from .helpers import (
    alive,
    child_running,
    children,
    cmdline,
    descendants,
    free_port,
    run_vorgang,
    vorgang_argv,
    wait_for,
)

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="reads the process tree from /proc"
)


def status_of(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - local test URL
            status: int = response.status
            return status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return None


@pytest.fixture
def serve(
    migrated_env: dict[str, str], tmp_path: Path
) -> Iterator[tuple[subprocess.Popen[bytes], int, Path]]:
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            # A free port for the mail listener too: 8024 may be taken on this machine.
            vorgang_argv("serve", "--port", str(port), "--lmtp-port", str(free_port())),
            env=migrated_env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        yield process, port, log
    finally:
        if process.poll() is None:  # the test failed half-way: leave nothing running
            for pid in descendants(process.pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            process.kill()
            process.wait(timeout=10)


def test_serve_supervises_web_and_worker(
    serve: tuple[subprocess.Popen[bytes], int, Path], migrated_env: dict[str, str]
) -> None:
    process, port, log = serve
    url = f"http://127.0.0.1:{port}/login/"

    def answered() -> int | None:
        assert process.poll() is None, log.read_text()
        return status_of(url)

    assert wait_for(answered, 60, f"an answer from {url}") == 200, log.read_text()
    assert f"Vorgang läuft auf http://127.0.0.1:{port}/ (Strg+C beendet)" in log.read_text()

    web = wait_for(lambda: child_running(process.pid, "web"), 10, "the web child")
    worker = wait_for(lambda: child_running(process.pid, "worker"), 10, "the worker child")
    assert len(descendants(web)) == 2  # gunicorn's two worker processes

    # The worker runs tasks: one is queued from another process and comes back done.
    code = (
        "import time\n"
        "from vorgang.tickets.tasks import deliver_article\n"
        "result = deliver_article.enqueue(0)\n"
        "deadline = time.monotonic() + 30\n"
        "while not result.is_finished and time.monotonic() < deadline:\n"
        "    time.sleep(0.2)\n"
        "    result.refresh()\n"
        "print(result.status, result.return_value if result.is_finished else '')\n"
    )
    ran = run_vorgang(migrated_env, "shell", "-c", code, timeout=60)
    assert ran.stdout.splitlines()[-1:] == ["SUCCESSFUL skipped"], ran.stderr + log.read_text()

    # A worker that dies is started again (on PostgreSQL serve runs two: the other one
    # keeps running and is not taken for the new one).
    def workers() -> set[int]:
        return {kid for kid in children(process.pid) if "vorgang.cli worker" in cmdline(kid)}

    before = workers()
    os.kill(worker, signal.SIGKILL)
    restarted = wait_for(lambda: workers() - before, 15, "a new worker")
    assert worker not in restarted
    assert "restarting worker" in log.read_text()

    # SIGTERM stops everything and exits 0.
    everything = [*descendants(process.pid)]
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=15) == 0, log.read_text()
    wait_for(lambda: not any(alive(pid) for pid in everything), 5, "all children to be gone")
    assert "stopped" in log.read_text()


def test_serve_refuses_pending_migrations(cli_env: dict[str, str]) -> None:
    result = run_vorgang(cli_env, "serve", "--port", str(free_port()), timeout=60)

    assert result.returncode == 1
    assert "migration(s) pending" in result.stderr
    assert "vorgang migrate" in result.stderr
    assert "läuft" not in result.stdout


def test_serve_refuses_a_taken_port(migrated_env: dict[str, str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        result = run_vorgang(migrated_env, "serve", "--port", str(port), timeout=60)

    assert result.returncode == 1
    assert f"Cannot listen on 127.0.0.1:{port}" in result.stderr


def test_port_from_the_environment(migrated_env: dict[str, str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        result = run_vorgang({**migrated_env, "VORGANG_PORT": str(port)}, "serve", timeout=60)

    assert f"Cannot listen on 127.0.0.1:{port}" in result.stderr
