"""Polling a real Dovecot into the journal: transport security, after-fetch actions, UID
tracking, UIDVALIDITY, slices, size limit, failures that must not lose or block mail."""

from __future__ import annotations

import os
import re

import pytest

from tests.factories import DepartmentFactory
from vorgang.channels import imap
from vorgang.channels.email.intake import process
from vorgang.channels.models import InboundMessage, InboundStatus, Mailbox
from vorgang.tickets.models import Ticket

from .messages import mail

pytestmark = pytest.mark.django_db


def entries(mailbox: Mailbox) -> list[InboundMessage]:
    return list(
        InboundMessage.objects.filter(source_ref__startswith=f"imap:{mailbox.pk}:").order_by("pk")
    )


# ------------------------------------------------------------------ transport


def test_plain_on_localhost_stores_every_message_and_marks_nothing_read(
    account, make_mailbox, department
) -> None:
    first, second = mail(1), mail(2)
    uids = [account.append(first), account.append(second)]
    mailbox = make_mailbox()

    result = imap.poll_mailbox(mailbox)

    assert result.ok, result.errors
    assert (result.fetched, result.stored) == (2, 2)
    stored = entries(mailbox)
    assert [e.raw.read() for e in stored] == [first, second]
    uidvalidity = account.uidvalidity()
    for entry, uid in zip(stored, uids, strict=True):
        assert entry.channel == "imap"
        assert entry.department == department
        assert entry.recipient == ""
        assert entry.status == InboundStatus.RECEIVED
        assert entry.source_ref == f"imap:{mailbox.pk}:{uidvalidity}:{uid}"
        assert entry.message_id.startswith("<imap-test-")
    # keep: still there, and BODY.PEEK[] did not set \Seen
    assert account.uids() == uids
    assert b"\\Seen" not in account.flags(uids[0])
    mailbox.refresh_from_db()
    assert mailbox.last_error == ""
    assert mailbox.last_polled_at is not None


def test_imaps_with_a_self_signed_certificate_when_verification_is_off(
    dovecot, account, make_mailbox
) -> None:
    account.append(mail())
    mailbox = make_mailbox(security="imaps", port=dovecot.imaps_port, verify_certificate=False)

    result = imap.poll_mailbox(mailbox)

    assert result.ok, result.errors
    assert result.stored == 1


@pytest.mark.parametrize("security", ["imaps", "starttls"])
def test_verification_refuses_a_self_signed_certificate(
    dovecot, account, make_mailbox, security
) -> None:
    uid = account.append(mail())
    port = dovecot.imaps_port if security == "imaps" else dovecot.plain_port
    mailbox = make_mailbox(security=security, port=port, verify_certificate=True, host="localhost")

    result = imap.poll_mailbox(mailbox)

    assert not result.ok
    assert result.stored == 0
    mailbox.refresh_from_db()
    assert "certificate" in mailbox.last_error
    assert "self-signed certificate" in mailbox.last_error
    assert account.password not in mailbox.last_error
    assert InboundMessage.objects.count() == 0
    assert account.uids() == [uid]


@pytest.mark.parametrize("security", ["imaps", "starttls"])
def test_verification_accepts_a_trusted_certificate(
    dovecot, account, make_mailbox, monkeypatch, security
) -> None:
    # The test certificate as the only trusted one: verification really runs and passes.
    monkeypatch.setenv("SSL_CERT_FILE", str(dovecot.cert))
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    account.append(mail())
    port = dovecot.imaps_port if security == "imaps" else dovecot.plain_port
    mailbox = make_mailbox(security=security, port=port, verify_certificate=True, host="localhost")

    result = imap.poll_mailbox(mailbox)

    assert result.ok, result.errors
    assert result.stored == 1


def test_starttls_with_verification_off(dovecot, account, make_mailbox) -> None:
    account.append(mail())
    mailbox = make_mailbox(security="starttls", verify_certificate=False)

    result = imap.poll_mailbox(mailbox)

    assert result.ok, result.errors
    assert result.stored == 1


