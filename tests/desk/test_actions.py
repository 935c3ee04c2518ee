"""The actions on the case view: each calls one service, shows errors, changes nothing
when refused."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.urls import reverse

from vorgang.core import clock
from vorgang.tickets import services
from vorgang.tickets.models import Article, History, Priority, State, Ticket

from .conftest import World, make_agent

pytestmark = pytest.mark.django_db


def url(name: str, ticket: Ticket) -> str:
    return reverse(f"desk:{name}", args=[ticket.pk])


def state(name: str) -> State:
    return State.objects.get(name=name)


def fresh(ticket: Ticket) -> Ticket:
    return Ticket.objects.select_related("state", "priority", "owner").get(pk=ticket.pk)


def test_note_is_added_and_shown(agent_client: Client, world: World) -> None:
    response = agent_client.post(url("add_note", world.ticket), {"body": "Rückruf <morgen>"})
    assert response.status_code == 302
    assert response["Location"] == reverse("desk:case", args=[world.ticket.pk]) + "#timeline"
    note = Article.objects.filter(ticket=world.ticket).latest("pk")
    assert (note.kind, note.internal, note.sender, note.body) == (
        "note",
        True,
        "agent",
        "Rückruf <morgen>",
    )
    assert note.created_by == world.agent
    entry = History.objects.filter(ticket=world.ticket).order_by("-seq").first()
    assert entry is not None
    assert (entry.action, entry.actor_id) == ("article_added", world.agent.pk)

    html = agent_client.get(response["Location"]).content.decode()
    assert "Rückruf &lt;morgen&gt;" in html
    assert "Die Notiz wurde gespeichert." in html
    assert 'role="status"' in html


def test_empty_note_is_refused(agent_client: Client, world: World) -> None:
    response = agent_client.post(url("add_note", world.ticket), {"body": "   "})
    assert response.status_code == 422
    html = response.content.decode()
    assert 'role="alert"' in html
    assert "Bitte schreiben Sie die Notiz" in html
    assert world.ticket.articles.count() == 1


def test_state_change(agent_client: Client, world: World) -> None:
    response = agent_client.post(url("change_state", world.ticket), {"state": state("open").pk})
    assert response.status_code == 302
    assert fresh(world.ticket).state.name == "open"
    html = agent_client.get(response["Location"]).content.decode()
    assert "Der Status ist jetzt „offen“." in html
    assert History.objects.filter(ticket=world.ticket, field="state", new_value="open").exists()


def test_invalid_transition_shows_a_message_and_changes_nothing(
    agent_client: Client, world: World
) -> None:
    services.change_state(None, world.ticket, "closed")
    before = History.objects.filter(ticket=world.ticket).count()
    response = agent_client.post(url("change_state", world.ticket), {"state": state("new").pk})
    assert response.status_code == 422
    html = response.content.decode()
    assert 'role="alert"' in html
    assert "Ein Vorgang im Status „geschlossen“ kann nicht in den Status „neu“ wechseln." in html
    assert fresh(world.ticket).state.name == "closed"
    assert History.objects.filter(ticket=world.ticket).count() == before


def test_pending_state_needs_a_date(agent_client: Client, world: World) -> None:
    response = agent_client.post(
        url("change_state", world.ticket),
        {"state": state("pending reminder").pk, "pending_until": ""},
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert "Der Status „warten auf Erinnerung“ braucht ein Datum" in html
    assert 'role="alert"' in html
    assert fresh(world.ticket).state.name == "new"


def test_pending_date_in_the_past_or_garbled_is_refused(agent_client: Client, world: World) -> None:
    pending = state("pending reminder").pk
    for value in ("2001-01-01T10:00", "morgen früh"):
        response = agent_client.post(
            url("change_state", world.ticket), {"state": pending, "pending_until": value}
        )
        assert response.status_code == 422, value
    assert fresh(world.ticket).state.name == "new"


def test_pending_date_is_berlin_local_time(agent_client: Client, world: World) -> None:
    year = clock.now().year + 1
    response = agent_client.post(
        url("change_state", world.ticket),
        {"state": state("pending reminder").pk, "pending_until": f"{year}-07-01T09:30"},
    )
    assert response.status_code == 302
    ticket = fresh(world.ticket)
    assert ticket.state.name == "pending reminder"
    expected = datetime(year, 7, 1, 9, 30, tzinfo=ZoneInfo("Europe/Berlin"))
    assert ticket.pending_until == expected
    assert ticket.pending_until.utcoffset() == timedelta(0)  # stored as UTC
    # Shown again in local time.
    html = agent_client.get(response["Location"]).content.decode()
    assert f'value="{year}-07-01T09:30"' in html
    assert f"01.07.{year} 09:30" in html


def test_pending_date_typed_in_german_format(agent_client: Client, world: World) -> None:
    year = clock.now().year + 1
    response = agent_client.post(
        url("change_state", world.ticket),
        {"state": state("pending close").pk, "pending_until": f"24.12.{year} 12:00"},
    )
    assert response.status_code == 302
    expected = datetime(year, 12, 24, 12, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    assert fresh(world.ticket).pending_until == expected


def test_unknown_or_merged_state_is_refused(agent_client: Client, world: World) -> None:
    for value in ("", "abc", "999", str(state("merged").pk)):
        response = agent_client.post(url("change_state", world.ticket), {"state": value})
        assert response.status_code == 422, value
    assert fresh(world.ticket).state.name == "new"


def test_owner_can_be_set_and_cleared(agent_client: Client, world: World) -> None:
    response = agent_client.post(url("assign", world.ticket), {"owner": world.agent.pk})
    assert response.status_code == 302
    assert fresh(world.ticket).owner == world.agent
    assert "Anna Agentin ist jetzt für den Vorgang zuständig." in (
        agent_client.get(response["Location"]).content.decode()
    )
    response = agent_client.post(url("assign", world.ticket), {"owner": ""})
    assert response.status_code == 302
    assert fresh(world.ticket).owner is None
    html = agent_client.get(reverse("desk:case", args=[world.ticket.pk])).content.decode()
    assert "Anna Agentin" in html  # in the history, as a name rather than a login


def test_owner_must_have_full_access(agent_client: Client, world: World) -> None:
    response = agent_client.post(url("assign", world.ticket), {"owner": world.reader.pk})
    assert response.status_code == 422
    assert "kann in der Abteilung Bürgerbüro nicht zuständig sein" in response.content.decode()
    assert fresh(world.ticket).owner is None


def test_priority_change(agent_client: Client, world: World) -> None:
    high = Priority.objects.get(level=3)
    response = agent_client.post(url("set_priority", world.ticket), {"priority": high.pk})
    assert response.status_code == 302
    assert fresh(world.ticket).priority == high
    assert "Die Priorität ist jetzt „3 hoch“." in (
        agent_client.get(response["Location"]).content.decode()
    )
    response = agent_client.post(url("set_priority", world.ticket), {"priority": "x"})
    assert response.status_code == 422
    assert fresh(world.ticket).priority == high


def test_tags_are_added_and_removed(agent_client: Client, world: World) -> None:
    response = agent_client.post(url("add_tag", world.ticket), {"tag": "  Parken   Zone 4 "})
    assert response.status_code == 302
    assert response["Location"].endswith("#tags")
    assert list(world.ticket.tags.values_list("name", flat=True)) == ["Parken Zone 4"]
    html = agent_client.get(reverse("desk:case", args=[world.ticket.pk])).content.decode()
    assert "Das Schlagwort „Parken Zone 4“ wurde hinzugefügt." in html

    response = agent_client.post(url("remove_tag", world.ticket), {"tag": "Parken Zone 4"})
    assert response.status_code == 302
    assert not world.ticket.tags.exists()
    assert History.objects.filter(ticket=world.ticket, action="tag_removed").exists()


def test_empty_tag_is_refused(agent_client: Client, world: World) -> None:
    response = agent_client.post(url("add_tag", world.ticket), {"tag": " ", "form": "add_tag"})
    assert response.status_code == 422
    assert "Bitte geben Sie ein Schlagwort ein." in response.content.decode()
    assert not world.ticket.tags.exists()


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("add_note", {"body": "Darf ich nicht"}),
        ("change_state", {"state": "2"}),
        ("assign", {"owner": ""}),
        ("set_priority", {"priority": "3"}),
        ("add_tag", {"tag": "verboten"}),
        ("remove_tag", {"tag": "Parken"}),
    ],
)
def test_reader_cannot_change_anything(
    reader_client: Client, world: World, name: str, data: dict[str, str]
) -> None:
    services.tag(None, world.ticket, "Parken")
    services.assign(None, world.ticket, world.agent)
    before = History.objects.filter(ticket=world.ticket).count()
    if name == "change_state":
        data = {"state": str(state("open").pk)}
    if name == "set_priority":
        data = {"priority": str(Priority.objects.get(level=3).pk)}
    response = reader_client.post(url(name, world.ticket), data)
    assert response.status_code == 403
    html = response.content.decode()
    assert 'role="alert"' in html
    assert "Zugriffsstufe „ändern“" in html
    assert History.objects.filter(ticket=world.ticket).count() == before
    ticket = fresh(world.ticket)
    assert (ticket.state.name, ticket.priority.level, ticket.owner) == ("new", 2, world.agent)
    assert list(ticket.tags.values_list("name", flat=True)) == ["Parken"]
    assert ticket.articles.count() == 1


@pytest.mark.parametrize(
    "name", ["add_note", "change_state", "assign", "set_priority", "add_tag", "remove_tag"]
)
def test_actions_on_a_case_behind_the_wall_are_404(
    agent_client: Client, world: World, name: str
) -> None:
    response = agent_client.post(
        url(name, world.other_ticket), {"body": "x", "tag": "x", "state": "2", "priority": "3"}
    )
    assert response.status_code == 404
    assert world.other_ticket.title not in response.content.decode()
    assert History.objects.filter(ticket=world.other_ticket, actor=world.agent).count() == 0


def test_actions_need_post(agent_client: Client, world: World) -> None:
    assert agent_client.get(url("add_note", world.ticket)).status_code == 405


def test_merged_case_cannot_be_changed(agent_client: Client, world: World) -> None:
    sibling = services.create_ticket(None, department=world.department, title="Doppelt")
    services.merge(None, sibling, world.ticket)
    response = agent_client.post(url("add_note", sibling), {"body": "noch was"})
    assert response.status_code == 422
    assert "wurde mit einem anderen zusammengeführt" in response.content.decode()


def test_failed_note_keeps_the_text(client: Client, world: World) -> None:
    # A user whose change level was taken away while the page was open.
    changer = make_agent("carla", world.department, "read", "change")
    client.force_login(changer)
    services.merge(
        None, world.ticket, services.create_ticket(None, department=world.department, title="Ziel")
    )
    response = client.post(url("add_note", world.ticket), {"body": "Mein langer Text"})
    assert response.status_code == 422
    assert "Mein langer Text</textarea>" in response.content.decode()
