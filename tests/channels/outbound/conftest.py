"""A real SMTP server (aiosmtpd) that answers each delivery attempt from a script.

``smtp.script = ["rcpt:451 4.3.0 try later", "data:451 4.3.0 busy", "ok"]`` makes the
first attempt fail at RCPT, the second at DATA, and accepts the third; attempts
past the script are accepted. ``smtp.refuse`` holds addresses refused with 550
at RCPT on every attempt. Accepted mail is kept in ``smtp.received``.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from tests.factories import AgentFactory, CitizenFactory, DepartmentFactory
from vorgang.tickets import services
from vorgang.tickets.models import Article, Ticket

DB_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        parsed = BytesParser(policy=policy.default).parsebytes(self.data)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class ScriptedHandler:
    script: list[str] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)
    received: list[Received] = field(default_factory=list)
    attempts: int = 0
    _now: str = "ok"

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        self.attempts += 1
        self._now = self.script.pop(0) if self.script else "ok"
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if address.lower() in self.refuse:
            return f"550 5.1.1 <{address}>: mailbox unavailable"
        if self._now.startswith("rcpt:"):
            return self._now.removeprefix("rcpt:")
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self._now.startswith("data:"):
            return self._now.removeprefix("data:")
        self.received.append(
            Received(envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.original_content))
        )
        return "250 OK: queued"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp(settings: Any) -> Iterator[ScriptedHandler]:
    """The relay the delivery task talks to, on a free port of this machine."""
    handler = ScriptedHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port(), ready_timeout=10)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    settings.EMAIL_TIMEOUT = 10
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.TASKS = DB_TASKS  # the backend of the product: it can run a task later
    try:
        yield handler
    finally:
        controller.stop()


@pytest.fixture
def closed_port(settings: Any) -> int:
    """A relay that is down: nothing listens on the port."""
    port = free_port()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", port, 5
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.TASKS = DB_TASKS
    return port


@dataclass
class Case:
    ticket: Ticket
    citizen_mail: Article
    agent: Any


@pytest.fixture
def case(db: Any) -> Case:
    """A case opened by a citizen's e-mail to the Bürgerbüro, and an agent of it."""
    department = DepartmentFactory(
        name="Bürgerbüro Mitte",
        email_address="buergerbuero@stadt.example",
        signature="Ihr Bürgerbüro Mitte\nTelefon 030 1234-0",
    )
    citizen = CitizenFactory(
        tenant=department.tenant,
        email="erika@example.org",
        first_name="Erika",
        last_name="Mustermann",
    )
    ticket = services.create_ticket(
        None,
        department=department,
        title="Termin für den Personalausweis",
        citizen=citizen,
        article=services.ArticleInput(
            body="Guten Tag,\nwann kann ich kommen?\n\nErika",
            kind="email",
            sender="citizen",
            subject="Termin für den Personalausweis",
            from_addr="Erika Mustermann <erika@example.org>",
            to="buergerbuero@stadt.example",
            message_id="<erika-1@example.org>",
        ),
    )
    agent = AgentFactory(
        tenant=department.tenant,
        departments={department: ["full"]},
        first_name="Anna",
        last_name="Agentin",
    )
    return Case(ticket, ticket.articles.get(), agent)
