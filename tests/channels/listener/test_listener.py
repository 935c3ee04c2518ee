"""The LMTP/SMTP listener with real clients (smtplib) against a listener in this process.

The rule under test: a message is answered 250 only once it is in the journal; anything
that cannot be stored is answered 4xx so the MTA keeps it and tries again.
"""

from __future__ import annotations

import smtplib
from collections.abc import Callable
from pathlib import Path

import pytest
from django_tasks_db.models import DBTaskResult

from tests.factories import TicketFactory
from vorgang.accounts.models import Department
from vorgang.channels.email.intake import process
from vorgang.channels.email.listener import IntakeController
from vorgang.channels.models import InboundMessage, InboundStatus
from vorgang.tickets.models import Blob

from .conftest import ADDRESS, OTHER_ADDRESS, close, connect, message

SENDER = "erika@example.org"


def only_entry() -> InboundMessage:
    entry: InboundMessage = InboundMessage.objects.select_related("raw").get()
    return entry


def test_accepted_message_is_journaled_then_becomes_a_case(
    department: Department, lmtp: smtplib.SMTP
) -> None:
    raw = message(message_id="<anmeldung-1@example.org>")

    refused = lmtp.sendmail(SENDER, [ADDRESS], raw)

    assert refused == {}
    entry = only_entry()
    assert entry.status == InboundStatus.RECEIVED
    assert entry.channel == "lmtp"
    assert entry.recipient == ADDRESS
    assert entry.envelope_from == SENDER
    assert entry.department == department
    assert entry.tenant_id == department.tenant_id
    assert entry.message_id == "<anmeldung-1@example.org>"
    assert entry.raw.read() == raw
    # Processing was queued for the worker: one drain of the journal.
    task = DBTaskResult.objects.get()
    assert task.task_path == "vorgang.channels.tasks.drain_inbound"

    assert process(entry.pk) == InboundStatus.PROCESSED
    entry.refresh_from_db()
    assert entry.ticket is not None
    assert entry.ticket.department == department
    assert entry.ticket.title == "Frage zur Anmeldung"
    assert entry.article is not None
    assert entry.article.message_id == "<anmeldung-1@example.org>"


def test_the_reply_names_the_journal_entry(department: Department, lmtp: smtplib.SMTP) -> None:
    lmtp.mail(SENDER)
    assert lmtp.rcpt(ADDRESS)[0] == 250
    code, reply = lmtp.data(message())
    assert code == 250
    assert reply.decode() == f"2.0.0 Stored as {only_entry().pk}"


def test_unknown_recipient_is_refused_at_rcpt(department: Department, lmtp: smtplib.SMTP) -> None:
    lmtp.mail(SENDER)
    code, reply = lmtp.rcpt("niemand@stadt.example")
    assert code == 550
    assert b"5.1.1" in reply
    lmtp.rset()

    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        lmtp.sendmail(SENDER, ["niemand@stadt.example"], message())
    assert refused.value.recipients["niemand@stadt.example"][0] == 550
    assert not InboundMessage.objects.exists()


def test_known_recipients_are_taken_when_another_is_refused(
    department: Department, lmtp: smtplib.SMTP
) -> None:
    refused = lmtp.sendmail(SENDER, [ADDRESS, "niemand@stadt.example"], message())
    assert refused == {"niemand@stadt.example": (550, b"5.1.1 No such recipient here")}
    assert only_entry().recipient == ADDRESS


def test_inactive_department_is_unknown(department: Department, lmtp: smtplib.SMTP) -> None:
    Department.objects.filter(pk=department.pk).update(active=False)
    lmtp.mail(SENDER)
    assert lmtp.rcpt(ADDRESS)[0] == 550