def test_wrong_password_is_reported_without_the_password(account, make_mailbox) -> None:
    account.append(mail())
    mailbox = make_mailbox(password="falsches-Passwort-42")

    result = imap.poll_mailbox(mailbox)

    assert not result.ok
    mailbox.refresh_from_db()
    assert "AUTHENTICATIONFAILED" in mailbox.last_error
    assert "falsches-Passwort-42" not in mailbox.last_error
    assert account.password not in mailbox.last_error
    assert InboundMessage.objects.count() == 0


def test_a_password_beyond_ascii_is_sent_with_auth_plain(dovecot, make_mailbox) -> None:
    user = dovecot.add_user(password="Grüße-aus-Köln-1")
    user.append(mail())
    mailbox = make_mailbox(user=user)

    result = imap.poll_mailbox(mailbox)

    assert result.ok, result.errors
    assert result.stored == 1


def test_a_folder_with_umlauts_and_spaces(account, make_mailbox) -> None:
    account.create("Anträge Bürger")
    account.append(mail(1), "Anträge Bürger")
    account.append(mail(2))  # INBOX: not polled
    mailbox = make_mailbox(folder="Anträge Bürger", after_fetch="delete")

    result = imap.poll_mailbox(mailbox)

    assert result.ok, result.errors
    assert result.stored == 1
    assert account.uids("Anträge Bürger") == []
    assert len(account.uids()) == 1


def test_a_missing_folder_is_reported(account, make_mailbox) -> None:
    mailbox = make_mailbox(folder="Gibt-es-nicht")

    result = imap.poll_mailbox(mailbox)

    assert not result.ok
    mailbox.refresh_from_db()
    assert "Gibt-es-nicht" in mailbox.last_error


def test_no_server_listening_is_reported(make_mailbox) -> None:
    from tests.channels.imap.dovecot import free_port

    mailbox = make_mailbox(port=free_port())

    result = imap.poll_mailbox(mailbox)

    assert not result.ok
    mailbox.refresh_from_db()
    assert "Cannot connect" in mailbox.last_error


# ------------------------------------------------------------------ after fetching


def test_delete_removes_the_messages_once_stored(account, make_mailbox) -> None:
    for n in range(3):
        account.append(mail(n))
    mailbox = make_mailbox(after_fetch="delete")

    result = imap.poll_mailbox(mailbox)

    assert result.ok, result.errors
    assert result.stored == 3
    assert account.uids() == []
    assert len(entries(mailbox)) == 3


@pytest.mark.parametrize("uidplus", [True, False])
def test_delete_never_expunges_a_message_not_yet_stored(
    dovecot, make_mailbox, uidplus: bool
) -> None:
    """Someone else flagged a message \\Deleted and it lies beyond this poll's slice.

    With UIDPLUS the poller expunges exactly its own messages; without, a plain EXPUNGE
    would take the other one too, so the poller waits until it has stored that one.
    """
    user = dovecot.add_user() if uidplus else dovecot.add_user(capability="IMAP4rev1")
    ours = user.append(mail(1))
    theirs = user.append(mail(2))
    conn = user.connect()
    conn.select("INBOX")
    conn.uid("STORE", str(theirs), "+FLAGS", r"(\Deleted)")
    conn.logout()
    mailbox = make_mailbox(user=user, after_fetch="delete")

    first = imap.poll_mailbox(mailbox, batch_size=1)

    assert first.ok, first.errors
    assert first.stored == 1
    assert user.uids() == ([theirs] if uidplus else [ours, theirs])
    assert bool(first.notices) is not uidplus

    second = imap.poll_mailbox(mailbox, batch_size=1)

    assert second.ok, second.errors
    assert second.stored == 1
    assert user.uids() == []
    assert len(entries(mailbox)) == 2


def test_move_creates_the_folder_and_moves(account, make_mailbox) -> None:
    messages = [mail(1), mail(2)]
    for raw in messages:
        account.append(raw)
    mailbox = make_mailbox(after_fetch="move", move_to="Übernommen")
    assert "Übernommen" not in account.folders()

    result = imap.poll_mailbox(mailbox)

    assert result.ok, result.errors
    assert result.stored == 2
    assert "&ANw-bernommen" in account.folders()  # modified UTF-7 on the wire
    assert account.uids() == []
    assert account.messages("Übernommen") == messages


