"""Deep pages from remembered ids (core.paging) give exactly what OFFSET gives."""

from __future__ import annotations

from datetime import timedelta

import psycopg
import pytest
from django.db import connection

from tests.factories import AdminFactory, AgentFactory, DepartmentFactory, TicketFactory
from vorgang.accounts.models import AccessLevel
from vorgang.core import clock, paging
from vorgang.tickets import selectors, services
from vorgang.tickets.models import Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def small_steps(monkeypatch: pytest.MonkeyPatch) -> None:
    """Anchors every 4 cases and deep pages from 8 on, so a few dozen cases suffice."""
    monkeypatch.setattr(paging, "STEP", 4)
    monkeypatch.setattr(paging, "MIN_OFFSET", 8)
    monkeypatch.setattr(paging, "REFRESH_AFTER", 0.0)
    paging.forget_all()


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> dict:
    # The test's own transaction is still open on PostgreSQL, so every case would count
    # as in flight and get no anchor; test_rows_of_a_running_transaction_... checks that.
    monkeypatch.setattr(paging, "_settled_before", lambda using: clock.now() + timedelta(days=1))
    a, b, c = DepartmentFactory(), DepartmentFactory(), DepartmentFactory()
    for i in range(45):
        TicketFactory(department=(a, b, c)[i % 3])
    agent = AgentFactory(departments={a: [AccessLevel.FULL], b: [AccessLevel.FULL]})
    return {"a": a, "b": b, "c": c, "agent": agent, "admin": AdminFactory()}


def offset_pages(user, size: int = 3) -> list[list[int]]:
    """Every page as plain OFFSET cuts it (the reference)."""
    ids = list(
        selectors.visible_tickets(user, AccessLevel.READ)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    return [ids[i : i + size] for i in range(0, len(ids) + size, size)]


def paged(user, size: int = 3) -> list[list[int]]:
    total = selectors.visible_tickets(user, AccessLevel.READ).count()
    return [
        list(selectors.visible_ticket_ids(user, AccessLevel.READ, start, size))
        for start in range(0, total + size, size)
    ]


def test_every_page_matches_offset(world: dict) -> None:
    agent = world["agent"]
    assert len(offset_pages(agent)) > 10
    assert paged(agent) == offset_pages(agent)
    # The second pass reads the directory built by the first.
    assert paged(agent) == offset_pages(agent)
    (directory,) = paging._directories.values()
    assert len(directory.anchors) == (len(offset_pages(agent, 1)) - 2) // 4 + 1


def test_cases_created_later_append_without_shifting_pages(world: dict) -> None:
    agent = world["agent"]
    paged(agent)
    for _ in range(9):
        TicketFactory(department=world["a"])
    assert paged(agent) == offset_pages(agent)


def test_a_move_out_of_the_scope_shifts_the_pages_after_it(world: dict) -> None:
    agent, admin = world["agent"], world["admin"]
    paged(agent)  # directory built
    first_visible = selectors.visible_tickets(agent, AccessLevel.READ).order_by("pk").first()
    services.move(None, first_visible, world["c"])
    assert paged(agent) == offset_pages(agent)
    assert paged(admin) == offset_pages(admin)


def test_a_move_into_the_scope_and_a_deletion_too(world: dict) -> None:
    agent, admin = world["agent"], world["admin"]
    paged(agent)
    paged(admin)
    outside = Ticket.objects.filter(department=world["c"]).order_by("pk").first()
    services.move(None, outside, world["a"])
    assert paged(agent) == offset_pages(agent)
    services.delete_ticket(admin, Ticket.objects.order_by("pk")[2])
    assert paged(agent) == offset_pages(agent)
    assert paged(admin) == offset_pages(admin)


def test_a_directory_read_before_a_move_is_not_kept(world: dict) -> None:
    """The build rechecks the epoch under lock: a move meanwhile discards what it read."""
    agent = world["agent"]
    visible = selectors.visible_tickets(agent, AccessLevel.READ)
    stale_epoch = paging._epoch(agent.tenant_id, "default")
    paging.rows_changed(agent.tenant_id)
    assert paging._build(visible.order_by("pk"), agent.tenant_id, "x", stale_epoch) is None
    fresh = paging._build(visible.order_by("pk"), agent.tenant_id, "x", stale_epoch + 1)
    assert fresh is not None and fresh.anchors[0] == visible.order_by("pk").first().pk


def test_citizens_and_shallow_pages_use_plain_offset(world: dict) -> None:
    citizen = Ticket.objects.order_by("pk").first().citizen
    assert list(selectors.visible_ticket_ids(citizen, AccessLevel.READ, 0, 5)) == [
        t.pk for t in Ticket.objects.filter(citizen=citizen).order_by("pk")
    ]
    singles = [page[0] for page in offset_pages(world["agent"], 1) if page]
    assert (
        list(selectors.visible_ticket_ids(world["agent"], AccessLevel.READ, 4, 3)) == singles[4:7]
    )
    assert not paging._directories  # nothing deep was asked


def test_scope_keys_are_short_and_order_free() -> None:
    assert paging.scope_key("tickets", [3, 1, 2]) == "tickets:1,2,3"
    long = paging.scope_key("tickets", range(100))
    assert len(long) < 80 and long == paging.scope_key("tickets", reversed(range(100)))


@pytest.mark.django_db(transaction=True)
def test_rows_of_a_running_transaction_get_no_anchor() -> None:
    """PostgreSQL: anchors stop before rows created since the oldest writing transaction."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite has one writer at a time: every row it shows is settled")
    settings = connection.get_connection_params()
    with psycopg.connect(**settings) as other:
        other.execute("CREATE TEMP TABLE t_paging (x int)")  # a write: the transaction has an xid
        (started,) = other.execute("SELECT xact_start FROM pg_stat_activity WHERE pid = pg_backend_pid()").fetchone()  # fmt: skip
        assert paging._settled_before("default") <= started
        other.rollback()
    assert paging._settled_before("default") > clock.now().replace(year=2000)
