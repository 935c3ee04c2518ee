"""The search backend of the current database: PostgreSQL full-text or SQLite FTS5."""

from __future__ import annotations

from django.db import connection

from .base import Backend


def current() -> Backend:
    if connection.vendor == "postgresql":
        from .postgres import PostgresBackend

        return PostgresBackend()
    if connection.vendor == "sqlite":
        from .sqlite import SQLiteBackend

        return SQLiteBackend()
    raise RuntimeError(f"search supports PostgreSQL and SQLite, not {connection.vendor}")
