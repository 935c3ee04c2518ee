"""What the intake's transaction reads: each case locked and read once (tickets.locks)."""

from __future__ import annotations

import os

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.channels.test_intake import mail
from tests.factories import DepartmentFactory
from vorgang.channels import journal
from vorgang.channels.email.intake import process
from vorgang.channels.models import InboundMessage, InboundStatus
from vorgang.tickets import history
from vorgang.tickets.models import Attachment, History

pytestmark = pytest.mark.django_db


@pytest.fixture
def department():
    return DepartmentFactory(name="Bürgerbüro", email_address="buergerbuero@stadt.example")


def _process(raw: bytes) -> tuple[InboundMessage, list[str]]:
    entry = journal.accept(raw, channel="lmtp", recipient="buergerbuero@stadt.example")
    with CaptureQueriesContext(connection) as queries:
        process(entry.pk)
    entry.refresh_from_db()
    assert entry.status == InboundStatus.PROCESSED, entry.error
    return entry, [q["sql"] for q in queries.captured_queries]


def _reads(statements: list[str], table: str) -> list[str]:
    return [
        sql
        for sql in statements
        if sql.lstrip().upper().startswith("SELECT") and f'FROM "{table}"' in sql
    ]


def test_a_new_case_and_its_confirmation_read_no_case_row_and_no_chain(department) -> None:
    # The first case of a fresh database sets its number series up (in a savepoint).
    _process(mail(sender="jemand@example.net", message_id="<warm@x>"))
    entry, statements = _process(mail())
    assert entry.ticket is not None
    # The confirmation is added to the case this transaction created: no second lock,
    # and the chain's end is the entry just written.
    assert _reads(statements, "tickets_ticket") == []
    assert _reads(statements, "tickets_history") == []
    # Nor savepoints between the new case and the journal's status (the test's own
    # transaction turns the intake's transactions into savepoints around that).
    start = next(i for i, sql in enumerate(statements) if 'INTO "tickets_ticket"' in sql)
    end = next(
        i
        for i, sql in enumerate(statements)
        if i > start and 'UPDATE "channels_inboundmessage"' in sql
    )
    assert 'INTO "tickets_article"' in " ".join(statements[start:end])
    assert not any("SAVEPOINT" in sql for sql in statements[start:end])
    actions = list(
        History.objects.filter(ticket=entry.ticket).order_by("seq").values_list("action", "seq")
    )
    assert actions == [("created", 1), ("article_added", 2), ("article_added", 3)]
    assert list(history.verify()) == []
    assert entry.ticket.articles.filter(sender="system").count() == 1  # the confirmation


def test_a_follow_up_locks_its_case_once(department) -> None:
    first, _statements = _process(mail())
    assert first.ticket is not None
    reply = mail(
        subject=f"[Vorgang#{first.ticket.number}] noch was",
        message_id="<m2@x>",
        extra="In-Reply-To: <m1@example.org>\r\n",
    )
    entry, statements = _process(reply)
    assert entry.ticket_id == first.ticket_id
    # The Message-ID finds the case (one read with its state, department and citizen);
    # add_article locks it once and reads the end of its chain once.
    assert len(_reads(statements, "tickets_ticket")) == 2
    assert len(_reads(statements, "tickets_history")) == 1
    assert list(history.verify()) == []
    assert entry.ticket.articles.count() == 3  # mail, confirmation, reply


@pytest.mark.django_db(transaction=True)
def test_attachment_bytes_reach_the_disk_before_the_transaction(
    department, monkeypatch: pytest.MonkeyPatch
) -> None:
    from email.message import EmailMessage

    message = EmailMessage()
    message["From"] = "erika@example.org"
    message["To"] = "buergerbuero@stadt.example"
    message["Subject"] = "Unterlagen"
    message["Message-ID"] = "<anlage@example.org>"
    message.set_content("Anbei der Nachweis.")
    scan = b"%PDF-1.4 Nachweis " + bytes(range(256)) * 40
    message.add_attachment(scan, maintype="application", subtype="pdf", filename="n.pdf")
    entry = journal.accept(
        message.as_bytes(), channel="lmtp", recipient="buergerbuero@stadt.example"
    )

    flushed: list[tuple[str, bool]] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        flushed.append((os.readlink(f"/proc/self/fd/{fd}"), connection.in_atomic_block))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    assert process(entry.pk) == InboundStatus.PROCESSED

    (attachment,) = Attachment.objects.filter(article__message_id="<anlage@example.org>")
    assert attachment.blob.read() == scan
    file_flushes = [inside for path, inside in flushed if path.endswith(attachment.blob.sha256)]
    # Flushed once, and not while the transaction held the database's write lock.
    assert file_flushes == [False]
