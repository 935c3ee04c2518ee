"""Live updates: the case view learns of changes by others through a small poll."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from vorgang.presence.templatetags.live_desk import version_of
from vorgang.tickets import services
from vorgang.tickets.models import StateKind

from .conftest import World, make_agent

pytestmark = pytest.mark.django_db


def poll(client: Client, pk: int, since: int | str) -> tuple[int, str]:
    # The summaries are checked in English (the desk's default language is German).
    response = client.get(
        reverse("desk:case_changes", args=[pk]), {"since": since}, HTTP_ACCEPT_LANGUAGE="en"
    )
    return response.status_code, response.content.decode()


def citizen_writes(world: World, text: str = "Hier ist der Nachweis.") -> None:
    services.add_article(
        None,
        world.ticket,
        services.ArticleInput(body=text, kind="email", sender="citizen", subject="Nachweis"),
    )


def test_the_case_view_carries_its_version_and_a_polite_status(
    world: World, agent_client: Client
) -> None:
    html = agent_client.get(reverse("desk:case", args=[world.ticket.pk])).content.decode()
    version = version_of(world.ticket)
    assert version > 0
    assert f'data-version="{version}"' in html
    assert f"?since={version}" in html
    assert re.search(r'id="case-live-status" role="status" aria-live="polite"', html)


def test_nothing_new_is_204(world: World, agent_client: Client) -> None:
    status, body = poll(agent_client, world.ticket.pk, version_of(world.ticket))
    assert status == 204 and body == ""


def test_a_citizen_reply_is_reported_with_the_new_version(
    world: World, agent_client: Client
) -> None:
    before = version_of(world.ticket)
    citizen_writes(world)
    status, html = poll(agent_client, world.ticket.pk, before)
    assert status == 200
    after = version_of(world.ticket)
    assert after > before
    assert f'data-version="{after}"' in html
    assert f"?since={after}" in html  # the next poll asks from the new version on
    assert 'data-summary="New message from the citizen."' in html
    assert "Hier ist der Nachweis" not in html  # the summary never carries the text
    assert poll(agent_client, world.ticket.pk, after)[0] == 204


def test_state_owner_and_notes_are_summarised(world: World, agent_client: Client) -> None:
    before = version_of(world.ticket)
    other = make_agent("bert", world.department, "full", first_name="Bert", last_name="Kollege")
    services.change_state(other, world.ticket, StateKind.OPEN)
    services.assign(other, world.ticket, other)
    services.add_article(other, world.ticket, services.ArticleInput(body="x", internal=True))
    services.add_article(other, world.ticket, services.ArticleInput(body="y", internal=True))
    status, html = poll(agent_client, world.ticket.pk, before)
    assert status == 200
    assert "2 new internal notes." in html
    world.ticket.refresh_from_db()
    assert "State changed to open." in html
    assert "Owner changed to Bert Kollege." in html


def test_a_bad_version_is_400(world: World, agent_client: Client) -> None:
    status, body = poll(agent_client, world.ticket.pk, "abc")
    assert status == 400 and "must be a number" in body


def test_only_readers_of_the_case_may_poll(world: World, client: Client) -> None:
    outsider = make_agent("olga", world.other_department, "full")
    client.force_login(outsider)
    assert poll(client, world.ticket.pk, 0)[0] == 404
    client.force_login(world.ticket.citizen)
    assert poll(client, world.ticket.pk, 0)[0] == 403
    client.logout()
    assert poll(client, world.ticket.pk, 0)[0] == 302  # to the sign-in page


def test_nav_counts_endpoint(world: World, agent_client: Client) -> None:
    response = agent_client.get(reverse("desk:live_nav") + "?current=open")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-overview-count="open"' in html
    assert "data-live-nav=" in html  # the poller finds the fresh list to swap in
    assert "Lärmbeschwerde" not in html
    assert agent_client.get(reverse("desk:live_nav") + "?current=nope").status_code == 204
    client = Client()
    client.force_login(world.ticket.citizen)
    assert client.get(reverse("desk:live_nav")).status_code == 403
