"""``vorgang search reindex``: rebuilds in batches, reports progress, prunes leftovers."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from vorgang.search.backends import current
from vorgang.search.engine import search

pytestmark = pytest.mark.django_db


def test_reindex_rebuilds_a_lost_index(agent, department, make_case) -> None:
    cases = [make_case(department, f"Wohngeld {i}") for i in range(5)]
    current().delete([c.pk for c in cases])
    assert search(agent, "Wohngeld").total == 0
    out = io.StringIO()
    call_command("search", "reindex", "--batch-size", "2", stdout=out)
    assert search(agent, "Wohngeld").total == 5
    lines = out.getvalue().splitlines()
    # Not a terminal: plain lines (the last batch always reports), then the summary.
    assert lines[-2].startswith("reindex: 5/5 cases (100%)")
    assert lines[-1].startswith("Indexed 5 cases")


def test_reindex_draws_a_bar_on_a_terminal(agent, department, make_case) -> None:
    make_case(department, "Wohngeld")

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    out = Terminal()
    call_command("search", "reindex", stdout=out)
    assert "\r[" + "#" * 30 + "] 1/1 cases (100%)" in out.getvalue()


def test_reindex_prunes_index_rows_without_a_case(agent, department, make_case) -> None:
    from django.db import connection

    case = make_case(department, "Wohngeld")
    if connection.vendor != "sqlite":
        pytest.skip("on PostgreSQL the foreign key removes documents with their case")
    with connection.cursor() as cursor:
        # An FTS5 row left behind (e.g. by a raw SQL cleanup) that matches the query.
        cursor.execute("INSERT INTO search_fts (rowid, title) VALUES (999999, 'wohngeld')")
    call_command("search", "reindex", stdout=io.StringIO())
    with connection.cursor() as cursor:
        cursor.execute("SELECT rowid FROM search_fts WHERE search_fts MATCH 'wohngeld'")
        assert [row[0] for row in cursor.fetchall()] == [case.pk]


def test_reindex_rejects_a_silly_batch_size(db) -> None:
    with pytest.raises(CommandError):
        call_command("search", "reindex", "--batch-size", "0", stdout=io.StringIO())


def test_reindex_of_one_tenant(agent, department, make_case) -> None:
    make_case(department, "Wohngeld")
    out = io.StringIO()
    call_command("search", "reindex", "--tenant", str(department.tenant_id), stdout=out)
    assert "Indexed 1 cases" in out.getvalue()


@pytest.mark.django_db(transaction=True)
def test_reindex_in_parallel_processes(tmp_path) -> None:
    """--jobs N on a real database: children set Django up themselves (spawn)."""
    import os
    import subprocess
    import sys

    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("--jobs applies to PostgreSQL")
    from tests.factories import TicketFactory

    cases = [TicketFactory() for _ in range(3)]
    settings_dict = connection.settings_dict
    url = (
        f"postgres://{settings_dict['USER']}:{settings_dict['PASSWORD']}@{settings_dict['HOST']}:"
        f"{settings_dict['PORT']}/{settings_dict['NAME']}"
    )
    env = {**os.environ, "DATABASE_URL": url, "VORGANG_DATA_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "vorgang.cli", "search", "reindex", "--jobs", "2"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1].startswith("Indexed 3 cases")
    from vorgang.search.models import SearchDocument

    assert SearchDocument.objects.filter(ticket_id__in=[c.pk for c in cases]).count() == 3