def test_reply_address_with_token_is_accepted_and_threads(
    department: Department, lmtp: smtplib.SMTP
) -> None:
    ticket = TicketFactory(department=department)
    local, _at, domain = ADDRESS.partition("@")
    reply_to = f"{local}+{ticket.reply_token}@{domain}"

    refused = lmtp.sendmail(SENDER, [reply_to], message(subject="Re: etwas anderes"))

    assert refused == {}
    entry = only_entry()
    assert entry.recipient == reply_to
    assert entry.department == department
    assert process(entry.pk) == InboundStatus.PROCESSED
    entry.refresh_from_db()
    assert entry.ticket_id == ticket.pk


def test_recipient_case_and_brackets_do_not_matter(
    department: Department, lmtp: smtplib.SMTP
) -> None:
    assert lmtp.sendmail(SENDER, ["BuergerBuero@Stadt.Example"], message()) == {}
    assert only_entry().department == department


Start = Callable[..., IntakeController]


def test_oversize_message_is_refused_at_data_and_nothing_stored(
    department: Department, start_listener: Start, settings: object
) -> None:
    settings.VORGANG_MAIL_MAX_BYTES = 20_000  # type: ignore[attr-defined]
    big = message(body="x" * 70 + "\r\n") + b"Zeile mit Inhalt\r\n" * 2000
    lmtp = connect(start_listener())
    assert lmtp.esmtp_features["size"] == "20000"

    # An MTA that does not declare the size learns it at the end of DATA.
    lmtp.mail(SENDER)
    assert lmtp.rcpt(ADDRESS)[0] == 250
    code, reply = lmtp.data(big)
    assert (code, reply) == (552, b"5.3.4 Message too big")
    assert not InboundMessage.objects.exists()
    assert not Blob.objects.exists()

    # One that declares it (SIZE=) is refused at MAIL already.
    with pytest.raises(smtplib.SMTPSenderRefused) as refused:
        lmtp.sendmail(SENDER, [ADDRESS], big)
    assert refused.value.smtp_code == 552

    # A message under the limit still goes through in the same session.
    assert lmtp.sendmail(SENDER, [ADDRESS], message()) == {}
    assert InboundMessage.objects.count() == 1
    close(lmtp)


def test_oversize_single_line_is_552_not_500(
    department: Department, start_listener: Start, settings: object
) -> None:
    settings.VORGANG_MAIL_MAX_BYTES = 20_000  # type: ignore[attr-defined]
    client = connect(start_listener())
    client.mail(SENDER)
    assert client.rcpt(ADDRESS)[0] == 250
    code, _reply = client.data(message(body="y" * 50_000))
    assert code == 552
    assert client.noop()[0] == 250  # the session goes on
    close(client)
    assert not InboundMessage.objects.exists()


def test_lmtp_answers_oversize_once_per_recipient(
    department: Department, other_department: Department, start_listener: Start, settings: object
) -> None:
    settings.VORGANG_MAIL_MAX_BYTES = 10_000  # type: ignore[attr-defined]
    lmtp = connect(start_listener())
    lmtp.mail(SENDER)
    assert lmtp.rcpt(ADDRESS)[0] == 250
    assert lmtp.rcpt("niemand@stadt.example")[0] == 550  # refused: gets no DATA reply
    assert lmtp.rcpt(OTHER_ADDRESS)[0] == 250
    first = lmtp.data(message(body="z" * 20_000 + "\r\n"))
    second = lmtp.getreply()
    assert first == second == (552, b"5.3.4 Message too big")
    assert lmtp.noop() == (250, b"OK")  # no reply left unread: the next answer is NOOP's
    close(lmtp)
    assert not InboundMessage.objects.exists()


