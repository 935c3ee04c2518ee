"""The local outbox of the embedded default, readable by admins in the desk."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from django.core.mail import EmailMessage
from django.test import Client
from django.urls import reverse

from tests.factories import AdminFactory, AgentFactory, DepartmentFactory, TenantFactory
from vorgang.channels.email import outbound
from vorgang.desk.views.outbox import SEPARATOR, split_messages
from vorgang.tickets.tasks import deliver_article

from .conftest import Case

pytestmark = pytest.mark.django_db


@pytest.fixture
def outbox(settings: Any, tmp_path: Path) -> Path:
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = str(tmp_path / "outbox")
    return tmp_path / "outbox"


def age(outbox: Path) -> None:
    """Make the files written so far older, so that "newest first" does not depend on
    the file system's timestamp resolution."""
    for path in outbox.iterdir():
        stat = path.stat()
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns - 10**10))


def write(sender: str, subject: str, body: str = "Text") -> None:
    EmailMessage(subject, body, sender, ["someone@example.org"]).send()


@pytest.fixture
def mails(outbox: Path, case: Case) -> Case:
    """A confirmation sent through the delivery task, two more mails of this tenant, and
    one of another tenant's department, all written by Django's file backend."""
    article = outbound.queue_confirmation(case.ticket, case.citizen_mail, allowed=True)
    assert article is not None
    assert deliver_article.call(article.pk) == "sent"
    age(outbox)
    write(
        "buergerbuero@stadt.example",
        "Dashes and markup",
        "Oben\n" + "-" * 79 + "\nContent: not a header\n<script>alert(1)</script>\n",
    )
    write("noreply@elsewhere.example", "Not from a department")
    other_tenant = TenantFactory()
    other = DepartmentFactory(tenant=other_tenant, email_address="amt@nachbarstadt.example")
    write(other.email_address, "Geheim: Nachbarstadt")
    return case


def test_admin_sees_the_mail_of_own_departments_newest_first(client: Client, mails: Case) -> None:
    client.force_login(AdminFactory())
    response = client.get(reverse("desk:outbox"))
    assert response.status_code == 200
    html = response.content.decode()
    number = mails.ticket.number
    confirmation = f"[Vorgang#{number}] Ihre Nachricht ist eingegangen"
    assert confirmation in html
    assert "Dashes and markup" in html
    assert html.index("Dashes and markup") < html.index(confirmation)  # newest first
    assert "Nachbarstadt" not in html
    assert "Not from a department" not in html
    assert response.context["paginator"].count == 2


def test_detail_shows_headers_and_the_text_escaped(client: Client, mails: Case) -> None:
    client.force_login(AdminFactory())
    listing = client.get(reverse("desk:outbox")).context["page"].object_list
    by_subject = {mail.subject: mail for mail in listing}

    markup = by_subject["Dashes and markup"]
    response = client.get(reverse("desk:outbox_message", args=[markup.name, markup.index]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert(1)" not in html
    assert "Content: not a header" in html  # the dashes line did not split the message

    (confirmation,) = [m for s, m in by_subject.items() if "eingegangen" in s]
    response = client.get(
        reverse("desk:outbox_message", args=[confirmation.name, confirmation.index])
    )
    html = response.content.decode()
    token = mails.ticket.reply_token
    assert f"buergerbuero+{token}@stadt.example" in html  # Reply-To
    assert "auto-replied" in html
    assert f"Ihre Vorgangsnummer ist: {mails.ticket.number}" in html


def test_other_tenants_mail_is_not_found_by_address(
    client: Client, mails: Case, outbox: Path
) -> None:
    client.force_login(AdminFactory())
    for path in outbox.iterdir():
        if b"Nachbarstadt" in path.read_bytes():
            response = client.get(reverse("desk:outbox_message", args=[path.name, 0]))
            assert response.status_code == 404
            break
    else:
        pytest.fail("the other tenant's mail was not written")
    assert client.get(reverse("desk:outbox_message", args=["nothing.log", 0])).status_code == 404
    assert client.get(reverse("desk:outbox_message", args=["secret_key", 0])).status_code == 404


def test_agents_may_not_read_the_outbox(client: Client, mails: Case) -> None:
    client.force_login(AgentFactory(departments={mails.ticket.department: ["full"]}))
    assert client.get(reverse("desk:outbox")).status_code == 403


def test_no_outbox_page_when_a_relay_is_configured(
    client: Client, mails: Case, settings: Any
) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    client.force_login(AdminFactory())
    assert client.get(reverse("desk:outbox")).status_code == 404


def test_signed_out_visitors_are_sent_to_the_login(client: Client, outbox: Path) -> None:
    response = client.get(reverse("desk:outbox"))
    assert response.status_code == 302
    assert reverse("desk:login") in response["Location"]


def test_split_messages_of_one_file() -> None:
    one = b"Content-Type: text/plain\nSubject: a\n\nx\n" + b"-" * 79 + b"\nnot a header\n"
    two = b"MIME-Version: 1.0\nSubject: b\n\ny\n"
    data = one + SEPARATOR + two + SEPARATOR
    assert split_messages(data) == [one, two]
