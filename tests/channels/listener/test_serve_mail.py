"""``vorgang serve`` with its mail children: the LMTP listener and the scheduler."""

from __future__ import annotations

import contextlib
import os
import signal
import smtplib
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.helpers import (
    alive,
    child_running,
    descendants,
    free_port,
    run_vorgang,
    vorgang_argv,
    wait_for,
)

from .conftest import ADDRESS, message

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="reads the process tree from /proc"
)


@contextlib.contextmanager
def serving(env: dict[str, str], log: Path, *args: str) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        process = subprocess.Popen(
            vorgang_argv("serve", *args), env=env, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        yield process
    finally:
        if process.poll() is None:  # the test failed half-way: leave nothing running
            for pid in descendants(process.pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            process.kill()
            process.wait(timeout=10)


def accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def mail_status(env: dict[str, str]) -> list[list[str]]:
    listed = run_vorgang(env, "mail", "list", timeout=60)
    assert listed.returncode == 0, listed.stderr
    return [row.split() for row in listed.stdout.splitlines()[1:]]


def test_serve_takes_mail_by_lmtp_and_the_worker_makes_a_case(
    migrated_env: dict[str, str], tmp_path: Path
) -> None:
    created = run_vorgang(
        migrated_env, "department", "create", "Bürgerbüro", "--address", ADDRESS, timeout=60
    )
    assert created.returncode == 0, created.stderr
    port, lmtp_port = free_port(), free_port()
    log = tmp_path / "serve.log"

    with serving(migrated_env, log, "--port", str(port), "--lmtp-port", str(lmtp_port)) as serve:

        def listening() -> bool:
            assert serve.poll() is None, log.read_text()
            return accepts(lmtp_port)

        wait_for(listening, 60, "the LMTP listener")
        text = log.read_text()
        assert f"E-Mail-Eingang (LMTP) auf 127.0.0.1:{lmtp_port}" in text
        assert f"Incoming mail (LMTP) at 127.0.0.1:{lmtp_port}" in text
        lmtp = wait_for(lambda: child_running(serve.pid, "lmtp"), 10, "the lmtp child")
        wait_for(lambda: child_running(serve.pid, "scheduler"), 10, "the scheduler child")

        client = smtplib.LMTP("127.0.0.1", lmtp_port, timeout=30)
        assert client.sendmail("erika@example.org", [ADDRESS], message()) == {}
        client.quit()

        def processed() -> list[str] | None:
            rows = mail_status(migrated_env)
            return rows[0] if rows and rows[0][4] == "processed" else None

        row = wait_for(processed, 60, "the message to be processed", interval=0.5)
        assert row[3:6] == ["lmtp", "processed", "Bürgerbüro"]

        # A listener that dies is started again and takes mail again.
        os.kill(lmtp, signal.SIGKILL)
        wait_for(
            lambda: (
                (pid := child_running(serve.pid, "lmtp")) and pid != lmtp and accepts(lmtp_port)
            ),
            30,
            "a new listener",
        )
        assert "restarting lmtp" in log.read_text()

        everything = descendants(serve.pid)
        serve.send_signal(signal.SIGTERM)
        assert serve.wait(timeout=20) == 0, log.read_text()
        wait_for(lambda: not any(alive(pid) for pid in everything), 5, "all children to be gone")
    assert "Traceback" not in log.read_text()


def test_serve_without_lmtp(migrated_env: dict[str, str], tmp_path: Path) -> None:
    log = tmp_path / "serve.log"
    with serving(migrated_env, log, "--port", str(free_port()), "--no-lmtp") as serve:
        wait_for(lambda: child_running(serve.pid, "scheduler"), 60, "the scheduler child")
        wait_for(lambda: child_running(serve.pid, "worker"), 10, "the worker child")
        assert child_running(serve.pid, "lmtp") is None
        serve.send_signal(signal.SIGTERM)
        assert serve.wait(timeout=20) == 0, log.read_text()
    assert "LMTP" not in log.read_text()


def test_serve_refuses_a_taken_lmtp_port(migrated_env: dict[str, str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        lmtp_port = taken.getsockname()[1]

        result = run_vorgang(
            {**migrated_env, "VORGANG_LMTP_PORT": str(lmtp_port)},
            "serve",
            "--port",
            str(free_port()),
            timeout=60,
        )

    assert result.returncode == 1
    assert f"Cannot listen on 127.0.0.1:{lmtp_port}" in result.stderr
    assert "--lmtp-port" in result.stderr


def test_lmtp_command_with_the_database_down_answers_451(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    env = {**cli_env, "DATABASE_URL": f"postgresql://vorgang@127.0.0.1:{free_port()}/vorgang"}
    port = free_port()
    log = tmp_path / "lmtp.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            vorgang_argv("lmtp", "--port", str(port)), env=env, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        wait_for(lambda: accepts(port), 60, "the listener")
        client = smtplib.LMTP("127.0.0.1", port, timeout=30)
        client.ehlo_or_helo_if_needed()
        client.mail("erika@example.org")
        code, reply = client.rcpt(ADDRESS)
        assert (code, reply) == (451, b"4.3.0 Temporary failure, please try again later")
        client.quit()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0, log.read_text()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
    text = log.read_text()
    assert "the database is not reachable now (OperationalError)" in text
    assert f"LMTP listener on 127.0.0.1:{port}" in text
    assert "recipient check failed: OperationalError" in text
    assert ADDRESS not in text and "erika" not in text  # no addresses in the log


def test_lmtp_command_speaks_smtp_too(migrated_env: dict[str, str], tmp_path: Path) -> None:
    created = run_vorgang(
        migrated_env, "department", "create", "Bürgerbüro", "--address", ADDRESS, timeout=60
    )
    assert created.returncode == 0, created.stderr
    port = free_port()
    log = tmp_path / "smtp.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            vorgang_argv("lmtp", "--smtp", "--port", str(port)),
            env=migrated_env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for(lambda: accepts(port), 60, "the listener")
        client = smtplib.SMTP("127.0.0.1", port, timeout=30)
        assert client.sendmail("erika@example.org", [ADDRESS], message()) == {}
        client.quit()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0, log.read_text()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
    assert f"SMTP listener on 127.0.0.1:{port}" in log.read_text()
    assert mail_status(migrated_env)[0][3:5] == ["smtp", "received"]
