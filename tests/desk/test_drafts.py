"""Drafts: what an agent types is kept per agent and case, comes back, and goes when sent."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from vorgang.channels.email import outbound
from vorgang.presence.models import Draft

from .conftest import World, make_agent

pytestmark = pytest.mark.django_db


def save(client: Client, pk: int, kind: str = "reply", **fields: str) -> int:
    return client.post(reverse("desk:save_draft", args=[pk, kind]), fields).status_code


def page_drafts(client: Client, pk: int) -> dict[str, Any]:
    html = client.get(reverse("desk:case", args=[pk])).content.decode()
    found = re.search(r'<script id="case-drafts" type="application/json">(.*?)</script>', html)
    assert found, "the case view carries the drafts for live.js"
    data: dict[str, Any] = json.loads(found.group(1))
    return data


def test_a_reply_draft_survives_a_reload(world: World, agent_client: Client) -> None:
    status = save(
        agent_client,
        world.ticket.pk,
        text="Guten Tag, <b>bitte</b> noch den Nachweis.",
        cc="kollege@stadt.example",
        to="max.mustermann@example.org",
        quote="1",
        secret="ignored",
    )
    assert status == 201
    drafts = page_drafts(agent_client, world.ticket.pk)
    assert drafts["reply"] == {
        "to": "max.mustermann@example.org",
        "cc": "kollege@stadt.example",
        "text": "Guten Tag, <b>bitte</b> noch den Nachweis.",
        "quote": "1",
    }
    # Saving again replaces the draft rather than adding one.
    assert save(agent_client, world.ticket.pk, text="Neu") == 201
    assert Draft.objects.get(user=world.agent).fields["text"] == "Neu"


def test_the_draft_json_cannot_break_out_of_its_script(world: World, agent_client: Client) -> None:
    save(agent_client, world.ticket.pk, text="</script><script>alert(1)</script>")
    html = agent_client.get(reverse("desk:case", args=[world.ticket.pk])).content.decode()
    assert "</script><script>alert(1)" not in html
    assert page_drafts(agent_client, world.ticket.pk)["reply"]["text"].startswith("</script>")


def test_drafts_are_per_agent(world: World, agent_client: Client, client: Client) -> None:
    save(agent_client, world.ticket.pk, text="Annas Entwurf")
    colleague = make_agent("bert", world.department, "full")
    other = Client()
    other.force_login(colleague)
    assert page_drafts(other, world.ticket.pk) == {}


def test_note_drafts_too_and_an_empty_form_deletes(world: World, agent_client: Client) -> None:
    assert save(agent_client, world.ticket.pk, "note", body="Rückruf morgen") == 201
    assert page_drafts(agent_client, world.ticket.pk)["note"] == {"body": "Rückruf morgen"}
    assert save(agent_client, world.ticket.pk, "note", body="  ") == 204
    assert not Draft.objects.exists()


def test_sending_the_reply_deletes_its_draft(
    world: World, agent_client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    save(agent_client, world.ticket.pk, text="Entwurf")
    save(agent_client, world.ticket.pk, "note", body="Notizentwurf")
    with django_capture_on_commit_callbacks(execute=True):
        outbound.reply(world.agent, world.ticket, body="Entwurf", to="max.mustermann@example.org")
    assert list(Draft.objects.values_list("kind", flat=True)) == ["note"]
    with django_capture_on_commit_callbacks(execute=True):
        response = agent_client.post(
            reverse("desk:add_note", args=[world.ticket.pk]), {"body": "Notizentwurf"}
        )
    assert response.status_code == 302
    assert not Draft.objects.exists()


def test_readers_may_not_keep_drafts(world: World, reader_client: Client) -> None:
    assert save(reader_client, world.ticket.pk, text="x") == 403
    assert not Draft.objects.exists()


def test_other_departments_citizens_and_bad_input(world: World, client: Client) -> None:
    outsider = make_agent("olga", world.other_department, "full")
    client.force_login(outsider)
    assert save(client, world.ticket.pk, text="x") == 404
    client.force_login(world.ticket.citizen)
    assert save(client, world.ticket.pk, text="x") == 403
    client.force_login(world.agent)
    assert save(client, world.ticket.pk, "macro", text="x") == 400
    assert save(client, world.ticket.pk, text="x" * 100_001) == 422
    assert not Draft.objects.exists()


def test_drafts_need_csrf(world: World) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.agent)
    assert save(client, world.ticket.pk, text="x") == 403
    assert not Draft.objects.exists()
