"""journal.accept: the raw bytes on disk and their Blob row, in few statements."""

from __future__ import annotations

import hashlib

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import DatabaseError, connection
from django.test.utils import CaptureQueriesContext

from tests.channels.filters.helpers import ADDRESS, mail
from tests.factories import DepartmentFactory
from vorgang.channels import journal
from vorgang.channels.email import listener
from vorgang.channels.models import InboundMessage
from vorgang.tickets.models import Blob


@pytest.fixture
def department(db):
    return DepartmentFactory(name="Bürgerbüro", email_address=ADDRESS)


def test_accept_stores_the_bytes_and_one_blob_row(department) -> None:
    raw = mail()
    entry = journal.accept(raw, channel="lmtp", recipient=ADDRESS, department=department)
    entry = InboundMessage.objects.select_related("raw").get(pk=entry.pk)
    assert entry.raw.sha256 == hashlib.sha256(raw).hexdigest()
    assert entry.raw.size == len(raw)
    assert entry.raw.read() == raw
    assert entry.message_id == "<m1@example.org>"


def test_a_second_delivery_shares_the_blob_row(department) -> None:
    raw = mail()
    first = journal.accept(raw, channel="lmtp", recipient=ADDRESS)
    second = journal.accept(raw, channel="lmtp", recipient=ADDRESS)
    assert first.pk != second.pk
    assert first.raw_id == second.raw_id
    assert Blob.objects.filter(sha256=hashlib.sha256(raw).hexdigest()).count() == 1


def test_a_blob_that_blob_store_made_is_found(department) -> None:
    raw = mail(subject="Schon einmal gespeichert")
    blob = Blob.store(raw)  # e.g. an attachment with the same bytes
    assert journal.accept(raw, channel="lmtp").raw_id == blob.pk


def test_a_partial_file_is_rewritten(department) -> None:
    raw = mail(subject="Abgebrochen")
    digest = hashlib.sha256(raw).hexdigest()
    path = Blob.path_for(digest)
    if default_storage.exists(path):
        default_storage.delete(path)
    assert default_storage.save(path, ContentFile(raw[:10])) == path  # a write broken off
    assert default_storage.size(path) == 10
    assert journal.write_raw(raw) == digest
    with default_storage.open(path, "rb") as fh:
        assert fh.read() == raw


def test_accept_needs_few_statements(department) -> None:
    raw = mail(subject="Zählen")
    digest = journal.write_raw(raw)
    with CaptureQueriesContext(connection) as queries:
        journal.accept(raw, channel="lmtp", recipient=ADDRESS, department=department, digest=digest)
    statements = [q["sql"] for q in queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))]
    # the Blob row (insert or find, in one), the journal row; the drain request after
    # commit (tests run inside a transaction, so it is not counted here)
    assert len(statements) == 2, statements


def test_the_listener_asks_for_one_drain_per_group(
    department, django_capture_on_commit_callbacks
) -> None:
    items = []
    for number in range(3):
        raw = mail(subject=f"Gruppe {number}", message_id=f"<g{number}@example.org>")
        items.append((raw, "lmtp", (ADDRESS, department), "", journal.write_raw(raw)))
    with django_capture_on_commit_callbacks() as callbacks:
        results = listener._store_group(items)
    assert all(isinstance(pk, int) for pk in results)
    assert InboundMessage.objects.filter(pk__in=results).count() == 3
    assert callbacks == [journal.request_drain]


def _row(entry: InboundMessage) -> dict:
    values = {f.attname: getattr(entry, f.attname) for f in InboundMessage._meta.concrete_fields}
    for name in ("id", "received_at", "raw_id", "message_id"):
        del values[name]
    return values


