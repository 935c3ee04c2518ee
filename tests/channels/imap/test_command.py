"""``vorgang imap-poll``: what it polls, what it prints, its exit status."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from vorgang.channels.models import InboundMessage

from .messages import mail

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command("imap_poll", *args, stdout=out)
    return out.getvalue()


def test_polls_due_mailboxes_and_prints_the_counts(account, make_mailbox) -> None:
    account.append(mail(1))
    account.append(mail(2))
    mailbox = make_mailbox(name="Bürgerbüro Posteingang")

    output = run()

    assert f"mailbox {mailbox.pk} (Bürgerbüro Posteingang): fetched 2, stored 2, errors 0" in output
    assert InboundMessage.objects.count() == 2
    assert "No mailbox is due." in run()  # just polled; its interval has not passed


def test_all_ignores_the_interval(account, make_mailbox) -> None:
    mailbox = make_mailbox()
    run()
    account.append(mail(1))

    output = run("--all")

    assert f"mailbox {mailbox.pk} (" in output
    assert "fetched 1, stored 1, errors 0" in output


def test_mailbox_polls_just_that_one(dovecot, account, make_mailbox) -> None:
    chosen = make_mailbox(name="gewählt")
    other = make_mailbox(user=dovecot.add_user(), name="andere")
    account.append(mail(1))

    output = run("--mailbox", str(chosen.pk))

    assert f"mailbox {chosen.pk} (gewählt): fetched 1, stored 1" in output
    assert f"mailbox {other.pk} " not in output


def test_a_failed_mailbox_exits_1_after_polling_the_others(dovecot, account, make_mailbox) -> None:
    broken = make_mailbox(name="kaputt", password="falsch")
    working_user = dovecot.add_user()
    working_user.append(mail(1))
    working = make_mailbox(user=working_user, name="geht")
    out = StringIO()

    with pytest.raises(CommandError) as failure:
        call_command("imap_poll", "--all", stdout=out)

    assert failure.value.returncode == 1
    assert "1 of 2 mailbox(es) failed" in str(failure.value)
    output = out.getvalue()
    assert f"mailbox {broken.pk} (kaputt): fetched 0, stored 0, errors 1" in output
    assert "error: Login failed" in output
    assert "falsch" not in output.replace("kaputt", "")
    assert f"mailbox {working.pk} (geht): fetched 1, stored 1, errors 0" in output


def test_unknown_mailbox_id_is_an_error(db) -> None:
    with pytest.raises(CommandError, match="No IMAP mailbox with id 999"):
        run("--mailbox", "999")