def test_lmtp_replies_once_per_recipient(
    department: Department, other_department: Department, lmtp: smtplib.SMTP
) -> None:
    lmtp.ehlo_or_helo_if_needed()
    lmtp.mail(SENDER)
    assert lmtp.rcpt(ADDRESS)[0] == 250
    assert lmtp.rcpt("niemand@stadt.example")[0] == 550
    assert lmtp.rcpt(OTHER_ADDRESS)[0] == 250
    raw = message(to=f"{ADDRESS}, {OTHER_ADDRESS}")
    # smtplib's LMTP reads only the first reply of DATA; the second is read by hand.
    first = lmtp.data(raw)
    second = lmtp.getreply()

    entries = {e.recipient: e for e in InboundMessage.objects.all()}
    assert set(entries) == {ADDRESS, OTHER_ADDRESS}
    assert first == (250, f"2.0.0 Stored as {entries[ADDRESS].pk}".encode())
    assert second == (250, f"2.0.0 Stored as {entries[OTHER_ADDRESS].pk}".encode())
    assert entries[ADDRESS].department == department
    assert entries[OTHER_ADDRESS].department == other_department
    assert entries[ADDRESS].raw_id == entries[OTHER_ADDRESS].raw_id  # the bytes once
    assert lmtp.noop()[0] == 250

    for entry in entries.values():
        assert process(entry.pk) == InboundStatus.PROCESSED
    tickets = {e.department_id: e.ticket for e in InboundMessage.objects.all()}
    assert set(tickets) == {department.pk, other_department.pk}  # one case in each


def test_storage_failure_answers_451_and_stores_nothing(
    department: Department, lmtp: smtplib.SMTP, settings: object, tmp_path: Path
) -> None:
    working = settings.MEDIA_ROOT  # type: ignore[attr-defined]
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    settings.MEDIA_ROOT = blocker / "files"  # type: ignore[attr-defined]

    lmtp.mail(SENDER)
    lmtp.rcpt(ADDRESS)
    code, reply = lmtp.data(message(subject="Erster Versuch"))

    assert code == 451
    assert reply == b"4.3.0 Could not store the message, please try again later"
    assert not InboundMessage.objects.exists()
    assert not Blob.objects.exists()
    assert not DBTaskResult.objects.exists()

    # The storage is back: the MTA's retry goes through on the same listener.
    settings.MEDIA_ROOT = working  # type: ignore[attr-defined]
    assert lmtp.sendmail(SENDER, [ADDRESS], message(subject="Zweiter Versuch")) == {}
    assert only_entry().raw.read().count(b"Zweiter Versuch") == 1


def test_long_lines_and_8bit_bodies_are_stored_as_they_came(
    department: Department, lmtp: smtplib.SMTP
) -> None:
    long_line = "Sehr geehrte Damen und Herren, " + "ä" * 3000
    utf8 = message(subject="Lange Zeile", body=long_line + "\r\nGrüße\r\n")
    latin1 = message(subject="Umlaute", body="Grüße aus Düsseldorf\r\n", charset="iso-8859-1")
    assert len(max(utf8.split(b"\r\n"), key=len)) > 1000

    assert lmtp.sendmail(SENDER, [ADDRESS], utf8) == {}
    assert lmtp.sendmail(SENDER, [ADDRESS], latin1, mail_options=["BODY=8BITMIME"]) == {}

    stored = [e.raw.read() for e in InboundMessage.objects.order_by("pk")]
    assert stored == [utf8, latin1]
    for entry in InboundMessage.objects.all():
        assert process(entry.pk) == InboundStatus.PROCESSED
    bodies = {e.article.subject: e.article.body for e in InboundMessage.objects.all() if e.article}
    assert long_line in bodies["Lange Zeile"]
    assert "Grüße aus Düsseldorf" in bodies["Umlaute"]


def test_utf8_envelope_and_headers(department: Department, lmtp: smtplib.SMTP) -> None:
    raw = message(subject="Bürgeranfrage", sender="Jürgen <jürgen@bücher.example>")
    refused = lmtp.sendmail("jürgen@bücher.example", [ADDRESS], raw, mail_options=["SMTPUTF8"])
    assert refused == {}
    assert only_entry().envelope_from == "jürgen@bücher.example"


def test_bounces_with_null_sender_are_accepted(department: Department, lmtp: smtplib.SMTP) -> None:
    assert lmtp.sendmail("<>", [ADDRESS], message(sender="MAILER-DAEMON@mx.example")) == {}
    assert only_entry().envelope_from == ""


