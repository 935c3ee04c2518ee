"""The local outbox of the embedded default, readable by admins in the desk."""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.mail import EmailMessage, get_connection
from django.test import Client
from django.urls import reverse

from tests.factories import AdminFactory, AgentFactory, DepartmentFactory, TenantFactory
from vorgang.channels.email import outbound
from vorgang.desk.views.outbox import SEPARATOR, split_messages
from vorgang.tickets.tasks import deliver_article

from .conftest import Case

pytestmark = pytest.mark.django_db

STAMP_FORMAT = "%Y%m%d-%H%M%S"  # how Django's file backend starts a file's name
STAMP = len("20261128-145238")
AGE = timedelta(seconds=10)
AGE_NS = 10 * 10**9


@pytest.fixture
def outbox(settings: Any, tmp_path: Path) -> Path:
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = str(tmp_path / "outbox")
    return tmp_path / "outbox"


def age(outbox: Path) -> None:
    """Make the mail written so far 10 s older, so that "newest first" does not depend on
    the file system's timestamp resolution.

    Both the file's time and the time in its name move back, as if the mail had been sent
    10 s earlier. Django's file backend names a file by the second it is opened in and by
    ``id()`` of the backend object, and appends to a file of that name: a mail sent later
    in the same second by a backend that reuses the freed object's id (CPython often does)
    would otherwise be appended to the aged file and make it the newest file again.
    """
    for path in outbox.iterdir():
        stat = path.stat()
        opened = datetime.strptime(path.name[:STAMP], STAMP_FORMAT)
        older = path.with_name((opened - AGE).strftime(STAMP_FORMAT) + path.name[STAMP:])
        path.rename(older)
        os.utime(older, ns=(stat.st_atime_ns, stat.st_mtime_ns - AGE_NS))


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


def listed_subjects(client: Client) -> list[str]:
    return [mail.subject for mail in client.get(reverse("desk:outbox")).context["page"].object_list]


def test_mail_written_into_one_file_is_listed_newest_first(
    client: Client, outbox: Path, case: Case
) -> None:
    """One connection writes both mails into one file: they share the file's time, and the
    one written later into the file is the newer one."""
    sender = case.ticket.department.email_address
    with get_connection() as connection:
        connection.send_messages(
            [
                EmailMessage(subject, "Text", sender, ["someone@example.org"])
                for subject in ("Written first", "Written second")
            ]
        )
    assert len(list(outbox.iterdir())) == 1
    client.force_login(AdminFactory())
    assert listed_subjects(client) == ["Written second", "Written first"]


def test_files_of_the_same_time_are_listed_in_one_fixed_order(
    client: Client, outbox: Path, case: Case
) -> None:
    """Files with the same time (a coarse file system, or one clock tick) come by name, the
    latest name first, so the list does not reshuffle between loads nor its pages repeat
    or skip a mail."""
    sender = case.ticket.department.email_address
    connections = [get_connection() for _ in range(3)]  # all alive: three distinct files
    for number, connection in enumerate(connections):
        connection.send_messages(
            [EmailMessage(f"Mail {number}", "Text", sender, ["someone@example.org"])]
        )
    files = list(outbox.iterdir())
    assert len(files) == 3
    same = files[0].stat().st_mtime_ns
    for path in files:
        os.utime(path, ns=(same, same))
    subject_of = {
        path.name: next(
            line.removeprefix("Subject: ")
            for line in path.read_text().splitlines()
            if line.startswith("Subject: ")
        )
        for path in files
    }
    expected = [subject_of[name] for name in sorted(subject_of, reverse=True)]
    client.force_login(AdminFactory())
    assert listed_subjects(client) == expected
    assert listed_subjects(client) == expected  # the same order on the next load


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
