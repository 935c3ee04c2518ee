"""One lock and one read of a case per all-or-nothing transaction (tickets.locks), and the
written-out reads and writes behind it (tickets.joined, core.instances)."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.db.models.signals import post_save, pre_save
from django.test.utils import CaptureQueriesContext

from tests.factories import TicketFactory
from vorgang.core import instances
from vorgang.tickets import history, joined, locks, services
from vorgang.tickets.models import Article, History, Ticket

pytestmark = pytest.mark.django_db


def _note(body: str = "Vermerk") -> services.ArticleInput:
    return services.ArticleInput(body=body, internal=True)


def _case_reads(queries: CaptureQueriesContext) -> list[str]:
    """The statements that read (or lock) a case row or the end of a history chain."""
    return [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].lstrip().upper().startswith("SELECT")
        and ('FROM "tickets_ticket"' in q["sql"] or 'FROM "tickets_history"' in q["sql"])
    ]


def test_a_scope_locks_and_reads_a_case_once() -> None:
    ticket = TicketFactory()
    with transaction.atomic(), locks.scope():
        with CaptureQueriesContext(connection) as queries:
            services.add_article(None, ticket.pk, _note("eins"))
            services.add_article(None, ticket.pk, _note("zwei"))
        with CaptureQueriesContext(connection) as tagging:
            services.tag(None, ticket.pk, "dringend")
    # One lock of the case and one read of its chain's end, not one of each per service,
    # and no savepoints: an error rolls the whole transaction back.
    assert len(_case_reads(queries)) == 2
    assert _case_reads(tagging) == []
    assert not any("SAVEPOINT" in q["sql"] for q in queries.captured_queries)
    assert list(history.verify()) == []
    ticket.refresh_from_db()
    newest = History.objects.filter(ticket=ticket).order_by("-seq").first()
    assert newest is not None and ticket.history_head == newest.hash
    assert [a.body for a in ticket.articles.order_by("pk")][-2:] == ["eins", "zwei"]


def test_without_a_scope_every_service_locks_anew() -> None:
    ticket = TicketFactory()
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        services.add_article(None, ticket.pk, _note("eins"))
        services.add_article(None, ticket.pk, _note("zwei"))
    assert len(_case_reads(queries)) == 4  # lock and chain end, twice
    assert sum("SAVEPOINT" in q["sql"] for q in queries.captured_queries) >= 2
    assert list(history.verify()) == []


def test_a_case_created_in_the_scope_is_not_locked_again() -> None:
    department = TicketFactory().department
    with transaction.atomic(), locks.scope():
        ticket = services.create_ticket(
            None, department=department, title="Neu", article=_note("erste")
        )
        with CaptureQueriesContext(connection) as queries:
            services.add_article(None, ticket, _note("zweite"))
    assert _case_reads(queries) == []
    assert list(history.verify()) == []
    assert History.objects.filter(ticket=ticket).count() == 3  # created, 2 articles


def test_a_rolled_back_savepoint_makes_the_scope_read_the_case_anew() -> None:
    ticket = TicketFactory()
    with transaction.atomic(), locks.scope():
        locked = services._lock(ticket.pk)
        assert services._lock(ticket.pk) is locked
        try:
            with transaction.atomic():
                services.add_article(None, ticket.pk, _note("verworfen"))
                raise RuntimeError("undo")
        except RuntimeError:
            pass
        # The article and its history entry are gone; what the scope remembered too.
        assert locks.held(ticket.pk) is None
        with CaptureQueriesContext(connection) as queries:
            services.add_article(None, ticket.pk, _note("bleibt"))
        assert len(_case_reads(queries)) == 2
    assert list(history.verify()) == []
    assert not Article.objects.filter(body="verworfen").exists()
    assert Article.objects.filter(body="bleibt").exists()


@pytest.mark.django_db(transaction=True)
def test_nothing_is_remembered_past_the_transaction() -> None:
    ticket = TicketFactory()
    with locks.scope():
        with transaction.atomic():
            services._lock(ticket.pk)
            assert locks.held(ticket.pk) is not None
        assert locks.held(ticket.pk) is None  # committed: the lock is gone
        with transaction.atomic():
            assert locks.held(ticket.pk) is None


def test_a_missing_case_is_not_found() -> None:
    from vorgang.core.errors import NotFound

    with transaction.atomic(), pytest.raises(NotFound):
        services._lock(2**63)
    with transaction.atomic(), pytest.raises(NotFound):
        services._lock(987654)


def test_joined_reads_what_select_related_reads() -> None:
    ticket = TicketFactory()
    found = joined.one("t.id = %s", [ticket.pk])
    expected = Ticket.objects.select_related("state", "department", "citizen").get(pk=ticket.pk)
    assert found is not None
    for field in Ticket._meta.concrete_fields:
        assert getattr(found, field.attname) == getattr(expected, field.attname), field.name
    with CaptureQueriesContext(connection) as queries:
        assert found.state == expected.state
        assert found.department.email_address == expected.department.email_address
        assert found.citizen is not None and found.citizen.email == expected.citizen.email
    assert queries.captured_queries == []  # cached as select_related caches
    assert joined.one("t.id = %s", [ticket.pk + 1000]) is None


def test_insert_and_update_do_what_save_does() -> None:
    ticket = TicketFactory()
    seen: list[tuple[str, bool | None]] = []

    def on_pre(sender, instance, **kwargs) -> None:
        seen.append(("pre", None))

    def on_post(sender, instance, created, **kwargs) -> None:
        seen.append(("post", created))

    pre_save.connect(on_pre, sender=Article)
    post_save.connect(on_post, sender=Article)
    try:
        article = Article(ticket=ticket, kind="note", sender="agent", internal=True, body="Text")
        instances.insert(article)
        assert article.pk is not None and not article._state.adding
        article.body = "Neu"
        instances.update(article, ["body"])
    finally:
        pre_save.disconnect(on_pre, sender=Article)
        post_save.disconnect(on_post, sender=Article)
    assert seen == [("pre", None), ("post", True), ("pre", None), ("post", False)]
    stored = Article.objects.get(pk=article.pk)
    assert stored.body == "Neu"
    assert stored.created_at == article.created_at  # auto_now_add as save sets it
    assert stored.internal is True


def test_insert_many_sets_the_ids_in_order() -> None:
    ticket = TicketFactory()
    rows = [
        Article(ticket=ticket, kind="note", sender="agent", internal=True, body=f"{n}")
        for n in range(3)
    ]
    instances.insert_many(rows)
    assert [Article.objects.get(pk=row.pk).body for row in rows] == ["0", "1", "2"]
