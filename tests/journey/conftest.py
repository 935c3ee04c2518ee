"""The journey's world: the demo services, an agent, and a real SMTP server for the mail.

Outgoing mail goes through Django's SMTP backend to an ``aiosmtpd`` server on a free
port of this machine; the test reads what it received. Tasks run with the immediate
backend, so the delivery task hands each mail to the SMTP server right after the
request that wrote it has committed (in the live server's thread).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from vorgang.accounts import services as accounts
from vorgang.accounts.models import Role, Tenant, User

LOCALE_DIR = Path(__file__).resolve().parents[2] / "src" / "vorgang" / "locale"
PASSWORD = "ein-langes-passwort-42"
CITIZEN_EMAIL = "max.mustermann@example.org"


@dataclass
class Mailbox:
    """What the SMTP server accepted, parsed."""

    messages: list[EmailMessage] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = BytesParser(policy=policy.default).parsebytes(bytes(envelope.original_content))
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        return "250 OK: queued"

    def wait_for(
        self, to: str, subject_part: str, *, seen: int = 0, timeout: float = 30
    ) -> EmailMessage:
        """The first message to ``to`` whose subject contains ``subject_part``, after the
        first ``seen`` messages; waits for it (delivery runs in the server's thread)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in self.messages[seen:]:
                if to in str(message["To"]) and subject_part in str(message["Subject"]):
                    return message
            time.sleep(0.1)
        got = [(str(m["To"]), str(m["Subject"])) for m in self.messages]
        raise AssertionError(f"no mail to {to} about {subject_part!r}; received: {got}")


def text_of(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    return str(body.get_content())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp(settings: Any) -> Iterator[Mailbox]:
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=_free_port(), ready_timeout=10)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    settings.EMAIL_TIMEOUT = 10
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    try:
        yield mailbox
    finally:
        controller.stop()


@pytest.fixture(scope="session")
def compiled_locale(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The committed .po files compiled (what `make install` builds)."""
    msgfmt = shutil.which("msgfmt")
    if msgfmt is None:
        pytest.fail("msgfmt (GNU gettext) is needed: apt-get install gettext")
    target = tmp_path_factory.mktemp("locale")
    for po in LOCALE_DIR.glob("*/LC_MESSAGES/*.po"):
        mo = target / po.relative_to(LOCALE_DIR).with_suffix(".mo")
        mo.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([msgfmt, "--check-format", "-o", str(mo), str(po)], check=True)
    return target


@pytest.fixture(autouse=True)
def _journey_settings(settings: Any, compiled_locale: Path, tmp_path: Path) -> None:
    settings.LOCALE_PATHS = [compiled_locale]
    settings.MEDIA_ROOT = tmp_path / "files"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    settings.LANGUAGE_CODE = "de"
    # A warm browser fills a form faster than a person; the minimum age has its own tests.
    settings.VORGANG_FORM_MIN_SECONDS = 0


@dataclass
class Office:
    tenant: Tenant
    agent: User


@pytest.fixture
def office(db: Any) -> Office:
    """The demo services in their departments, and Anna, an agent of the licence office."""
    from vorgang.catalogue import demo

    tenant = Tenant.default()
    tenant.imprint = "Stadt Musterstadt, Rathausplatz 1, 12345 Musterstadt"
    tenant.accessibility_statement = (
        "Wir arbeiten daran, dass alle unsere Seiten barrierefrei sind."
    )
    tenant.feedback_contact = "barrierefrei@stadt.example"
    tenant.save()
    names = {
        "fuehrerschein@stadt.example": "Führerscheinstelle",
        "standesamt@stadt.example": "Standesamt",
        "buergerbuero@stadt.example": "Bürgerbüro",
    }
    for address, name in names.items():
        accounts.create_department(name, address=address)
    demo.load(tenant)
    agent = accounts.create_user(
        "anna",
        email="anna@stadt.example",
        role=Role.AGENT,
        password=PASSWORD,
        first_name="Anna",
        last_name="Agentin",
        tenant=tenant,
    )
    accounts.grant_access(
        tenant.departments.get(email_address="fuehrerschein@stadt.example"), "anna", "full"
    )
    return Office(tenant, agent)
