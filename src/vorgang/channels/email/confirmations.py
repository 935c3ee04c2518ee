"""Sending the confirmations of a drain batch with one task instead of one task each.

A flood of new mail makes a confirmation for most messages. Queued one
``deliver_article`` task each, the worker spent about 2 ms per confirmation (with a
fresh SQLite connection per task, 4 ms) on claiming and recording tasks, on top of
building and sending the mail. Inside ``batched()`` (the drain's batch) a
confirmation is instead noted as a ``PendingConfirmation`` row in the message's own
transaction, and the batch's end queues one ``send_confirmations`` task, which sends
every pending confirmation through ``tickets.tasks.deliver_articles``: the code of
``deliver_article`` (its retries and failure handling unchanged) for a chunk at once,
with one query for the chunk's articles, one mail connection, and one transaction that
records the outcomes. Outside a batch (a single ``process``, the form channel)
each confirmation still gets its own task.

No confirmation is lost when the worker dies: the row is committed with its article,
and ``recover`` (the scheduler, every minute) queues the task for rows that waited
too long. A row is claimed before its mail goes out and deleted after the chunk; a
worker killed in between leaves a claim that expires, and ``deliver_article`` skips an
article whose sending it recorded (a worker killed after sending a chunk but before
recording it sends that chunk again: at most ``CHUNK`` duplicates).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import timedelta

from django.db import transaction
from django.db.models import Q

from vorgang.channels.models import PendingConfirmation
from vorgang.core import clock

log = logging.getLogger(__name__)

# Claimed rows per round: what a killed worker leaves for the claim to expire.
CHUNK = 20
# A claim this old was made by a worker that died; the rows are claimable again.
CLAIM_EXPIRES = timedelta(minutes=10)
# Unsent rows this old get their task queued again by ``recover``.
RECOVER_AFTER = timedelta(minutes=1)

_batch: ContextVar[list[int] | None] = ContextVar("vorgang_confirmation_batch", default=None)


@contextmanager
def batched() -> Iterator[None]:
    """Collect the confirmations queued in the block; queue one send task at its end."""
    if _batch.get() is not None:  # nested: the outer block queues the task
        yield
        return
    committed: list[int] = []
    token = _batch.set(committed)
    try:
        yield
    finally:
        _batch.reset(token)
        if committed:
            request_send()


def queue(article_id: int) -> None:
    """Have the confirmation article ``article_id`` sent once the caller's transaction
    commits (called inside it)."""
    committed = _batch.get()
    if committed is None:
        transaction.on_commit(lambda: _deliver_one(article_id))
        return
    PendingConfirmation.objects.create(article_id=article_id, created_at=clock.now())
    transaction.on_commit(lambda: committed.append(article_id))


def _deliver_one(article_id: int) -> None:
    from vorgang.tickets.tasks import deliver_article

    deliver_article.enqueue(article_id)


def request_send() -> None:
    """Make sure a ``send_confirmations`` task will run after this moment (one waiting
    task sees every row committed before it starts: a second is not needed)."""
    from vorgang.channels.journal import task_waiting
    from vorgang.channels.tasks import send_confirmations

    if not task_waiting(send_confirmations):
        send_confirmations.enqueue()


def send_pending(chunk: int = CHUNK) -> int:
    """Send every pending confirmation, a chunk at a time; how many were handed over."""
    from vorgang.tickets.tasks import deliver_articles

    handed = 0
    while True:
        ids = _claim(chunk)
        if not ids:
            return handed
        article_ids = [article_id for _pk, article_id in ids]
        try:
            deliver_articles(article_ids)
        except Exception as exc:
            # deliver_articles records send failures itself; this is something else (the
            # database went away): a task of its own retries each article of the chunk
            # (it skips one whose outcome was recorded), the next chunk goes on.
            log.warning(
                "%d confirmations could not be sent now: %s", len(article_ids), type(exc).__name__
            )
            for article_id in article_ids:
                _deliver_one(article_id)
        handed += len(article_ids)
        PendingConfirmation.objects.filter(pk__in=[pk for pk, _a in ids]).delete()


def _claim(limit: int) -> list[tuple[int, int]]:
    """Claim up to ``limit`` rows (oldest first): [(row id, article id)]. On PostgreSQL,
    rows another worker is claiming are skipped."""
    now = clock.now()
    with transaction.atomic():
        rows = list(
            PendingConfirmation.objects.select_for_update(skip_locked=True)
            .filter(Q(claimed_at__isnull=True) | Q(claimed_at__lt=now - CLAIM_EXPIRES))
            .order_by("pk")
            .values_list("pk", "article_id")[:limit]
        )
        if rows:
            PendingConfirmation.objects.filter(pk__in=[pk for pk, _a in rows]).update(
                claimed_at=now
            )
    return rows


def recover() -> int:
    """Queue the send task for confirmations left behind (a worker killed before its
    batch queued the task, or while it sent); the number of rows waiting."""
    now = clock.now()
    waiting = PendingConfirmation.objects.filter(
        Q(claimed_at__isnull=True, created_at__lt=now - RECOVER_AFTER)
        | Q(claimed_at__lt=now - CLAIM_EXPIRES)
    ).count()
    if waiting:
        log.info("%d confirmations waited too long; queueing their sending", waiting)
        request_send()
    return waiting
