"""Model instances from rows read by cursor, as the ORM would have made them.

``Model.objects.raw`` and querysets spend a good part of a small lookup in Python
(compiling, inspecting the cursor's columns). Hot paths that write their SELECT out
read ``columns(model)`` in table order and hand each row to ``build``: the values are
converted as the ORM converts them (dates on SQLite, JSON, booleans) and the instance
comes from ``Model.from_db``, so it behaves as any instance the ORM loaded.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any, TypeVar

from django.db import DatabaseError, connection, models

M = TypeVar("M", bound=models.Model)


def columns(model: type[models.Model], alias: str) -> str:
    """The SELECT list of ``model``'s concrete fields (table order), as ``alias``."""
    return _columns(model, alias, connection.vendor)


@functools.cache
def _columns(model: type[models.Model], alias: str, vendor: str) -> str:
    del vendor  # part of the cache key: quoting differs per engine
    quote = connection.ops.quote_name
    return ", ".join(f"{alias}.{quote(str(f.column))}" for f in model._meta.concrete_fields)


def width(model: type[models.Model]) -> int:
    """How many values of a row ``build`` takes for ``model``."""
    return len(model._meta.concrete_fields)


def converters(
    model: type[models.Model], names: tuple[str, ...]
) -> tuple[tuple[int, Any, list[Any]], ...]:
    """(index in ``names``, column, converters) of those fields of ``model`` (attribute
    names) whose values the ORM converts as it reads them: dates on SQLite, JSON on both."""
    return _converters(model, names, connection.vendor)


@functools.cache
def _converters(
    model: type[models.Model], names: tuple[str, ...], vendor: str
) -> tuple[tuple[int, Any, list[Any]], ...]:
    del vendor  # part of the cache key: the converters differ per engine
    fields = {field.attname: field for field in model._meta.concrete_fields}
    found = []
    for index, name in enumerate(names):
        column = fields[name].get_col(model._meta.db_table)
        functions = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
        if functions:
            found.append((index, column, functions))
    return tuple(found)


def convert(values: list[Any], found: tuple[tuple[int, Any, list[Any]], ...]) -> None:
    """Apply what ``converters`` found to a row's ``values``, in place."""
    for index, column, functions in found:
        value = values[index]
        for function in functions:
            value = function(value, column, connection)
        values[index] = value


def build(model: type[M], row: Sequence[Any]) -> M:
    """An instance of ``model`` from the values of ``columns(model, ...)``."""
    names = _attnames(model)
    values = list(row)
    convert(values, converters(model, names))
    return model.from_db(connection.alias, list(names), values)


@functools.cache
def _attnames(model: type[models.Model]) -> tuple[str, ...]:
    return tuple(f.attname for f in model._meta.concrete_fields)


