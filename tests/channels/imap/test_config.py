"""The poller's rules that need no server: where plain IMAP is allowed, folder names, UID sets."""

from __future__ import annotations

import pytest

from tests.factories import DepartmentFactory
from vorgang.channels import imap
from vorgang.channels.models import Mailbox


@pytest.mark.django_db
@pytest.mark.parametrize("host", ["imap.stadt.example", "192.0.2.10", "127.0.0.2"])
def test_unencrypted_imap_is_refused_for_other_hosts(host: str) -> None:
    department = DepartmentFactory()
    mailbox = Mailbox.objects.create(
        tenant=department.tenant,
        name="extern",
        host=host,
        port=143,
        security="none",
        username="vorgang",
        password="geheim-123",
        department=department,
    )

    result = imap.poll_mailbox(mailbox)

    assert not result.ok
    mailbox.refresh_from_db()
    assert host in mailbox.last_error
    assert "IMAPS or STARTTLS" in mailbox.last_error
    assert "geheim-123" not in mailbox.last_error


@pytest.mark.parametrize(
    ("name", "encoded"),
    [
        ("INBOX", "INBOX"),
        ("Entwürfe", "Entw&APw-rfe"),
        ("Übernommen", "&ANw-bernommen"),
        ("Straße & Plätze", "Stra&AN8-e &- Pl&AOQ-tze"),
        ("日本語", "&ZeVnLIqe-"),
    ],
)
def test_folder_names_in_modified_utf7(name: str, encoded: str) -> None:
    assert imap.encode_folder(name) == encoded
    assert encoded.encode("ascii")


@pytest.mark.parametrize(
    ("uids", "text"),
    [([5], "5"), ([1, 2, 3, 7, 9, 10], "1:3,7,9:10"), ([4, 2, 3, 2], "2:4")],
)
def test_uid_sets_are_compact(uids: list[int], text: str) -> None:
    assert imap.compact_uids(uids) == text


def test_quoting_escapes_backslash_and_quote() -> None:
    assert imap.quote('a"b\\c') == '"a\\"b\\\\c"'
