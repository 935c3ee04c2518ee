"""The small lookups every create makes, in plain SQL.

Building and compiling a query costs the ORM 0.3-0.6 ms of Python, several times what
the database needs to find a state, a priority or a department by name among a few
dozen rows, or a citizen by address; a case created through the API made six such
lookups. ``raw`` skips the compiler and still returns model instances whose values the
ORM's converters read (booleans, dates and JSON on SQLite), so callers get the same
objects as before.

``where`` and ``order_by`` are SQL written by the caller with column names only;
every value goes in ``params``.
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.db import connections, models, router

M = TypeVar("M", bound=models.Model)


def _table(model: type[models.Model]) -> str:
    return connections[router.db_for_read(model)].ops.quote_name(model._meta.db_table)


def rows(
    model: type[M], where: str, params: list[Any], *, order_by: str = "id", limit: int = 0
) -> list[M]:
    """The rows of ``model``'s table that match ``where``, ordered by ``order_by`` (in
    the database's own order with ``order_by=""``)."""
    sql = f"SELECT * FROM {_table(model)} WHERE {where}"  # noqa: S608
    if order_by:
        sql += f" ORDER BY {order_by}"
    if limit:
        sql += f" LIMIT {int(limit)}"
    return list(model._default_manager.raw(sql, params))


def first(model: type[M], where: str, params: list[Any], *, order_by: str = "id") -> M | None:
    """The first matching row, or None."""
    found = rows(model, where, params, order_by=order_by, limit=1)
    return found[0] if found else None


def exists(model: type[models.Model], where: str, params: list[Any]) -> bool:
    """Whether any row matches (without reading one)."""
    connection = connections[router.db_for_read(model)]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT 1 FROM {_table(model)} WHERE {where} LIMIT 1", params)  # noqa: S608
        return cursor.fetchone() is not None
