"""The header search box: finds by number, citizen and words, never across the walls."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from vorgang.accounts import services as accounts
from vorgang.search import indexing
from vorgang.tickets.models import Ticket

from .conftest import World, make_agent, make_ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def indexed(world: World) -> World:
    citizen = accounts.find_or_create_citizen(
        world.tenant, "erika@example.org", first_name="Erika", last_name="Musterfrau"
    )
    make_ticket(world.department, title="Sperrmüll Abholung Parkstraße", citizen=citizen)
    make_ticket(world.other_department, title="Sperrmüll Beschwerde Ordnungsamt")
    indexing.index(list(Ticket.objects.values_list("pk", flat=True)))
    return world


def search(client: Client, q: str, **extra: str) -> tuple[int, str]:
    response = client.get(reverse("desk:search"), {"q": q, **extra})
    return response.status_code, response.content.decode()


def test_the_header_has_a_labelled_search_form(world: World, agent_client: Client) -> None:
    html = agent_client.get(reverse("desk:settings")).content.decode()
    assert '<form role="search" method="get" action="/search/"' in html
    assert '<label class="kern-sr-only" for="desk-search-q">' in html
    assert 'name="q"' in html


def test_words_in_titles_only_within_the_walls(indexed: World, agent_client: Client) -> None:
    status, html = search(agent_client, "Sperrmüll")
    assert status == 200
    assert "Sperrmüll Abholung Parkstraße" in html
    assert "Sperrmüll Beschwerde" not in html
    assert "1 case found" in html or "1 Vorgang gefunden" in html


def test_results_show_number_state_department_and_snippet(
    indexed: World, agent_client: Client
) -> None:
    ticket = Ticket.objects.get(title__startswith="Sperrmüll Abholung")
    status, html = search(agent_client, "Sperrmüll")
    assert status == 200
    assert ticket.number in html
    assert str(ticket.state) in html
    assert "Bürgerbüro" in html
    assert "<mark>" in html  # the snippet marks what matched


def test_by_citizen_email_and_name(indexed: World, agent_client: Client) -> None:
    for query in ("erika@example.org", "Musterfrau"):
        status, html = search(agent_client, query)
        assert status == 200
        assert "Sperrmüll Abholung Parkstraße" in html, query


def test_an_exact_number_opens_the_case(indexed: World, agent_client: Client) -> None:
    response = agent_client.get(reverse("desk:search"), {"q": indexed.ticket.number})
    assert response.status_code == 302
    assert response["Location"] == reverse("desk:case", args=[indexed.ticket.pk])
    # The number of a case in another department opens nothing and finds nothing.
    status, html = search(agent_client, indexed.other_ticket.number)
    assert status == 200
    assert indexed.other_ticket.title not in html


def test_an_agent_without_departments_finds_nothing(indexed: World, client: Client) -> None:
    client.force_login(make_agent("neu", None))
    status, html = search(client, "Sperrmüll")
    assert status in (200, 422)
    assert "Sperrmüll Abholung" not in html and "Sperrmüll Beschwerde" not in html


def test_bad_queries_are_explained_not_crashed(indexed: World, agent_client: Client) -> None:
    status, html = search(agent_client, "frobnicate:yes")
    assert status == 422
    assert 'id="search-page-error"' in html and 'aria-invalid="true"' in html
    status, html = search(agent_client, "")
    assert status == 200 and 'id="results-heading"' not in html


def test_citizens_and_integrations_get_403(indexed: World, client: Client) -> None:
    client.force_login(indexed.ticket.citizen)
    assert search(client, "Sperrmüll")[0] == 403
    client.force_login(make_agent("formserver", None, role="integration"))
    assert search(client, "Sperrmüll")[0] == 403
