"""Indexes on tickets_ticket for the desk's overviews (PostgreSQL only).

They live here, not in the tickets app, because the overviews are what need them
(see desk/overviews.py and bench/desk.py, whose EXPLAIN output they were chosen by).
Open cases are a fifth of all cases or less; partial indexes over them keep the
overview counts index-only scans and the lists ordered scans:

- ``desk_ticket_open_cover``: the aggregated count of all built-in overviews of open
  cases (department, state, owner, service, dates in the index: no table rows read);
- ``desk_ticket_open_created``: open cases newest/oldest first (the default order);
- ``desk_ticket_pending``: waiting cases by their date (waiting, reminder reached);
- ``desk_ticket_closed``: recently closed cases.

CREATE INDEX CONCURRENTLY does not block writes on a large table, which is why the
migration is not atomic. SQLite (the embedded default, small installs) gets none of
them: its planner does well enough with the tickets app's own indexes there.
"""

from __future__ import annotations

from django.db import migrations

from vorgang.core.migration_ops import PostgreSQLOnly

INDEXES = {
    "desk_ticket_open_cover": (
        "(tenant_id, department_id, state_id) "
        "INCLUDE (owner_id, service_id, pending_until, created_at) WHERE closed_at IS NULL"
    ),
    "desk_ticket_open_created": "(tenant_id, created_at) WHERE closed_at IS NULL",
    "desk_ticket_pending": "(tenant_id, pending_until) WHERE pending_until IS NOT NULL",
    "desk_ticket_closed": "(tenant_id, closed_at) WHERE closed_at IS NOT NULL",
}


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("desk", "0001_initial"),
        ("tickets", "0006_ticket_attributes"),
    ]

    operations = [
        PostgreSQLOnly(
            sql=f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON tickets_ticket {definition}",
            reverse_sql=f"DROP INDEX CONCURRENTLY IF EXISTS {name}",
        )
        for name, definition in INDEXES.items()
    ]
