"""A reindex split over several processes, each taking its own range of case ids.

On PostgreSQL most of a reindex is the database building tsvectors, one core per
connection; N processes keep N cores busy. Progress comes back over a queue.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import queue as queues
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

# Nothing here imports models at module level: a spawned child imports this module
# (to find _work) before it has set Django up.
if TYPE_CHECKING:
    from . import indexing


def _work(
    start: int, stop: int, options: dict[str, Any], queue: Any
) -> None:  # pragma: no cover - runs in a child process
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vorgang.conf.settings")
    django.setup()
    from vorgang.search import indexing as child_indexing

    filters = dict(options["ticket_filter"] or {})
    filters.update({"pk__gte": start, "pk__lt": stop})
    last_done = last_extracted = 0

    def report(progress: indexing.Progress) -> None:
        nonlocal last_done, last_extracted
        queue.put(("batch", progress.done - last_done, progress.extracted - last_extracted))
        last_done, last_extracted = progress.done, progress.extracted

    child_indexing.reindex_all(
        batch_size=options["batch_size"],
        with_attachments=options["with_attachments"],
        ticket_filter=filters,
        on_batch=report,
    )
    queue.put(("done", 0, 0))


def reindex(
    jobs: int,
    *,
    batch_size: int,
    with_attachments: bool,
    ticket_filter: dict[str, object] | None,
    on_batch: Callable[[indexing.Progress], None] | None = None,
) -> indexing.Progress:
    from django.db import connection, transaction

    from vorgang.tickets.models import Ticket

    from . import indexing
    from .backends import current

    base = Ticket.objects.filter(**(ticket_filter or {}))
    total = base.count()
    ids = base.order_by("pk").values_list("pk", flat=True)
    first, last = ids.first(), base.order_by("-pk").values_list("pk", flat=True).first()
    progress = indexing.Progress(done=0, total=total, extracted=0)
    if first is None or last is None:
        return progress
    step = (last - first) // jobs + 1
    bounds = [(first + i * step, min(first + (i + 1) * step, last + 1)) for i in range(jobs)]
    options = {
        "batch_size": batch_size,
        "with_attachments": with_attachments,
        "ticket_filter": ticket_filter,
    }
    connection.close()  # children open their own; never share a connection across fork
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_work, args=(a, b, options, queue)) for a, b in bounds]
    for p in procs:
        p.start()
    running = len(procs)
    while running:
        try:
            kind, done, extracted = queue.get(timeout=5)
        except queues.Empty:
            if not any(p.is_alive() for p in procs):
                break  # all gone without saying so: they failed (see below)
            continue
        if kind == "done":
            running -= 1
            continue
        progress.done += done
        progress.extracted += extracted
        if on_batch is not None:
            on_batch(progress)
    for p in procs:
        p.join()
        if p.exitcode != 0:
            raise RuntimeError(f"a reindex process failed (exit code {p.exitcode})")
    connection.close()
    if not ticket_filter:
        with transaction.atomic():
            current().prune()
    return progress
