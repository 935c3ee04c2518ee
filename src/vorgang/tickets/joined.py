"""Cases read with their state, department (and citizen) in one statement, without the ORM's
query compiler.

``Ticket.objects.select_related("state", "department", "citizen").filter(...).first()``
cost the mail worker about 1 ms of Python per case it looked up or locked (compiling the
joins, then the instances); the database needed a fraction of that. ``one`` sends the
same join written out and builds the same instances (``core.instances``), the related
rows cached on the case as ``select_related`` caches them.

The case's table is ``t`` in ``where``; every value goes in ``params``.
"""

from __future__ import annotations

import functools
from typing import Any

from django.db import connection, models

from vorgang.core import instances

from .models import Ticket

# The relations ``one`` reads along by default: NULL-able ones with a LEFT JOIN.
RELATIONS = ("state", "department", "citizen")


@functools.cache
def _select(related: tuple[str, ...], vendor: str) -> str:
    del vendor  # part of the cache key: quoting differs per engine
    quote = connection.ops.quote_name
    parts = [instances.columns(Ticket, "t")]
    joins = []
    for i, name in enumerate(related):
        field = Ticket._meta.get_field(name)
        model = _model(name)
        parts.append(instances.columns(model, f"r{i}"))
        join = "LEFT JOIN" if field.null else "INNER JOIN"
        table = quote(model._meta.db_table)
        joins.append(f"{join} {table} r{i} ON r{i}.{quote('id')} = t.{quote(str(field.column))}")  # type: ignore[union-attr]
    return (
        f"SELECT {', '.join(parts)} FROM {quote(Ticket._meta.db_table)} t "  # noqa: S608
        + " ".join(joins)
    )


def _model(name: str) -> type[models.Model]:
    model: type[models.Model] = Ticket._meta.get_field(name).related_model  # type: ignore[assignment]
    return model


def one(
    where: str,
    params: list[Any],
    *,
    related: tuple[str, ...] = RELATIONS,
    lock: bool = False,
) -> Ticket | None:
    """The case matching ``where`` (at most one may: no ORDER BY), with ``related`` cached;
    ``lock``: with the case's row locked (only the case's, not the related rows)."""
    sql = f"{_select(related, connection.vendor)} WHERE {where}"
    if lock and connection.features.has_select_for_update:
        sql += " FOR UPDATE OF t" if connection.features.has_select_for_update_of else " FOR UPDATE"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    start = instances.width(Ticket)
    ticket = instances.build(Ticket, row[:start])
    for name in related:
        model = _model(name)
        part = row[start : start + instances.width(model)]
        start += instances.width(model)
        # As select_related: the related row cached on the case (None for a NULL key).
        related_row = None if part[0] is None else instances.build(model, part)
        Ticket._meta.get_field(name).set_cached_value(ticket, related_row)  # type: ignore[union-attr]
    return ticket
