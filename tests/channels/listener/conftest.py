"""Fixtures for the mail intake tests: a department, a listener in this process, mail.

The listener runs in a thread of the test process (aiosmtpd's controller) and talks to
the test database from its own database thread, so these tests use transactional
database access (``django_db(transaction=True)``): what the listener commits is what
the test reads. The states and priorities come back after each flush (post_migrate,
tickets/defaults.py). Tests that run ``vorgang`` in a subprocess use the fixtures of
tests/cli (their own data dir, and on PostgreSQL their own scratch database).
"""

from __future__ import annotations

import smtplib
from collections.abc import Callable, Iterator
from email.utils import make_msgid

import pytest

from tests.cli.conftest import cli_env, migrated_env
from tests.cli.helpers import free_port
from tests.factories import DepartmentFactory
from vorgang.accounts.models import Department
from vorgang.channels.email.listener import IntakeController

__all__ = ["cli_env", "migrated_env"]

ADDRESS = "buergerbuero@stadt.example"
OTHER_ADDRESS = "standesamt@stadt.example"


def message(
    subject: str = "Frage zur Anmeldung",
    to: str = ADDRESS,
    sender: str = "Erika Mustermann <erika@example.org>",
    message_id: str | None = None,
    body: str = "Guten Tag,\r\nwann kann ich vorbeikommen?\r\n",
    extra: str = "",
    charset: str = "utf-8",
) -> bytes:
    """A small plain-text message with CRLF line ends (as it arrives over SMTP)."""
    headers = (
        f"From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\n"
        f"Message-ID: {message_id or make_msgid(domain='example.org')}\r\n"
        f"Date: Sat, 28 Nov 2026 10:00:00 +0100\r\n{extra}"
        f"MIME-Version: 1.0\r\nContent-Type: text/plain; charset={charset}\r\n"
        "Content-Transfer-Encoding: 8bit\r\n\r\n"
    )
    return headers.encode() + body.encode(charset)


@pytest.fixture
def live_db(transactional_db: None) -> None:
    """Committed database access (see the module doc)."""


@pytest.fixture
def department(live_db: None) -> Department:
    department: Department = DepartmentFactory(name="Bürgerbüro", email_address=ADDRESS)
    return department


@pytest.fixture
def other_department(live_db: None) -> Department:
    department: Department = DepartmentFactory(name="Standesamt", email_address=OTHER_ADDRESS)
    return department


@pytest.fixture
def start_listener(live_db: None) -> Iterator[Callable[..., IntakeController]]:
    """``start_listener(lmtp=True)``: a running listener on a free port; stopped afterwards."""
    started: list[IntakeController] = []

    def start(lmtp: bool = True) -> IntakeController:
        controller = IntakeController("127.0.0.1", free_port(), lmtp=lmtp, ready_timeout=10)
        controller.start()
        started.append(controller)
        return controller

    yield start
    for controller in started:
        controller.stop()


def connect(controller: IntakeController) -> smtplib.SMTP:
    """A client that has greeted the listener (LHLO or EHLO); settings apply per session."""
    kind = smtplib.LMTP if controller.lmtp else smtplib.SMTP
    client = kind(controller.hostname, controller.port, timeout=30)
    client.ehlo_or_helo_if_needed()
    return client


def close(client: smtplib.SMTP) -> None:
    try:
        client.quit()
    except (smtplib.SMTPException, OSError):
        client.close()


@pytest.fixture
def lmtp(start_listener: Callable[..., IntakeController]) -> Iterator[smtplib.SMTP]:
    """An LMTP client connected to a fresh listener."""
    client = connect(start_listener(lmtp=True))
    yield client
    close(client)


@pytest.fixture
def smtp(start_listener: Callable[..., IntakeController]) -> Iterator[smtplib.SMTP]:
    """An SMTP client connected to a fresh listener that speaks SMTP."""
    client = connect(start_listener(lmtp=False))
    yield client
    close(client)


@pytest.fixture
def broken_storage(settings: object, tmp_path: object) -> None:
    """File storage that really cannot write: MEDIA_ROOT lies below a regular file.

    (chmod would not stop root; a path through a file fails for everyone.)
    """
    from pathlib import Path

    blocker = Path(str(tmp_path)) / "not-a-directory"
    blocker.write_text("")
    settings.MEDIA_ROOT = blocker / "files"  # type: ignore[attr-defined]


@pytest.fixture
def full_storage(settings: object, tmp_path: object) -> Iterator[object]:
    """File storage on a tiny file system that is full (a real ENOSPC).

    Mounts a 64 KiB tmpfs, which needs root; skipped with the reason otherwise.
    Yields the filler file: delete it to make room again.
    """
    import os
    import subprocess
    from pathlib import Path

    if os.geteuid() != 0:
        pytest.skip("needs root to mount a small tmpfs (a file system that can be full)")
    mount_point = Path(str(tmp_path)) / "small-disk"
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        filler = mount_point / "filler"
        with filler.open("wb", buffering=0) as fh:
            try:
                while True:
                    fh.write(b"\0" * 4096)
            except OSError:
                pass
        settings.MEDIA_ROOT = mount_point / "files"  # type: ignore[attr-defined]
        yield filler
    finally:
        subprocess.run(["umount", str(mount_point)], check=False)
