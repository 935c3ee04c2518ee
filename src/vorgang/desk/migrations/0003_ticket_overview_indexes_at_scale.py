"""More indexes on tickets_ticket for the overviews at a city's size (PostgreSQL only).

Chosen by the plans of bench/desk.py on 1,000,000 cases (210,000 of them open):

- ``desk_ticket_open_priority``: open cases by priority, newest first. Sorting by
  priority reads one priority after the other (``overviews.ByPriority``) in this order
  instead of sorting all open cases (a second); department and state in the index let
  a count by priority and age (an admin-defined overview "old and urgent") skip the
  table rows.
- ``desk_ticket_closed_cover`` replaces ``desk_ticket_closed``: counting "recently
  closed" (26,000 cases in the last week) read 16,000 table pages for the state and
  department; with them in the index it reads the index alone.
- ``desk_ticket_open_pending``: "reminder reached" by its date, one state: an ordered
  range of this index. The list read 14,000 table pages and sorted 20,000 cases.
  (Its state condition came twice, as lists, which kept PostgreSQL from reading an
  index in order, see ``overviews._open_part``; and "waiting" sorted 90,000 cases,
  0.7 s, because its query did not say ``pending_until IS NOT NULL``: with it, 0002's
  ``desk_ticket_pending`` gives the waiting cases in date order.)
- ``desk_ticket_closed_department``: "recently closed" of an agent with one or a few
  departments, newest first: in ``desk_ticket_closed_cover`` order the cases of all
  departments come by, about twenty read for each one listed.

Built with CREATE INDEX CONCURRENTLY (no write lock on a large table), so the migration
is not atomic; SQLite gets none of them, as in 0002.
"""

from __future__ import annotations

from django.db import migrations

from vorgang.core.migration_ops import PostgreSQLOnly

CREATE = {
    "desk_ticket_open_priority": (
        "(tenant_id, priority_id, created_at) INCLUDE (department_id, state_id) "
        "WHERE closed_at IS NULL"
    ),
    "desk_ticket_closed_cover": (
        "(tenant_id, closed_at) INCLUDE (department_id, state_id) WHERE closed_at IS NOT NULL"
    ),
    "desk_ticket_open_pending": (
        "(tenant_id, state_id, pending_until) INCLUDE (department_id) "
        "WHERE closed_at IS NULL AND pending_until IS NOT NULL"
    ),
    "desk_ticket_closed_department": (
        "(tenant_id, department_id, closed_at) INCLUDE (state_id) WHERE closed_at IS NOT NULL"
    ),
}
REPLACED = {"desk_ticket_closed": "(tenant_id, closed_at) WHERE closed_at IS NOT NULL"}


def create(name: str, definition: str) -> str:
    return f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON tickets_ticket {definition}"


def drop(name: str) -> str:
    return f"DROP INDEX CONCURRENTLY IF EXISTS {name}"


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("desk", "0002_ticket_overview_indexes")]

    operations = [
        *(
            PostgreSQLOnly(sql=create(name, definition), reverse_sql=drop(name))
            for name, definition in CREATE.items()
        ),
        *(
            PostgreSQLOnly(sql=drop(name), reverse_sql=create(name, definition))
            for name, definition in REPLACED.items()
        ),
    ]
