"""Presence: colleagues on the same case are shown; heartbeats expire; walls hold."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse

from vorgang.accounts.models import Role
from vorgang.core import clock
from vorgang.notifications.models import OnlineNotification
from vorgang.presence import services as presence
from vorgang.presence.models import Presence

from .conftest import World, make_agent

pytestmark = pytest.mark.django_db


def beat(client: Client, pk: int, writing: str = "") -> str:
    response = client.post(reverse("desk:presence", args=[pk]), {"writing": writing})
    assert response.status_code == 200
    return response.content.decode()


def test_a_colleague_viewing_the_case_is_shown(world: World, client: Client) -> None:
    client.force_login(world.agent)
    assert "is viewing" not in beat(client, world.ticket.pk)  # alone on the case
    client.force_login(world.reader)
    html = beat(client, world.ticket.pk)
    assert "Anna Agentin sieht sich diesen Vorgang an" in html
    assert "Rudi" not in html  # never yourself


def test_a_colleague_writing_a_reply_or_note_is_shown(world: World, client: Client) -> None:
    client.force_login(world.agent)
    beat(client, world.ticket.pk, writing="reply")
    client.force_login(world.reader)
    assert "Anna Agentin schreibt eine Antwort" in beat(client, world.ticket.pk)
    client.force_login(world.agent)
    beat(client, world.ticket.pk, writing="note")
    client.force_login(world.reader)
    assert "Anna Agentin schreibt eine Notiz" in beat(client, world.ticket.pk)
    client.force_login(world.agent)
    beat(client, world.ticket.pk, writing="<script>")  # unknown form: just viewing
    client.force_login(world.reader)
    assert "Anna Agentin sieht sich diesen Vorgang an" in beat(client, world.ticket.pk)


def test_heartbeats_expire(world: World, client: Client) -> None:
    client.force_login(world.agent)
    beat(client, world.ticket.pk)
    Presence.objects.filter(user=world.agent).update(
        last_seen=clock.now() - presence.TTL - timedelta(seconds=1)
    )
    client.force_login(world.reader)
    assert "Anna" not in beat(client, world.ticket.pk)


def test_leaving_ends_presence_at_once(world: World, client: Client) -> None:
    client.force_login(world.agent)
    beat(client, world.ticket.pk)
    response = client.post(reverse("desk:presence_leave", args=[world.ticket.pk]))
    assert response.status_code == 204
    assert not Presence.objects.filter(user=world.agent).exists()


def test_agents_of_other_departments_neither_see_nor_appear(world: World, client: Client) -> None:
    outsider = make_agent("olga", world.other_department, "full", first_name="Olga")
    client.force_login(outsider)
    response = client.post(reverse("desk:presence", args=[world.ticket.pk]))
    assert response.status_code == 404
    assert not Presence.objects.filter(user=outsider).exists()
    # A heartbeat left from before access was taken away shows nobody the outsider.
    Presence.objects.create(
        tenant=world.tenant, user=outsider, ticket=world.ticket, last_seen=clock.now()
    )
    client.force_login(world.agent)
    assert "Olga" not in beat(client, world.ticket.pk)


def test_citizens_and_integrations_get_403(world: World, client: Client) -> None:
    integration = make_agent("formserver", None, role=Role.INTEGRATION)
    client.force_login(integration)
    assert client.post(reverse("desk:presence", args=[world.ticket.pk])).status_code == 403
    client.force_login(world.ticket.citizen)
    assert client.post(reverse("desk:presence", args=[world.ticket.pk])).status_code == 403
    assert not Presence.objects.exists()


def test_heartbeat_needs_post_and_csrf(world: World) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.agent)
    url = reverse("desk:presence", args=[world.ticket.pk])
    assert client.get(url).status_code == 405
    assert client.post(url).status_code == 403
    assert not Presence.objects.exists()


def test_having_the_case_open_reads_its_notifications(world: World, client: Client) -> None:
    note = OnlineNotification.objects.create(
        tenant=world.tenant, user=world.agent, ticket=world.ticket, kind="citizen_replied"
    )
    other = OnlineNotification.objects.create(
        tenant=world.tenant, user=world.reader, ticket=world.ticket, kind="mention"
    )
    client.force_login(world.agent)
    beat(client, world.ticket.pk)
    note.refresh_from_db()
    other.refresh_from_db()
    assert note.seen and not other.seen


def test_the_case_view_polls_presence(world: World, agent_client: Client) -> None:
    html = agent_client.get(reverse("desk:case", args=[world.ticket.pk])).content.decode()
    assert f'hx-post="{reverse("desk:presence", args=[world.ticket.pk])}"' in html
    assert 'hx-trigger="load, every 10s, vorgang:writing"' in html
    assert "X-CSRFToken" in html
