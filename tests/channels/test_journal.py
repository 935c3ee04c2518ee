"""journal.accept: the raw bytes on disk and their Blob row, in few statements."""

from __future__ import annotations

import hashlib

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection
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
