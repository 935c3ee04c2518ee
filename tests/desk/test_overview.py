"""The overview: only my departments' open cases, sorted and paginated."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from vorgang.accounts import services as accounts
from vorgang.accounts.models import Tenant
from vorgang.tickets import services

from .conftest import World, make_agent, make_ticket

pytestmark = pytest.mark.django_db


def rows(html: str) -> list[str]:
    """The case numbers of the table rows, in order."""
    return re.findall(r'<th scope="row"[^>]*>(\w+)</th>', html)


def test_shows_open_cases_of_my_departments_only(agent_client: Client, world: World) -> None:
    foreign_tenant = Tenant.objects.create(name="Nachbargemeinde", slug="nachbar")
    foreign_department = accounts.create_department(
        "Bürgerbüro", address="buergerbuero@nachbar.example", tenant=foreign_tenant
    )
    foreign = make_ticket(foreign_department, title="Fremder Antrag")
    closed = make_ticket(world.department, title="Erledigter Antrag")
    services.change_state(None, closed, "closed")

    response = agent_client.get(reverse("desk:overview"))
    html = response.content.decode()
    assert response.status_code == 200
    assert rows(html) == [world.ticket.number]
    assert world.ticket.title in html
    assert "Max Mustermann" in html
    assert "Bürgerbüro" in html
    assert world.other_ticket.title not in html
    assert foreign.title not in html
    assert closed.title not in html
    assert "1 offener Vorgang in meinen Abteilungen" in html


def test_columns_have_headers_and_the_case_link(agent_client: Client, world: World) -> None:
    html = agent_client.get(reverse("desk:overview")).content.decode()
    assert "<caption" in html
    for label in ("Nummer", "Titel", "Bürger:in", "Abteilung", "Status", "Priorität"):
        assert label in html
    assert 'scope="col"' in html
    assert reverse("desk:case", args=[world.ticket.pk]) in html
    assert "neu" in html and "2 normal" in html and "niemand" in html


def test_created_time_is_shown_in_berlin_time(agent_client: Client, world: World) -> None:
    html = agent_client.get(reverse("desk:overview")).content.decode()
    stamp = re.search(r'<time datetime="([^"]+)">([^<]+)</time>', html)
    assert stamp is not None
    assert stamp.group(1).endswith(("+01:00", "+02:00"))
    assert re.fullmatch(r"\d\d\.\d\d\.\d{4} \d\d:\d\d", stamp.group(2))


def test_tenant_is_named_only_when_there_are_several(agent_client: Client, world: World) -> None:
    html = agent_client.get(reverse("desk:overview")).content.decode()
    assert world.tenant.name not in html
    Tenant.objects.create(name="Nachbargemeinde", slug="nachbar")
    html = agent_client.get(reverse("desk:overview")).content.decode()
    assert f'<span class="desk-brand__tenant">{world.tenant.name}</span>' in html


def test_sorting_by_priority_and_age(agent_client: Client, world: World) -> None:
    high = make_ticket(world.department, title="Dringend", priority=3)
    low = make_ticket(world.department, title="Hat Zeit", priority=1)
    normal = world.ticket

    html = agent_client.get(reverse("desk:overview"), {"sort": "-priority"}).content.decode()
    assert rows(html) == [high.number, normal.number, low.number]
    assert re.search(r'aria-sort="descending">\s*<a href="\?sort=priority"', html)

    html = agent_client.get(reverse("desk:overview"), {"sort": "priority"}).content.decode()
    assert rows(html) == [low.number, normal.number, high.number]
    assert html.count("aria-sort=") == 1

    html = agent_client.get(reverse("desk:overview"), {"sort": "age"}).content.decode()
    assert rows(html) == [normal.number, high.number, low.number]

    html = agent_client.get(reverse("desk:overview")).content.decode()  # newest first
    assert rows(html) == [low.number, high.number, normal.number]


def test_sorting_by_state(agent_client: Client, world: World) -> None:
    opened = make_ticket(world.department, title="Offen")
    services.change_state(None, opened, "open")
    html = agent_client.get(reverse("desk:overview"), {"sort": "state"}).content.decode()
    assert rows(html) == [world.ticket.number, opened.number]  # "new" < "open"
    html = agent_client.get(reverse("desk:overview"), {"sort": "-state"}).content.decode()
    assert rows(html) == [opened.number, world.ticket.number]


@pytest.mark.parametrize("sort", ["title", "--age", "-", "password", "created_at"])
def test_unknown_sort_falls_back_to_newest_first(
    agent_client: Client, world: World, sort: str
) -> None:
    response = agent_client.get(reverse("desk:overview"), {"sort": sort})
    assert response.status_code == 200
    assert rows(response.content.decode()) == [world.ticket.number]


def test_pagination(agent_client: Client, world: World) -> None:
    for n in range(25):
        make_ticket(world.department, title=f"Antrag {n}")
    first = agent_client.get(reverse("desk:overview")).content.decode()
    assert len(rows(first)) == 25
    assert "Seite 1 von 2" in first
    assert "?sort=-age&amp;page=2" in first

    second = agent_client.get(reverse("desk:overview"), {"page": "2"}).content.decode()
    assert rows(second) == [world.ticket.number]  # the oldest
    assert "Seite 2 von 2" in second


@pytest.mark.parametrize(("page", "expected"), [("abc", 1), ("999", 2), ("0", 2), ("-1", 2)])
def test_bad_page_numbers_show_a_valid_page(
    agent_client: Client, world: World, page: str, expected: int
) -> None:
    for n in range(25):
        make_ticket(world.department, title=f"Antrag {n}")
    response = agent_client.get(reverse("desk:overview"), {"page": page})
    assert response.status_code == 200
    assert f"Seite {expected} von 2" in response.content.decode()


def test_overview_level_lists_but_does_not_link(client: Client, world: World) -> None:
    watcher = make_agent("wanda", world.department, "overview")
    client.force_login(watcher)
    html = client.get(reverse("desk:overview")).content.decode()
    assert world.ticket.title in html
    assert reverse("desk:case", args=[world.ticket.pk]) not in html


def test_agent_without_access_sees_a_hint(client: Client, world: World) -> None:
    client.force_login(make_agent("nora", None))
    html = client.get(reverse("desk:overview")).content.decode()
    assert world.ticket.title not in html
    assert "Bitte wenden Sie sich an Ihre Administration" in html