def rows(model: type[M], sql: str, params: Sequence[Any]) -> list[M]:
    """Instances of ``model`` for the rows of ``sql`` (whose SELECT list is ``columns``)."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        found = cursor.fetchall()
    return [build(model, row) for row in found]


# --- inserts ---------------------------------------------------------------------------------


@functools.lru_cache(maxsize=256)
def _insert_sql(model: type[models.Model], rows: int, vendor: str) -> tuple[str, tuple[Any, ...]]:
    """INSERT of ``rows`` rows of ``model`` (every concrete field but the automatic id),
    returning the ids; and those fields in order."""
    del vendor  # part of the cache key: quoting and RETURNING differ per engine
    quote = connection.ops.quote_name
    meta = model._meta
    fields = tuple(f for f in meta.local_concrete_fields if f is not meta.auto_field)
    one = f"({', '.join(['%s'] * len(fields))})"
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(str(f.column)) for f in fields)}) "  # noqa: S608
        f"VALUES {', '.join([one] * rows)}"
    )
    if connection.features.can_return_rows_from_bulk_insert:
        sql += f" RETURNING {quote(str(meta.pk.column))}"
    return sql, fields


def insert(obj: models.Model) -> None:
    """Insert a new ``obj`` as ``obj.save()`` would (its pre_save and post_save signals
    included), with the statement written out: the ORM compiled each INSERT for about
    0.3 ms of Python. For models without a ``save`` of their own that matters here."""
    if obj.pk is not None:
        raise ValueError("insert() writes new rows only")
    model = type(obj)
    using = connection.alias
    models.signals.pre_save.send(
        sender=model, instance=obj, raw=False, using=using, update_fields=None
    )
    _insert_rows(model, [obj])
    models.signals.post_save.send(
        sender=model, instance=obj, created=True, update_fields=None, raw=False, using=using
    )


def insert_many(objs: Sequence[models.Model]) -> None:
    """Insert new ``objs`` (one model) in one statement, as ``bulk_create`` does: ids set,
    no signals."""
    if len(objs) > _MANY:
        type(objs[0])._default_manager.bulk_create(objs)  # split as the engine needs
    elif objs:
        _insert_rows(type(objs[0]), objs)


_MANY = 50  # more rows than this go through bulk_create (parameter limits, statement cache)


# Fields whose ``pre_save`` is the attribute and whose ``get_db_prep_save`` hands a value
# of the given type back unchanged on every engine: their values go in as they are.
_PLAIN: dict[type[Any], type] = {
    models.CharField: str,
    models.TextField: str,
    models.BooleanField: bool,
    models.IntegerField: int,
    models.PositiveIntegerField: int,
    models.BigIntegerField: int,
    models.PositiveBigIntegerField: int,
    models.ForeignKey: int,
}


def _prepared(obj: models.Model, field: Any, add: bool) -> Any:
    """The value of ``field`` as the ORM's INSERT or UPDATE sends it."""
    plain = _PLAIN.get(type(field))
    if plain is not None:
        value = getattr(obj, field.attname)
        if value is None or type(value) is plain:
            return value
    return field.get_db_prep_save(field.pre_save(obj, add), connection)


def _insert_rows(model: type[models.Model], objs: Sequence[models.Model]) -> None:
    sql, fields = _insert_sql(model, len(objs), connection.vendor)
    params = [_prepared(obj, f, True) for obj in objs for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        if connection.features.can_return_rows_from_bulk_insert:
            ids = [row[0] for row in cursor.fetchall()]
        elif len(objs) == 1:
            ids = [cursor.lastrowid]
        else:  # pragma: no cover - both engines return the ids
            raise NotImplementedError("this database returns no ids of inserted rows")
    for obj, pk in zip(objs, ids, strict=True):
        obj.pk = pk
        obj._state.adding = False
        obj._state.db = connection.alias


# --- updates ---------------------------------------------------------------------------------


@functools.lru_cache(maxsize=256)
def _update_sql(
    model: type[models.Model], names: tuple[str, ...], vendor: str
) -> tuple[str, tuple[Any, ...]]:
    del vendor  # part of the cache key: quoting differs per engine
    quote = connection.ops.quote_name
    fields = tuple(model._meta.get_field(name) for name in names)
    assignments = ", ".join(f"{quote(str(f.column))} = %s" for f in fields)  # type: ignore[union-attr]
    table = quote(model._meta.db_table)
    pk = quote(str(model._meta.pk.column))
    return f"UPDATE {table} SET {assignments} WHERE {pk} = %s", fields  # noqa: S608


def update(obj: models.Model, fields: Sequence[str]) -> None:
    """``obj.save(update_fields=fields)`` (signals and ``auto_now`` included), with the
    statement written out (the ORM compiled it for about 0.4 ms of Python)."""
    model = type(obj)
    using = connection.alias
    names = tuple(dict.fromkeys(fields))
    update_fields = frozenset(names)
    models.signals.pre_save.send(
        sender=model, instance=obj, raw=False, using=using, update_fields=update_fields
    )
    sql, prepared = _update_sql(model, names, connection.vendor)
    params = [_prepared(obj, f, False) for f in prepared]
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, obj.pk])
        if cursor.rowcount == 0:
            raise DatabaseError("Save with update_fields did not affect any rows.")
    models.signals.post_save.send(
        sender=model,
        instance=obj,
        created=False,
        update_fields=update_fields,
        raw=False,
        using=using,
    )