def test_move_into_an_existing_folder(account, make_mailbox) -> None:
    account.create("Erledigt")
    account.append(mail())
    mailbox = make_mailbox(after_fetch="move", move_to="Erledigt")

    result = imap.poll_mailbox(mailbox)

    assert result.ok, result.errors
    assert len(account.uids("Erledigt")) == 1
    assert account.uids() == []


@pytest.mark.parametrize("after_fetch", ["move", "delete"])
def test_server_without_move_and_uidplus(dovecot, make_mailbox, after_fetch) -> None:
    """COPY + \\Deleted + EXPUNGE where the server offers neither MOVE nor UIDPLUS."""
    plain = dovecot.add_user(capability="IMAP4rev1")
    conn = plain.connect()
    capabilities = conn.capability()[1][-1].split()
    conn.logout()
    assert b"MOVE" not in capabilities
    assert b"UIDPLUS" not in capabilities
    raw = mail()
    plain.append(raw)
    mailbox = make_mailbox(user=plain, after_fetch=after_fetch, move_to="Erledigt")

    result = imap.poll_mailbox(mailbox)

    assert result.ok, result.errors
    assert result.stored == 1
    assert plain.uids() == []
    if after_fetch == "move":
        assert plain.messages("Erledigt") == [raw]


def test_move_without_a_target_folder_is_refused(account, make_mailbox) -> None:
    uid = account.append(mail())
    mailbox = make_mailbox(after_fetch="move", move_to="")

    result = imap.poll_mailbox(mailbox)

    assert not result.ok
    assert result.fetched == 0
    assert account.uids() == [uid]


# ------------------------------------------------------------------ keep: UID tracking


def test_keep_fetches_only_new_messages(account, make_mailbox) -> None:
    account.append(mail(1))
    account.append(mail(2))
    mailbox = make_mailbox(after_fetch="keep")

    first = imap.poll_mailbox(mailbox)
    newest = account.append(mail(3))
    second = imap.poll_mailbox(mailbox)
    third = imap.poll_mailbox(mailbox)

    assert (first.fetched, first.stored) == (2, 2)
    assert (second.fetched, second.stored) == (1, 1)
    assert (third.fetched, third.stored) == (0, 0)
    mailbox.refresh_from_db()
    assert mailbox.last_uid == newest
    assert mailbox.uidvalidity == account.uidvalidity()
    assert len(entries(mailbox)) == 3
    assert len(account.uids()) == 3


def test_uidvalidity_change_fetches_all_again_and_makes_no_new_cases(
    account, make_mailbox, department
) -> None:
    messages = [mail(1), mail(2)]
    account.create("Eingang")
    for raw in messages:
        account.append(raw, "Eingang")
    mailbox = make_mailbox(folder="Eingang", after_fetch="keep")
    first = imap.poll_mailbox(mailbox)
    for entry in entries(mailbox):
        assert process(entry.pk) == InboundStatus.PROCESSED
    assert Ticket.objects.count() == 2
    old_uidvalidity = account.uidvalidity("Eingang")

    # The folder is recreated (as after a server migration) with the same messages.
    account.recreate("Eingang")
    for raw in messages:
        account.append(raw, "Eingang")
    assert account.uidvalidity("Eingang") != old_uidvalidity
    second = imap.poll_mailbox(mailbox)

    assert (first.stored, second.fetched, second.stored) == (2, 2, 2)
    assert any("UIDVALIDITY" in notice for notice in second.notices)
    mailbox.refresh_from_db()
    assert mailbox.uidvalidity == account.uidvalidity("Eingang")
    again = entries(mailbox)[2:]
    assert [e.raw.read() for e in again] == messages
    for entry in again:
        assert process(entry.pk) == InboundStatus.DUPLICATE
        entry.refresh_from_db()
        assert entry.ticket is not None  # points at the case of the first copy
    assert Ticket.objects.count() == 2