def test_the_written_out_insert_stores_what_the_orm_would(department) -> None:
    raw = mail(subject="Vergleich")
    entry = journal.accept(
        raw, channel="imap", recipient=ADDRESS, department=department, source_ref="imap:1:2:3"
    )
    stored = InboundMessage.objects.get(pk=entry.pk)
    by_orm = InboundMessage.objects.create(
        channel="imap",
        tenant_id=department.tenant_id,
        department=department,
        recipient=ADDRESS,
        raw_id=stored.raw_id,
        size=len(raw),
        source_ref="imap:1:2:3",
    )
    by_orm.refresh_from_db()
    assert _row(stored) == _row(by_orm)
    assert stored.status == "received"
    assert stored.message_id == "<m1@example.org>"
    assert stored.received_at is not None
    assert abs((stored.received_at - by_orm.received_at).total_seconds()) < 60
    # The entry accept returns is the stored row, as the callers use it.
    assert _row(entry) == _row(stored)
    assert entry.department == department
    assert entry.raw_id == stored.raw_id


def _refuse_recipient(recipient: str) -> None:
    """A real database error for one journal row (a trigger), on SQLite and PostgreSQL."""
    table = InboundMessage._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                f"CREATE TRIGGER refuse BEFORE INSERT ON {table} "
                f"WHEN NEW.recipient = '{recipient}' BEGIN SELECT RAISE(ABORT, 'refused'); END"
            )
        else:
            cursor.execute(
                "CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN "
                f"IF NEW.recipient = '{recipient}' THEN RAISE EXCEPTION 'refused'; END IF; "
                "RETURN NEW; END $$ LANGUAGE plpgsql"
            )
            cursor.execute(
                f"CREATE TRIGGER refuse BEFORE INSERT ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION refuse()"
            )


def _items(department, recipients: list[str]) -> list:
    items = []
    for number, recipient in enumerate(recipients):
        raw = mail(subject=f"Gruppe {number}", message_id=f"<f{number}@example.org>")
        items.append((raw, "lmtp", (recipient, department), "", journal.write_raw(raw)))
    return items


def test_a_row_that_fails_fails_alone_in_its_group(
    department, django_capture_on_commit_callbacks
) -> None:
    _refuse_recipient("kaputt@stadt.example")
    items = _items(department, [ADDRESS, "kaputt@stadt.example", ADDRESS])
    with django_capture_on_commit_callbacks() as callbacks:
        results = listener._store_group(items)
    assert isinstance(results[1], DatabaseError)
    assert isinstance(results[0], int)
    assert isinstance(results[2], int)
    assert set(InboundMessage.objects.values_list("pk", flat=True)) == {results[0], results[2]}
    assert callbacks == [journal.request_drain]


def test_a_group_of_one_that_fails_stores_nothing(department) -> None:
    _refuse_recipient("kaputt@stadt.example")
    results = listener._store_group(_items(department, ["kaputt@stadt.example"]))
    assert len(results) == 1
    assert isinstance(results[0], DatabaseError)
    assert not InboundMessage.objects.exists()


def test_a_group_needs_no_savepoints_when_all_rows_go_in(department) -> None:
    items = _items(department, [ADDRESS, ADDRESS, ADDRESS])
    with CaptureQueriesContext(connection) as queries:
        results = listener._store_group(items)
    assert all(isinstance(pk, int) for pk in results)
    # Tests run in a transaction, so the group's own is a savepoint: one, not one per row.
    assert sum(q["sql"].startswith("SAVEPOINT") for q in queries) == 1
    assert sum(q["sql"].startswith("INSERT") for q in queries) == 6


@pytest.mark.skipif(connection.vendor != "sqlite", reason="only old SQLite returns no ids")
def test_without_returning_the_ids_are_looked_up(department, monkeypatch) -> None:
    monkeypatch.setattr(connection.features, "can_return_columns_from_insert", False)
    raw = mail(subject="Altes SQLite")
    first = journal.accept(raw, channel="lmtp", recipient=ADDRESS, department=department)
    second = journal.accept(raw, channel="lmtp", recipient=ADDRESS, department=department)
    stored = InboundMessage.objects.select_related("raw").get(pk=first.pk)
    assert stored.raw.read() == raw
    assert InboundMessage.objects.get(pk=second.pk).raw_id == stored.raw_id
    assert first.raw_id == second.raw_id == stored.raw_id
