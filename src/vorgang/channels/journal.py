"""Accepting a message into the inbound journal, and handing it to processing.

``accept`` returns only once the raw bytes and the journal row are durable;
callers (the LMTP handler, the pipe command, the IMAP poller) confirm receipt
to their peer only after it returned.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.signals import connection_created
from django.db.models import Field, Q

from vorgang.accounts.models import Department
from vorgang.core import clock, lookups
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
        values = entry_values(
            raw,
            channel=channel,
            recipient=recipient,
            envelope_from=envelope_from,
            department=department,
            source_ref=source_ref,
        )
        pk = _insert_rows(raw, digest, values)
        if drain:
            transaction.on_commit(request_drain)
    log.info("inbound %s accepted via %s (%d bytes)", pk, channel, len(raw))
    del values["department_id"]  # given as the object, which the entry then holds
    entry = InboundMessage(pk=pk, department=department, **values)
    entry._state.adding = False
    entry._state.db = connection.alias
    return entry


def entry_values(
    raw: bytes,
    *,
    channel: str,
    recipient: str = "",
    envelope_from: str = "",
    department: Department | None = None,
    source_ref: str = "",
) -> dict[str, Any]:
    """The journal row's own values (by attribute name) for ``raw``; the rest default."""
    return {
        "channel": channel,
        "tenant_id": department.tenant_id if department else None,
        "department_id": department.pk if department else None,
        "recipient": recipient[:500],
        "envelope_from": envelope_from[:500],
        "message_id": header_message_id(raw),
        "size": len(raw),
        "source_ref": source_ref[:200],
        "received_at": clock.now(),
    }


def insert_entry(raw: bytes, digest: str, **values: Any) -> int:
    """The Blob row and the journal row of bytes that ``write_raw`` has put in place;
    the journal row's id. ``values``: as for :func:`entry_values`.

    Two plain INSERT statements, no transaction of its own: the caller holds one (the
    listener puts the rows of several sessions in one). Built by the ORM this took
    about 0.4 ms of Python per message, several times the database's own work.
    """
    row = entry_values(raw, **values)
    pk = _insert_rows(raw, digest, row)
    log.info("inbound %s accepted via %s (%d bytes)", pk, row["channel"], len(raw))
    return pk


def _insert_rows(raw: bytes, digest: str, values: dict[str, Any]) -> int:
    """The Blob row (``Blob.row_id``: one statement, new or there already), then the
    journal row (``values`` by attribute name, every other column its field's default,
    as the ORM would insert it); the journal row's id."""
    db = connections[DEFAULT_DB_ALIAS]
    # SQLite before 3.35 returns no ids from an INSERT: then a look-up / lastrowid.
    returning = db.features.can_return_columns_from_insert
    sql, fields, defaults = _insert_statement(db.vendor, returning)
    values["raw_id"] = Blob.row_id(digest, len(raw))
    with db.cursor() as cursor:
        params = [
            _prepared(field, values[field.attname], db) if field.attname in values else default()
            for field, default in zip(fields, defaults, strict=True)
        ]
        cursor.execute(sql, params)
        return int(cursor.fetchone()[0]) if returning else int(cursor.lastrowid)


def _prepared(field: Field[Any, Any], value: Any, db: BaseDatabaseWrapper) -> Any:
    """``value`` ready for the database; strings, integers and None as they are (what
    the char, integer and foreign key fields of the journal make of them anyway)."""
    if value is None or type(value) in (str, int):
        return value
    return field.get_db_prep_save(value, db)


@functools.cache
def _insert_statement(
    vendor: str, returning: bool
) -> tuple[str, list[Field[Any, Any]], list[Callable[[], Any]]]:
    """The journal table's INSERT (per database vendor: quoting differs), its fields,
    and for each a function giving its default, ready for the database."""
    fields = [f for f in InboundMessage._meta.concrete_fields if not f.primary_key]
    quote = connections[DEFAULT_DB_ALIAS].ops.quote_name
    # Names from the model, quoted; every value is a parameter.
    sql = "INSERT INTO {} ({}) VALUES ({})".format(  # noqa: S608
        quote(InboundMessage._meta.db_table),
        ", ".join(quote(_column(f)) for f in fields),
        ", ".join(["%s"] * len(fields)),
    )
    if returning:
        sql += f" RETURNING {quote(_column(InboundMessage._meta.pk))}"
    return sql, fields, [_default(f) for f in fields]


def _column(field: Any) -> str:
    column: str = field.column
    return column


def _default(field: Field[Any, Any]) -> Callable[[], Any]:
    """The field's default for the database; worked out once when it is a constant."""
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        return lambda: field.get_db_prep_save(clock.now(), connection)
    if field.has_default() and callable(field.default):
        return lambda: field.get_db_prep_save(field.get_default(), connection)
    constant = field.get_db_prep_save(field.get_default(), connections[DEFAULT_DB_ALIAS])
    return lambda: constant


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