def test_switching_from_keep_to_delete_does_not_store_twice(account, make_mailbox) -> None:
    """Messages already in the journal (same mailbox, UIDVALIDITY, UID) are only acted on."""
    account.append(mail(1))
    account.append(mail(2))
    mailbox = make_mailbox(after_fetch="keep")
    imap.poll_mailbox(mailbox)
    mailbox.after_fetch = "delete"
    mailbox.save()

    result = imap.poll_mailbox(mailbox)

    assert result.ok, result.errors
    assert (result.fetched, result.stored, result.already_stored) == (0, 0, 2)
    assert account.uids() == []
    assert len(entries(mailbox)) == 2


# ------------------------------------------------------------------ slices and size


@pytest.mark.parametrize("after_fetch", ["keep", "delete"])
def test_a_big_mailbox_is_worked_off_in_slices(account, make_mailbox, after_fetch) -> None:
    for n in range(5):
        account.append(mail(n))
    mailbox = make_mailbox(after_fetch=after_fetch)

    stored = [imap.poll_mailbox(mailbox, batch_size=2).stored for _ in range(4)]

    assert stored == [2, 2, 1, 0]
    assert len(entries(mailbox)) == 5
    assert len({e.message_id for e in entries(mailbox)}) == 5
    assert len(account.uids()) == (5 if after_fetch == "keep" else 0)


@pytest.mark.parametrize("after_fetch", ["keep", "delete", "move"])
def test_messages_over_the_size_limit_are_not_fetched(
    account, make_mailbox, settings, after_fetch
) -> None:
    settings.VORGANG_MAIL_MAX_BYTES = 4000
    small = account.append(mail(1))
    big = account.append(mail(2, body="x" * 5000 + "\r\n"))
    later = account.append(mail(3))
    mailbox = make_mailbox(after_fetch=after_fetch, move_to="Erledigt")

    result = imap.poll_mailbox(mailbox)

    assert result.ok, result.errors  # noted, not a failure
    assert result.too_big == [big]
    assert (result.fetched, result.stored) == (2, 2)
    assert all(e.size <= 4000 for e in entries(mailbox))
    mailbox.refresh_from_db()
    assert f"UID {big}" in mailbox.last_error
    assert "4000" in mailbox.last_error
    if after_fetch == "keep":
        assert account.uids() == [small, big, later]
        assert mailbox.last_uid == later
        assert imap.poll_mailbox(mailbox).too_big == []  # passed, noted once
    elif after_fetch == "delete":
        assert account.uids() == [big]
        assert imap.poll_mailbox(mailbox).too_big == [big]  # noted until handled
    else:
        assert account.uids() == []
        assert len(account.uids(imap.TOO_BIG_FOLDER)) == 1
        assert len(account.uids("Erledigt")) == 2
        assert imap.poll_mailbox(mailbox).too_big == []


# ------------------------------------------------------------------ never lose, never block


def _break_storage(settings, tmp_path, how: str) -> None:
    if how == "under-a-file":
        blocker = tmp_path / "a-file"
        blocker.write_text("not a directory")
        settings.MEDIA_ROOT = blocker / "files"
    else:
        if os.geteuid() == 0:
            pytest.skip("root ignores file permissions (the under-a-file case covers root)")
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(0o500)
        settings.MEDIA_ROOT = locked


@pytest.mark.parametrize("how", ["under-a-file", "unwritable"])
@pytest.mark.parametrize("after_fetch", ["delete", "move", "keep"])
def test_a_journal_failure_leaves_the_message_on_the_server(
    account, make_mailbox, settings, tmp_path, how, after_fetch
) -> None:
    uids = [account.append(mail(1)), account.append(mail(2))]
    mailbox = make_mailbox(after_fetch=after_fetch, move_to="Erledigt")
    _break_storage(settings, tmp_path, how)

    failed = imap.poll_mailbox(mailbox)

    assert not failed.ok
    assert (failed.fetched, failed.stored) == (1, 0)  # stopped at the first refusal
    assert InboundMessage.objects.count() == 0
    assert account.uids() == uids
    mailbox.refresh_from_db()
    assert f"UID {uids[0]}" in mailbox.last_error
    assert re.search(r"NotADirectoryError|FileExistsError|PermissionError", mailbox.last_error)
    assert mailbox.last_uid == 0

    settings.MEDIA_ROOT = tmp_path / "repaired"
    repaired = imap.poll_mailbox(mailbox)

    assert repaired.ok, repaired.errors
    assert repaired.stored == 2
    assert len(entries(mailbox)) == 2
    assert account.uids() == (uids if after_fetch == "keep" else [])


