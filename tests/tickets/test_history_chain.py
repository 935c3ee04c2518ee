"""The history chain as the write path builds it: fewer statements, the same chain."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from tests.factories import DepartmentFactory, TicketFactory
from vorgang.core import clock
from vorgang.core.errors import InvalidInput
from vorgang.tickets import history, services
from vorgang.tickets.models import History, Ticket

pytestmark = pytest.mark.django_db


def test_a_new_case_with_tags_and_article_has_a_valid_chain_and_head() -> None:
    department = DepartmentFactory()
    ticket = services.create_ticket(
        None,
        department=department,
        title="Wohngeld",
        tags=["dringend", "wohngeld"],
        article=services.ArticleInput(body="Guten Tag", kind="email"),
    )

    entries = list(History.objects.filter(ticket=ticket).order_by("seq"))
    assert [e.action for e in entries] == ["created", "tag_added", "tag_added", "article_added"]
    assert [e.seq for e in entries] == [1, 2, 3, 4]
    ticket.refresh_from_db()
    assert ticket.history_head == entries[-1].hash
    assert list(history.verify()) == []


def test_a_new_case_reads_no_chain_end_and_an_article_updates_the_case_once() -> None:
    department = DepartmentFactory()
    with CaptureQueriesContext(connection) as queries:
        ticket = services.create_ticket(
            None,
            department=department,
            title="Ohne Lesen",
            article=services.ArticleInput(body="Text", kind="email"),
        )
    sql = [q["sql"] for q in queries.captured_queries]
    # The chain of a brand-new case is known to be empty.
    assert not [s for s in sql if s.startswith("SELECT") and 'FROM "tickets_history"' in s]
    case_updates = [s for s in sql if s.startswith('UPDATE "tickets_ticket"')]
    assert len(case_updates) == 1  # updated_at and the history head together
    ticket.refresh_from_db()
    assert ticket.history_head == History.objects.filter(ticket=ticket).latest("seq").hash


def test_a_new_case_writes_its_whole_history_in_one_insert() -> None:
    """The entries "created", each tag and the first article: one INSERT, the same chain."""
    department = DepartmentFactory()
    with CaptureQueriesContext(connection) as queries:
        ticket = services.create_ticket(
            None,
            department=department,
            title="In einem Zug",
            tags=["eins", "zwei"],
            article=services.ArticleInput(body="Text"),
        )
    inserts = [q for q in queries.captured_queries if 'INSERT INTO "tickets_history"' in q["sql"]]
    assert len(inserts) == 1
    entries = list(History.objects.filter(ticket=ticket).order_by("seq"))
    assert [(e.seq, e.action) for e in entries] == [
        (1, "created"),
        (2, "tag_added"),
        (3, "tag_added"),
        (4, "article_added"),
    ]
    assert entries[0].new_value == ticket.number
    ticket.refresh_from_db()
    assert ticket.history_head == entries[-1].hash
    assert list(history.verify()) == []
    # Nothing stays buffered on the returned instance: a later change writes at once.
    services.set_title(None, ticket, "Danach")
    assert History.objects.filter(ticket=ticket).count() == 5


def test_a_failed_create_leaves_no_history_behind() -> None:
    department = DepartmentFactory()
    with pytest.raises(InvalidInput, match="empty"):
        services.create_ticket(
            None, department=department, title="Leer", article=services.ArticleInput(body=" ")
        )
    assert not History.objects.exists()
    assert not Ticket.objects.exists()


def test_the_returned_case_forgets_its_chain_end() -> None:
    """Later writes read the chain's end from the table again (another process may have
    appended meanwhile); a remembered end would fork the chain."""
    department = DepartmentFactory()
    ticket = services.create_ticket(None, department=department, title="Erst")
    # Someone else appends in between (e.g. another request on the same case).
    services.add_article(None, ticket.pk, services.ArticleInput(body="Dazwischen"))
    history.record(ticket, None, "updated", "title", "Erst", "Zweit")

    seqs = list(History.objects.filter(ticket=ticket).order_by("seq").values_list("seq", flat=True))
    assert seqs == [1, 2, 3]
    assert list(history.verify()) == []


def test_append_chains_several_entries_in_one_insert() -> None:
    ticket = TicketFactory()
    before = History.objects.filter(ticket=ticket).count()
    entries = [
        History(actor_id=None, created_at=clock.now(), action="updated", field="x", new_value=v)
        for v in ("a", "b", "c")
    ]
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        locked = Ticket.objects.select_for_update().get(pk=ticket.pk)
        history.append(locked, entries)
        Ticket.objects.filter(pk=locked.pk).update(history_head=locked.history_head)

    inserts = [q for q in queries.captured_queries if 'INSERT INTO "tickets_history"' in q["sql"]]
    assert len(inserts) == 1
    assert [e.seq for e in entries] == [before + 1, before + 2, before + 3]
    assert entries[1].prev_hash == entries[0].hash
    assert list(history.verify()) == []
