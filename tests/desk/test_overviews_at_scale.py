"""What the overviews do so that they stay fast with a city's million cases (bench/desk.py):
priority order read level by level, a limit on paging, a tag looked up once."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse

from vorgang.core import clock
from vorgang.desk import overviews
from vorgang.desk.views import overviews as overview_views
from vorgang.tickets import services
from vorgang.tickets.models import Priority, Ticket

from .conftest import World, make_ticket

pytestmark = pytest.mark.django_db

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def rows(html: str) -> list[str]:
    return re.findall(r'<th scope="row"[^>]*>(\w+)</th>', html)


@pytest.fixture
def mixed(world: World) -> list[Ticket]:
    """Eleven open cases over all priorities, received an hour apart (ties on purpose)."""
    levels = list(Priority.objects.order_by("level"))
    cases = []
    for n in range(11):
        ticket = make_ticket(world.department, title=f"Fall {n}")
        services.set_priority(None, ticket, levels[n % len(levels)])
        at = clock.now() - timedelta(hours=n // 2)  # two cases each at the same time
        Ticket.objects.filter(pk=ticket.pk).update(created_at=at)
        cases.append(ticket)
    return cases


@pytest.mark.parametrize("sort", ["-priority", "priority"])
def test_priority_order_read_level_by_level_is_the_sorted_order(
    world: World, mixed: list[Ticket], sort: str
) -> None:
    """Every slice (as pages take them, across the levels' borders and past the end)
    holds what ORDER BY the priority's level would."""
    scope = overviews.Scope.of(world.agent)
    qs = overviews.open_cases(scope)
    by_priority = overviews.ByPriority(
        qs, Priority.objects.all(), highest_first=sort == "-priority"
    )
    expected = list(overviews.ordered(qs, sort).values_list("pk", flat=True))
    assert len(expected) == 12  # the world's own case too
    assert by_priority.count() == len(expected)
    for start in range(len(expected) + 2):
        for size in (1, 3, 5):
            got = [t.pk for t in by_priority[start : start + size]]
            assert got == expected[start : start + size], (start, size)
    with pytest.raises(TypeError):
        by_priority[3]  # type: ignore[index]


def test_sorting_by_priority_pages_through_the_same_order(
    agent_client: Client, world: World, mixed: list[Ticket], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(overview_views, "PAGE_SIZE", 5)
    url = reverse("desk:overviews", args=["open"])
    pages = [
        rows(agent_client.get(url, {"sort": "-priority", "page": n}, **EN).content.decode())
        for n in (1, 2, 3)
    ]
    assert [len(p) for p in pages] == [5, 5, 2]
    numbers = [n for p in pages for n in p]
    by_level = dict(Ticket.objects.values_list("number", "priority__level"))
    levels = [by_level[n] for n in numbers]
    assert levels == sorted(levels, reverse=True)
    assert len(set(numbers)) == 12


def test_paging_stops_at_the_limit_and_says_so(
    agent_client: Client, world: World, mixed: list[Ticket], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(overview_views, "PAGE_SIZE", 5)
    monkeypatch.setattr(overview_views, "MAX_PAGED", 10)
    url = reverse("desk:overviews", args=["open"])
    first = agent_client.get(url, **EN).content.decode()
    assert "12 open cases in my departments" in first  # the count is all of them
    assert "page 1 of 2" in first
    assert "the first 10 can be paged through" in first
    # A page past the limit shows the last one that may be paged to.
    deep = agent_client.get(url, {"page": "3"}, **EN).content.decode()
    assert "page 2 of 2" in deep
    assert len(rows(deep)) == 5


def test_no_paging_note_below_the_limit(agent_client: Client, world: World) -> None:
    html = agent_client.get(reverse("desk:overviews", args=["open"]), **EN).content.decode()
    assert "can be paged through" not in html


def test_tag_filter_looks_the_tag_up_in_the_own_tenant(
    agent_client: Client, world: World, mixed: list[Ticket]
) -> None:
    tagged = mixed[3]
    services.tag(None, tagged, "eilig")
    url = reverse("desk:overviews", args=["open"])
    html = agent_client.get(url, {"tag": "eilig"}, **EN).content.decode()
    assert rows(html) == [tagged.number]
    assert "1 case" in html
    unknown = agent_client.get(url, {"tag": "gibt-es-nicht"}, **EN)
    assert unknown.status_code == 200
    assert rows(unknown.content.decode()) == []