def test_one_broken_mailbox_does_not_block_the_others(
    dovecot, account, make_mailbox, department
) -> None:
    broken = make_mailbox(name="A kaputt", password="falsch")  # polled first
    account.append(mail(1))
    other = dovecot.add_user()
    other.append(mail(2))
    working = make_mailbox(user=other, name="B geht")

    results = imap.poll_due_mailboxes()

    by_id = {r.mailbox_id: r for r in results}
    assert set(by_id) == {broken.pk, working.pk}
    assert not by_id[broken.pk].ok
    assert by_id[working.pk].ok
    assert by_id[working.pk].stored == 1
    broken.refresh_from_db()
    working.refresh_from_db()
    assert "AUTHENTICATIONFAILED" in broken.last_error
    assert working.last_error == ""


def test_only_due_active_mailboxes_are_polled(dovecot, make_mailbox) -> None:
    from datetime import timedelta

    from vorgang.core import clock

    now = clock.now()
    never = make_mailbox(name="nie abgefragt")
    overdue = make_mailbox(
        user=dovecot.add_user(), poll_interval=60, last_polled_at=now - timedelta(seconds=61)
    )
    recent = make_mailbox(
        user=dovecot.add_user(), poll_interval=60, last_polled_at=now - timedelta(seconds=5)
    )
    make_mailbox(user=dovecot.add_user(), active=False)

    due = {r.mailbox_id for r in imap.poll_due_mailboxes()}
    everything = {r.mailbox_id for r in imap.poll_due_mailboxes(ignore_interval=True)}

    assert due == {never.pk, overdue.pk}
    assert everything == {never.pk, overdue.pk, recent.pk}
    assert imap.poll_due_mailboxes() == []  # all polled just now


# ------------------------------------------------------------------ into a case


def test_a_polled_message_becomes_a_case_of_the_mailbox_department(
    account, make_mailbox, department
) -> None:
    # Sent to an address Vorgang does not know (e.g. the mailbox's own alias).
    account.append(mail(1, to="poststelle@stadt.example", subject="Sperrmüll abholen"))
    mailbox = make_mailbox()
    imap.poll_mailbox(mailbox)
    (entry,) = entries(mailbox)

    assert process(entry.pk) == InboundStatus.PROCESSED

    entry.refresh_from_db()
    ticket = entry.ticket
    assert ticket is not None
    assert ticket.department == department
    assert ticket.title == "Sperrmüll abholen"
    assert ticket.citizen is not None
    assert ticket.citizen.email == "erika@example.org"
    assert ticket.articles.get(sender="citizen").raw_id == entry.raw_id


def test_a_known_department_address_in_to_wins_over_the_mailbox_department(
    account, make_mailbox
) -> None:
    other = DepartmentFactory(name="Standesamt", email_address="standesamt@stadt.example")
    account.append(mail(1, to="standesamt@stadt.example"))
    mailbox = make_mailbox()
    imap.poll_mailbox(mailbox)
    (entry,) = entries(mailbox)

    assert process(entry.pk) == InboundStatus.PROCESSED

    entry.refresh_from_db()
    assert entry.ticket is not None
    assert entry.ticket.department == other


def test_the_processing_task_runs_after_the_poll_commits(
    account, make_mailbox, settings, django_capture_on_commit_callbacks
) -> None:
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    account.append(mail(1))
    mailbox = make_mailbox()

    with django_capture_on_commit_callbacks(execute=True):
        result = imap.poll_mailbox(mailbox)

    assert result.stored == 1
    (entry,) = entries(mailbox)
    assert entry.status == InboundStatus.PROCESSED
    assert entry.ticket is not None