def test_broken_message_is_stored_and_the_listener_goes_on(
    department: Department, lmtp: smtplib.SMTP
) -> None:
    garbage = bytes(range(1, 256)) * 40 + b"\r\n\r\n--\r\n" + b"\xff\xfe\x00garbage" * 100

    assert lmtp.sendmail(SENDER, [ADDRESS], garbage) == {}
    entry = only_entry()
    assert entry.size > 0

    status = process(entry.pk)
    entry.refresh_from_db()
    assert entry.status == status
    # Stored, and afterwards either a case or visibly failed with a reason.
    assert (status == InboundStatus.PROCESSED and entry.ticket_id) or (
        status == InboundStatus.FAILED and entry.error
    )

    assert lmtp.sendmail(SENDER, [ADDRESS], message(subject="Danach")) == {}
    assert InboundMessage.objects.count() == 2


def test_too_many_recipients_get_452(department: Department, lmtp: smtplib.SMTP) -> None:
    lmtp.ehlo_or_helo_if_needed()
    lmtp.mail(SENDER)
    codes = [lmtp.rcpt(ADDRESS)[0] for _ in range(101)]
    assert codes[:100] == [250] * 100
    assert codes[100] == 452


# --- SMTP: the same code, one answer per message ----------------------------------------


def test_smtp_stores_every_recipient_and_answers_once(
    department: Department, other_department: Department, smtp: smtplib.SMTP
) -> None:
    refused = smtp.sendmail(SENDER, [ADDRESS, OTHER_ADDRESS], message())
    assert refused == {}
    entries = list(InboundMessage.objects.order_by("recipient"))
    assert [e.recipient for e in entries] == [ADDRESS, OTHER_ADDRESS]
    assert {e.channel for e in entries} == {"smtp"}
    assert smtp.noop()[0] == 250  # exactly one DATA reply was sent


def test_smtp_refuses_unknown_recipients_and_oversize(
    department: Department, start_listener: Start, settings: object
) -> None:
    settings.VORGANG_MAIL_MAX_BYTES = 5_000  # type: ignore[attr-defined]
    smtp = connect(start_listener(lmtp=False))
    with pytest.raises(smtplib.SMTPRecipientsRefused):
        smtp.sendmail(SENDER, ["niemand@stadt.example"], message())
    smtp.mail(SENDER)
    smtp.rcpt(ADDRESS)
    assert smtp.data(message(body="a" * 6_000)) == (552, b"5.3.4 Message too big")
    close(smtp)
    assert not InboundMessage.objects.exists()


def test_smtp_storage_failure_stores_no_recipient(
    department: Department, other_department: Department, smtp: smtplib.SMTP, broken_storage: None
) -> None:
    with pytest.raises(smtplib.SMTPDataError) as failed:
        smtp.sendmail(SENDER, [ADDRESS, OTHER_ADDRESS], message())
    assert failed.value.smtp_code == 451
    assert not InboundMessage.objects.exists()
    assert not Blob.objects.exists()


def test_full_disk_answers_452_and_stores_nothing(
    department: Department, lmtp: smtplib.SMTP, full_storage: Path
) -> None:
    with pytest.raises(smtplib.SMTPDataError) as failed:
        lmtp.sendmail(SENDER, [ADDRESS], message(body="Inhalt " * 400 + "\r\n"))
    assert failed.value.smtp_code == 452
    assert failed.value.smtp_error == b"4.3.1 Insufficient system storage, please try again later"
    assert not InboundMessage.objects.exists()
    assert not Blob.objects.exists()


def test_after_a_full_disk_the_retry_stores_the_whole_message(
    department: Department, lmtp: smtplib.SMTP, full_storage: Path
) -> None:
    raw = message(subject="Platte voll", body="Inhalt " * 400 + "\r\n")
    with pytest.raises(smtplib.SMTPDataError):
        lmtp.sendmail(SENDER, [ADDRESS], raw)

    full_storage.unlink()  # room again: the MTA's retry must store the very same bytes
    assert lmtp.sendmail(SENDER, [ADDRESS], raw) == {}
    assert only_entry().raw.read() == raw
