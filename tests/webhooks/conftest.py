"""Fixtures of the webhook tests: a real HTTP receiver on loopback, webhooks, English.

The receiver is ``http.server`` in a thread on 127.0.0.1 with a free port. It
records every request (path, headers, raw body) and can be told to answer the
next N requests with an error, to answer with a given status and headers, or to
hang until the test releases it. ``down_url`` is a port nothing listens on.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.utils import translation

from tests.factories import DepartmentFactory
from vorgang.accounts.models import Department
from vorgang.webhooks.models import Webhook

SECRET = "test-secret-0123456789abcdef"


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    url: str = ""
    requests: list[Received] = field(default_factory=list)
    fail_next: int = 0  # answer this many requests with fail_status
    fail_status: int = 500
    status: int = 200  # the answer otherwise
    reply_headers: dict[str, str] = field(default_factory=dict)
    hang: bool = False  # hold every request until `release` is set
    release: threading.Event = field(default_factory=threading.Event)
    arrived: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, received: Received) -> tuple[int, dict[str, str]]:
        with self.lock:
            self.requests.append(received)
            self.arrived.set()
            if self.fail_next > 0:
                self.fail_next -= 1
                return self.fail_status, dict(self.reply_headers)
            return self.status, dict(self.reply_headers)


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            received = Received(self.path, {k: v for k, v in self.headers.items()}, body)
            if receiver.hang:
                receiver.arrived.set()
                receiver.release.wait(30)
            status, headers = receiver.answer(received)
            try:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")
            except OSError:
                pass  # the client gave up waiting (timeout test)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/vorgang"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    state.release.set()
    server.shutdown()
    server.server_close()
    thread.join(5)


@pytest.fixture
def down_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/hooks"


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    with translation.override("en"):
        yield


@pytest.fixture
def department(tenant: Any) -> Department:
    department: Department = DepartmentFactory(name="Führerscheinstelle", tenant=tenant)
    return department


def make_webhook(url: str, events: list[str], **kwargs: Any) -> Webhook:
    from vorgang.accounts.models import Tenant

    departments = kwargs.pop("departments", [])
    services = kwargs.pop("services", [])
    tenant = kwargs.pop("tenant", None) or Tenant.default()
    webhook = Webhook.objects.create(
        tenant=tenant,
        name=kwargs.pop("name", "Fachverfahren"),
        url=url,
        secret=kwargs.pop("secret", SECRET),
        events=events,
        **kwargs,
    )
    webhook.departments.set(departments)
    webhook.services.set(services)
    return webhook
