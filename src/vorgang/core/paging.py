"""Deep pages of id-ordered lists without walking every row before them.

Zammad's API pages ``GET /tickets`` by id with ``page``/``per_page``, and clients that
sync a whole city page through all of it. ``OFFSET n`` makes the database walk n rows
for every page: at 100,000 cases a page near the end costs ~25 ms of database time,
ten times the rest of the request. A page directory remembers the id found at every
``STEP``-th position of a scope (for cases: one tenant and one set of departments);
a page then starts from the nearest anchor at or before it (``id >= anchor``) and
walks fewer than ``STEP`` rows.

An anchor (position p, id a) holds while exactly p rows of the scope have an id below
a. Why that stays true, and what would break it:

- New rows get higher ids than every committed row (sequences and SQLite's
  AUTOINCREMENT only grow), so they never shift an anchor. A row still being written
  in a transaction that began earlier could commit below an anchor later: anchors
  are therefore only set on rows created before the oldest running write
  transaction of the database began (PostgreSQL; SQLite has one writer at a time).
- A row that leaves or joins a scope (a case moved to another department, a case
  deleted) shifts every anchor above it. The services that do that call
  ``rows_changed`` in their transaction; it bumps the tenant's epoch, and every
  directory built under an older epoch is dropped.
- A directory is rebuilt after ``MAX_AGE`` anyway, a backstop for changes made
  outside the services (a manual SQL fix).

Directories live in the memory of each web process (a few thousand integers per
scope); the epoch lives in the database, so all processes agree on it.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import connections, transaction
from django.db.models import Case, F, QuerySet, Value, When

from . import clock
from .models import PagingEpoch

STEP = 1000
# Below this offset the plain OFFSET is as cheap as reading the epoch.
MIN_OFFSET = 2 * STEP
MAX_AGE = 3600.0  # seconds a directory is trusted at most
REFRESH_AFTER = 10.0  # seconds before a directory may be rebuilt for a longer tail
MAX_DIRECTORIES = 256  # scopes kept per process (least recently used go first)


@dataclass(frozen=True)
class _Directory:
    epoch: int
    built: float  # time.monotonic()
    anchors: tuple[int, ...]  # anchors[i] = the id at position i * STEP


_directories: OrderedDict[tuple[int, str], _Directory] = OrderedDict()
_lock = threading.Lock()


def scope_key(label: str, members: Any) -> str:
    """A short key for a scope: ``label`` and the sorted ``members`` (e.g. department ids)."""
    text = f"{label}:{','.join(str(m) for m in sorted(members))}"
    return text if len(text) <= 80 else f"{label}#{hashlib.sha256(text.encode()).hexdigest()}"


def page_ids(
    qs: QuerySet[Any], *, tenant_id: int, scope: str, start: int, size: int
) -> QuerySet[Any, int]:
    """The ids at positions ``start`` .. ``start + size`` of ``qs`` in id order.

    ``qs`` must be exactly the scope that ``scope`` names (the same rows whenever the
    key is the same) within tenant ``tenant_id``, of a model with ``created_at``; its
    own ordering is ignored. The result is a lazy query of ids, so that a caller can
    read the page's rows in the same statement (``pk__in=``).
    """
    ordered = qs.order_by("pk")
    if start < MIN_OFFSET:
        return ordered.values_list("pk", flat=True)[start : start + size]
    epoch = _epoch(tenant_id, qs.db)
    directory = _cached(tenant_id, scope, epoch)
    if directory is None or (
        start - (len(directory.anchors) - 1) * STEP > 2 * STEP
        and time.monotonic() - directory.built > REFRESH_AFTER
    ):
        directory = _build(ordered, tenant_id, scope, epoch)
    if directory is None or not directory.anchors:
        return ordered.values_list("pk", flat=True)[start : start + size]
    index = min(start // STEP, len(directory.anchors) - 1)
    rest = start - index * STEP
    after = ordered.filter(pk__gte=directory.anchors[index])
    return after.values_list("pk", flat=True)[rest : rest + size]


def rows_changed(tenant_id: int) -> None:
    """Call inside the transaction that moves rows between scopes or deletes them.

    The row lock on the tenant's epoch is held until that transaction ends, so a
    directory being built meanwhile sees the new epoch and is thrown away (``_build``).
    """
    if not PagingEpoch.objects.filter(tenant_id=tenant_id).update(epoch=F("epoch") + 1):
        PagingEpoch.objects.bulk_create(
            [PagingEpoch(tenant_id=tenant_id, epoch=1)], ignore_conflicts=True
        )


def forget_all() -> None:
    """Drop this process's directories (tests)."""
    with _lock:
        _directories.clear()


