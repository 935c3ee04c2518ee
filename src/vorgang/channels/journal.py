"""Accepting a message into the inbound journal, and handing it to processing.

``accept`` returns only once the raw bytes and the journal row are durable;
callers (the LMTP handler, the pipe command, the IMAP poller) confirm receipt
to their peer only after it returned.
"""

from __future__ import annotations

import hashlib
import logging
import re
from datetime import timedelta
from typing import Any

from django.db import connection, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.signals import connection_created
from django.db.models import Q

from vorgang.accounts.models import Department
from vorgang.core import clock, instances, lookups
from vorgang.tickets.models import Blob

from .models import InboundMessage, InboundStatus

log = logging.getLogger(__name__)

_MESSAGE_ID = re.compile(rb"^message-id:[ \t]*(.*(?:\r?\n[ \t].*)*)", re.IGNORECASE | re.MULTILINE)


def header_message_id(raw: bytes) -> str:
    """The Message-ID from the header block, read cheaply (no full parse)."""
    head = raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    found = _MESSAGE_ID.search(head)
    if not found:
        return ""
    # NUL cannot be stored in PostgreSQL text; a header with one must still be accepted.
    value = b" ".join(found.group(1).split()).decode("ascii", "replace").replace("\x00", "")
    return value[:500]


def accept(
    raw: bytes,
    *,
    channel: str,
    recipient: str = "",
    envelope_from: str = "",
    department: Department | None = None,
    source_ref: str = "",
    digest: str = "",
    drain: bool = True,
) -> InboundMessage:
    """Store ``raw`` durably as a new journal entry and queue its processing.

    ``digest``: the caller ran ``write_raw`` for these bytes already (its answer); the
    file is then known to be complete and is not looked at again. ``drain=False``: the
    caller asks for the drain itself, once for the rows it commits together.
    """
    if not digest:
        digest = write_raw(raw)
    # The bytes are on disk: the rows follow in one short transaction (one turn of the
    # database's write lock, which the disk flush above never holds).
    with transaction.atomic():
        entry = new_entry(
            raw,
            digest,
            channel=channel,
            recipient=recipient,
            envelope_from=envelope_from,
            department=department,
            source_ref=source_ref,
        )
        if drain:
            transaction.on_commit(request_drain)
    return entry


def new_entry(
    raw: bytes,
    digest: str,
    *,
    channel: str,
    recipient: str = "",
    envelope_from: str = "",
    department: Department | None = None,
    source_ref: str = "",
) -> InboundMessage:
    """The Blob row and the journal row of bytes that ``write_raw`` has put in place, in
    the caller's transaction (the listener puts the rows of several sessions in one).

    Two plain INSERT statements (``Blob.row_id``, ``core.instances.insert``): built by
    the ORM they took about 0.4 ms of Python per message, several times the database's
    own work.
    """
    entry = InboundMessage(
        channel=channel,
        tenant_id=department.tenant_id if department else None,
        department=department,
        recipient=recipient[:500],
        envelope_from=envelope_from[:500],
        raw_id=Blob.row_id(digest, len(raw)),
        message_id=header_message_id(raw),
        size=len(raw),
        source_ref=source_ref[:200],
    )
    instances.insert(entry)
    log.info("inbound %s accepted via %s (%d bytes)", entry.pk, channel, len(raw))
    return entry


def make_commits_durable() -> None:
    """Make this process's commits survive a power loss, not only a crash, on SQLite.

    SQLite runs in WAL mode with ``synchronous=NORMAL`` (settings.py): a commit
    survives the death of the process, but the last commits before a power loss can
    be lost. That is fine for most writes and not for the journal: the processes that
    confirm receipt (the listener's 250, the pipe command's exit 0, the IMAP poller
    deleting on the server) promise that the message is kept, and the sender drops
    its copy. They call this once; each of their commits then syncs the WAL
    (``synchronous=FULL``). The listener commits the rows of several sessions
    together, so the flush is shared. PostgreSQL needs nothing: its commits are
    durable unless its operator turned that off.
    """
    connection_created.connect(_sync_fully, dispatch_uid="vorgang.journal.sync_fully")
    # A connection opened before the call; not inside a transaction, where SQLite
    # refuses to change the setting (tests run in one).
    if connection.connection is not None and not connection.in_atomic_block:
        _sync_fully(connection=connection)


def _sync_fully(*, connection: BaseDatabaseWrapper, **_: Any) -> None:
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA synchronous=FULL")


def write_raw(raw: bytes) -> str:
    """Put the bytes durably (fsynced) where ``Blob.store`` keeps them, without the
    database; returns their SHA-256 (hex), which ``accept`` takes as ``digest``.

    Safe in any thread and idempotent. The listener runs it for parallel sessions in a
    pool of threads before it hands the journal row to its one database thread, so
    their disk flushes overlap instead of queueing behind each other.
    """
    digest = hashlib.sha256(raw).hexdigest()
    Blob.put_file(raw, digest)
    return digest


def request_drain(*, force: bool = False) -> None:
    """Make sure a drain task will look at the journal after this moment.

    A drain that is queued but not started yet will see every entry committed
    before it starts, so a second one is not needed: under a flood of mail this
    keeps one waiting task instead of one per message.
    """
    from .tasks import drain_inbound

    if not force and task_waiting(drain_inbound):
        return
    drain_inbound.enqueue()


def task_waiting(task: Any) -> bool:
    """Whether a run of ``task`` is queued and not started yet (database backend only)."""
    from django_tasks.base import TaskResultStatus
    from django_tasks_db.backend import DatabaseBackend
    from django_tasks_db.models import DBTaskResult

    if not isinstance(task.get_backend(), DatabaseBackend):
        return False
    # Asked once per commit of the listener: plain SQL, not the ORM's compiler.
    return lookups.exists(
        DBTaskResult, "task_path = %s AND status = %s", [task.module_path, TaskResultStatus.READY]
    )


def enqueue(inbound_id: int) -> None:
    from .tasks import process_inbound

    process_inbound.enqueue(inbound_id)


def retry(entries: list[int] | None = None, *, failed: bool = True, stale_after: int = 600) -> int:
    """Queue entries again: the given ids, else every failed one and those left stale.

    A message stays ``received`` or ``processing`` when the worker died while it held
    it; after ``stale_after`` seconds such entries count as abandoned.
    """
    if entries is not None:
        ids = list(
            InboundMessage.objects.filter(pk__in=entries)
            .exclude(status__in=[InboundStatus.PROCESSED, InboundStatus.DUPLICATE])
            .values_list("pk", flat=True)
        )
    else:
        cutoff = clock.now() - timedelta(seconds=stale_after)
        condition = Q(status=InboundStatus.RECEIVED, received_at__lt=cutoff) | Q(
            status=InboundStatus.PROCESSING, started_at__lt=cutoff
        )
        if failed:
            condition |= Q(status=InboundStatus.FAILED)
        ids = list(InboundMessage.objects.filter(condition).values_list("pk", flat=True))
    for pk in ids:
        enqueue(pk)
    return len(ids)
