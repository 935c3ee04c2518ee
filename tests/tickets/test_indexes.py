"""Every new case maintains every index of its tables: no index twice (migration 0007)."""

from __future__ import annotations

import pytest
from django.db import connection

pytestmark = pytest.mark.django_db


def indexes(table: str) -> dict[str, list[str]]:
    """Name -> columns of the table's indexes (unique ones and the primary key included)."""
    with connection.cursor() as cursor:
        found = connection.introspection.get_constraints(cursor, table)
    return {
        name: list(info["columns"])
        for name, info in found.items()
        if info["index"] or info["unique"] or info["primary_key"]
    }


def test_foreign_keys_that_lead_another_index_have_none_of_their_own() -> None:
    ticket = list(indexes("tickets_ticket").values())
    assert ["tenant_id"] not in ticket  # (tenant_id, department_id, state_id)
    assert ["owner_id"] not in ticket  # (owner_id, state_id)
    assert ticket.count(["citizen_id"]) == 1  # once, not twice
    assert ["tenant_id", "department_id", "state_id"] in ticket
    assert ["owner_id", "state_id"] in ticket
    history = list(indexes("tickets_history").values())
    assert ["ticket_id"] not in history
    assert ["ticket_id", "seq"] in history  # history_unique_seq serves lookups by case


def test_no_prefix_indexes_on_columns_only_looked_up_whole() -> None:
    names = set(indexes("tickets_ticket")) | set(indexes("tickets_article"))
    assert not {name for name in names if name.endswith("_like")}
    # The unique indexes stay.
    ticket = list(indexes("tickets_ticket").values())
    assert ["number"] in ticket
    assert ["reply_token"] in ticket
