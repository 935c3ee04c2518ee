"""Accepting a message into the inbound journal, and handing it to processing.

``accept`` returns only once the raw bytes and the journal row are durable;
callers (the LMTP handler, the pipe command, the IMAP poller) confirm receipt
to their peer only after it returned.
"""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q

from vorgang.accounts.models import Department
from vorgang.core import clock
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
) -> InboundMessage:
    """Store ``raw`` durably as a new journal entry and queue its processing."""
    blob = Blob.store(raw)
    with transaction.atomic():
        entry = InboundMessage.objects.create(
            channel=channel,
            tenant_id=department.tenant_id if department else None,
            department=department,
            recipient=recipient[:500],
            envelope_from=envelope_from[:500],
            raw=blob,
            message_id=header_message_id(raw),
            size=len(raw),
            source_ref=source_ref[:200],
        )
        transaction.on_commit(request_drain)
    log.info("inbound %s accepted via %s (%d bytes)", entry.pk, channel, len(raw))
    return entry


def request_drain(*, force: bool = False) -> None:
    """Make sure a drain task will look at the journal after this moment.

    A drain that is queued but not started yet will see every entry committed
    before it starts, so a second one is not needed: under a flood of mail this
    keeps one waiting task instead of one per message.
    """
    from .tasks import drain_inbound

    if not force and _drain_waiting(drain_inbound):
        return
    drain_inbound.enqueue()


def _drain_waiting(task: Any) -> bool:
    from django_tasks.base import TaskResultStatus
    from django_tasks_db.backend import DatabaseBackend
    from django_tasks_db.models import DBTaskResult

    if not isinstance(task.get_backend(), DatabaseBackend):
        return False
    return DBTaskResult.objects.filter(
        task_path=task.module_path, status=TaskResultStatus.READY
    ).exists()


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
