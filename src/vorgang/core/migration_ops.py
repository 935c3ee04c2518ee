"""Operations shared by migrations of several apps."""

from __future__ import annotations

from typing import Any

from django.db import migrations


class PostgreSQLOnly(migrations.RunSQL):
    """RunSQL that runs on PostgreSQL and does nothing on other databases.

    For what only PostgreSQL has or needs (partial covering indexes built with
    CREATE INDEX CONCURRENTLY); the embedded SQLite default gets none of it.
    """

    def database_forwards(self, app_label: str, schema_editor: Any, *args: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, *args)

    def database_backwards(self, app_label: str, schema_editor: Any, *args: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, *args)
