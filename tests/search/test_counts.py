"""Search at scale: estimated counts past COUNT_LIMIT, relevance pages past RANK_LIMIT,
phrases with dates narrowed by their date words.

The limits are 1,000 in production; here they are lowered to a handful so that a few
cases cross them. SQLite always counts exactly.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from tests.api.helpers import call
from vorgang.core import clock
from vorgang.search import indexing
from vorgang.search.backends import postgres
from vorgang.search.engine import search
from vorgang.tickets.models import Ticket

postgres_only = pytest.mark.skipif(
    "connection.vendor != 'postgresql'", reason="estimates and RANK_LIMIT are PostgreSQL's"
)


@pytest.fixture
def six(department, make_case) -> list[int]:
    """Six cases about Wohngeld, one day apart (the first is the oldest)."""
    made = [make_case(department, f"Wohngeld Fall {i}").pk for i in range(6)]
    for age, pk in enumerate(reversed(made)):
        Ticket.objects.filter(pk=pk).update(created_at=clock.now() - timedelta(days=age))
    indexing.index(made)
    return made


def test_small_counts_are_exact(agent, six) -> None:
    result = search(agent, "Wohngeld")
    assert result.total == 6 and result.total_exact


@postgres_only
def test_counts_past_the_limit_are_estimates_and_paging_goes_on(agent, six, monkeypatch) -> None:
    monkeypatch.setattr(postgres, "COUNT_LIMIT", 3)
    first = search(agent, "Wohngeld", per_page=4, sort="date")
    assert not first.total_exact
    assert first.total >= 4  # at least what the capped count saw
    assert [h.ticket_id for h in first.hits] == sorted(six, reverse=True)[:4]
    second = search(agent, "Wohngeld", page=2, per_page=4, sort="date")
    assert [h.ticket_id for h in second.hits] == sorted(six, reverse=True)[4:]
    past = search(agent, "Wohngeld", page=3, per_page=4, sort="date")
    assert past.error is None and past.hits == []
    # Under the limit the count is exact again.
    assert search(agent, "Wohngeld Fall 2").total_exact


@postgres_only
def test_estimates_count_only_visible_cases(
    agent, department, other_department, six, make_case, monkeypatch
) -> None:
    for i in range(30):
        make_case(other_department, f"Wohngeld fremd {i}")
    monkeypatch.setattr(postgres, "COUNT_LIMIT", 3)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE search_searchdocument")
    result = search(agent, "Wohngeld")
    assert not result.total_exact
    assert 4 <= result.total < 36  # the planner estimates the walled query, not all 36
    assert {h.ticket_id for h in result.hits} <= set(six)


@postgres_only
def test_relevance_ranks_the_newest_matches_then_goes_on_by_date(
    agent, department, make_case, monkeypatch
) -> None:
    older_strong = make_case(department, "Wohngeld Wohngeld", body="Wohngeld Wohngeld").pk
    rest = [make_case(department, f"Anfrage {i}", body="Es geht um Wohngeld.").pk for i in range(4)]
    newest_strong = make_case(department, "Wohngeld Wohngeld", body="Wohngeld Wohngeld").pk
    order = [older_strong, *rest, newest_strong]  # oldest first
    for age, pk in enumerate(reversed(order)):
        Ticket.objects.filter(pk=pk).update(created_at=clock.now() - timedelta(days=age))
    indexing.index(order)
    monkeypatch.setattr(postgres, "RANK_LIMIT", 3)
    pages = [search(agent, "Wohngeld", page=p, per_page=2).hits for p in (1, 2, 3, 4)]
    ids = [h.ticket_id for page in pages for h in page]
    # The newest three ranked (the strong one first), then the older three newest first.
    assert ids[0] == newest_strong
    assert set(ids[:3]) == {newest_strong, rest[3], rest[2]}
    assert ids[3:] == [rest[1], rest[0], older_strong]
    assert pages[3] == []
    assert len(set(ids)) == 6


@pytest.fixture
def estimated(monkeypatch) -> None:
    """Every PostgreSQL count past two matches is an estimate; SQLite tests skip."""
    if connection.vendor != "postgresql":
        pytest.skip("estimates are PostgreSQL's")
    monkeypatch.setattr(postgres, "COUNT_LIMIT", 2)


def test_desk_says_about_and_pages_while_pages_are_full(agent, six, estimated, monkeypatch) -> None:
    from vorgang.desk.views import search as desk_search

    monkeypatch.setattr(desk_search, "PER_PAGE", 4)
    client = Client()
    client.force_login(agent)
    html = client.get(reverse("desk:search"), {"q": "Wohngeld"}).content.decode()
    assert "About" in html or "Etwa" in html
    assert "estimated" in html or "geschätzt" in html
    assert 'rel="next"' in html  # a full page: there may be more
    last = client.get(reverse("desk:search"), {"q": "Wohngeld", "page": "2"}).content.decode()
    assert 'rel="next"' not in last  # two of four: the end
    assert 'rel="prev"' in last


def test_api_marks_an_estimated_count(agent, six, estimated) -> None:
    response = call(Client(), agent, "get", "/tickets/search?query=Wohngeld&per_page=3")
    assert response.status_code == 200
    assert response["X-Vorgang-Count-Estimated"] == "true"
    assert response.json()["tickets_count"] >= 3
    exact = call(Client(), agent, "get", "/tickets/search?query=Fall%202")
    assert "X-Vorgang-Count-Estimated" not in exact


def test_a_phrase_with_a_date_is_found_whatever_separates_the_date(
    agent, department, make_case
) -> None:
    dotted = make_case(department, "Widerspruch", body="Gegen den Bescheid vom 03.04.2025.")
    slashed = make_case(department, "Anfrage", body="Zum Bescheid vom 03/04/2025 habe ich Fragen.")
    make_case(department, "Widerspruch", body="Gegen den Bescheid vom 04.03.2025.")
    make_case(department, "Anfrage", body="Der Bescheid kam am 03.04.2025 an.")
    found = search(agent, '"Bescheid vom 03.04.2025"')
    assert {h.ticket_id for h in found.hits} == {dotted.pk, slashed.pk}
    assert found.total == 2 and found.total_exact