# --- internals ------------------------------------------------------------------------------


def _epoch(tenant_id: int, using: str) -> int:
    """The tenant's epoch; its row is made on first use, so that movers lock it.

    Plain SQL: every deep page reads it, and the ORM would spend more Python on
    building the statement than the database spends answering it.
    """
    connection = connections[using]
    table = connection.ops.quote_name(PagingEpoch._meta.db_table)
    sql = f"SELECT epoch FROM {table} WHERE tenant_id = %s"  # noqa: S608 - name from _meta
    with connection.cursor() as cursor:
        cursor.execute(sql, [tenant_id])
        found = cursor.fetchone()
        if found is None:
            PagingEpoch.objects.using(using).bulk_create(
                [PagingEpoch(tenant_id=tenant_id, epoch=0)], ignore_conflicts=True
            )
            cursor.execute(sql, [tenant_id])
            found = cursor.fetchone()
    return int(found[0]) if found else 0


def _cached(tenant_id: int, scope: str, epoch: int) -> _Directory | None:
    with _lock:
        found = _directories.get((tenant_id, scope))
        if found is None:
            return None
        if found.epoch != epoch or time.monotonic() - found.built > MAX_AGE:
            del _directories[(tenant_id, scope)]
            return None
        _directories.move_to_end((tenant_id, scope))
        return found


def _build(ordered: QuerySet[Any], tenant_id: int, scope: str, epoch: int) -> _Directory | None:
    """Reads the id at every STEP-th position; None if rows changed scope meanwhile."""
    using = ordered.db
    with transaction.atomic(using=using):
        settled = _settled_before(using)
        rows = ordered.order_by().annotate(
            anchor_id=F("pk"),
            anchor_settled=Case(When(created_at__lt=settled, then=Value(1)), default=Value(0)),
        )
        inner, params = rows.values("anchor_id", "anchor_settled").query.sql_with_params()
        # ``inner`` is Django's own SQL; every value in it is a parameter.
        numbered = (
            "SELECT s.anchor_id, s.anchor_settled, "  # noqa: S608
            f"ROW_NUMBER() OVER (ORDER BY s.anchor_id) AS n FROM ({inner}) AS s"
        )
        sql = (
            f"SELECT w.anchor_id, w.anchor_settled FROM ({numbered}) AS w "  # noqa: S608
            f"WHERE (w.n - 1) %% {STEP} = 0 ORDER BY w.anchor_id"
        )
        with connections[using].cursor() as cursor:
            cursor.execute(sql, params)
            found = cursor.fetchall()
        # Waits for a transaction that is moving rows right now (it holds the row),
        # then sees its new epoch: what was just read may be from before that move.
        now_epoch = (
            PagingEpoch.objects.using(using)
            .select_for_update()
            .filter(tenant_id=tenant_id)
            .values_list("epoch", flat=True)
            .first()
        )
    if now_epoch != epoch:
        return None
    anchors: list[int] = []
    for anchor_id, is_settled in found:
        if not is_settled:
            break  # from here on a row still being written could land below
        anchors.append(anchor_id)
    directory = _Directory(epoch=epoch, built=time.monotonic(), anchors=tuple(anchors))
    with _lock:
        _directories[(tenant_id, scope)] = directory
        _directories.move_to_end((tenant_id, scope))
        while len(_directories) > MAX_DIRECTORIES:
            _directories.popitem(last=False)
    return directory


def _settled_before(using: str) -> Any:
    """Rows created before this moment are committed or rolled back, never in flight.

    PostgreSQL: the start of the oldest transaction of this database that has written
    something (one second earlier, for the clocks of other hosts). That assumes that
    web and workers connect as one database role: a role without pg_read_all_stats
    does not see other roles' transactions. SQLite writes in one transaction at a
    time, so every row it shows is settled.
    """
    now = clock.now()
    connection = connections[using]
    if connection.vendor != "postgresql":
        return now + timedelta(days=1)  # also rows a clock a little ahead stamped
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT min(xact_start) FROM pg_stat_activity "
            "WHERE datname = current_database() AND backend_xid IS NOT NULL"
        )
        oldest = cursor.fetchone()[0]
    oldest = now if oldest is None or oldest > now else oldest
    return oldest - timedelta(seconds=1)
