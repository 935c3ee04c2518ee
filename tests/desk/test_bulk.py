"""Bulk changes from an overview: each through the services, refusals reported per case."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from vorgang.accounts import services as accounts
from vorgang.accounts.models import Tenant
from vorgang.core import clock
from vorgang.tickets.models import History, Priority, State, Ticket

from .conftest import World, make_agent, make_ticket

pytestmark = pytest.mark.django_db

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def bulk_url(slug: str = "open", query: str = "") -> str:
    url = reverse("desk:overview_bulk", args=[slug])
    return f"{url}?{query}" if query else url


def post(client: Client, cases: list[Ticket], slug: str = "open", query: str = "", **data: str):
    payload: dict[str, object] = {"cases": [str(t.pk) for t in cases], **data}
    return client.post(bulk_url(slug, query), payload, **EN)


def texts(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def fresh(ticket: Ticket) -> Ticket:
    return Ticket.objects.select_related("state", "priority", "owner", "department").get(
        pk=ticket.pk
    )


@pytest.fixture
def cases(world: World) -> list[Ticket]:
    return [world.ticket, make_ticket(world.department, title="Zweiter Antrag")]


def test_assign_owner(agent_client: Client, world: World, cases: list[Ticket]) -> None:
    colleague = make_agent("carla", world.department, "full")
    response = post(agent_client, cases, owner=str(colleague.pk))
    assert response.status_code == 302
    assert response["Location"] == reverse("desk:overviews", args=["open"])
    assert [fresh(t).owner for t in cases] == [colleague, colleague]
    assert texts(response) == ["2 cases changed."]
    for ticket in cases:
        entry = History.objects.filter(ticket=ticket, field="owner").last()
        assert entry is not None and entry.new_value == "carla" and entry.actor == world.agent

    post(agent_client, cases, owner="me")
    assert [fresh(t).owner for t in cases] == [world.agent, world.agent]
    post(agent_client, cases, owner="nobody")
    assert [fresh(t).owner for t in cases] == [None, None]


def test_change_state_with_pending_date(
    agent_client: Client, world: World, cases: list[Ticket]
) -> None:
    waiting = State.objects.get(name="pending reminder")
    when = timezone.localtime(clock.now() + timedelta(days=4)).replace(second=0, microsecond=0)
    response = post(
        agent_client,
        cases,
        state=str(waiting.pk),
        pending_until=when.strftime("%Y-%m-%dT%H:%M"),
    )
    assert response.status_code == 302
    for ticket in cases:
        changed = fresh(ticket)
        assert changed.state == waiting
        assert changed.pending_until == when


def test_pending_state_without_date_changes_nothing(
    agent_client: Client, world: World, cases: list[Ticket]
) -> None:
    waiting = State.objects.get(name="pending reminder")
    response = post(agent_client, cases, state=str(waiting.pk), pending_until="")
    assert response.status_code == 422
    html = response.content.decode()
    assert "needs a date until which the case waits" in html
    assert 'id="bulk-pending" name="pending_until" value="" aria-invalid="true"' in html
    # The selection survives the refusal.
    for ticket in cases:
        assert f'value="{ticket.pk}" id="case-{ticket.pk}" data-case-checkbox' in html
        assert re.search(rf'value="{ticket.pk}"[^>]*\n?\s*checked', html)
        assert fresh(ticket).state.name == "new"


def test_pending_date_in_the_past_is_refused(
    agent_client: Client, world: World, cases: list[Ticket]
) -> None:
    waiting = State.objects.get(name="pending close")
    response = post(agent_client, cases, state=str(waiting.pk), pending_until="01.01.2020 10:00")
    assert response.status_code == 422
    assert "must lie in the future" in response.content.decode()


def test_priority(agent_client: Client, world: World, cases: list[Ticket]) -> None:
    high = Priority.objects.get(level=3)
    response = post(agent_client, cases, priority=str(high.pk))
    assert response.status_code == 302
    assert [fresh(t).priority for t in cases] == [high, high]


def test_move_to_another_department(
    agent_client: Client, world: World, cases: list[Ticket]
) -> None:
    accounts.grant_access(world.other_department, "anna", "create")
    post(agent_client, cases, owner="me")
    response = post(agent_client, cases, department=str(world.other_department.pk))
    assert response.status_code == 302
    for ticket in cases:
        moved = fresh(ticket)
        assert moved.department == world.other_department
        assert moved.owner is None  # anna may not own cases there


def test_move_needs_create_access_in_the_target(
    agent_client: Client, world: World, cases: list[Ticket]
) -> None:
    response = post(agent_client, cases, department=str(world.other_department.pk))
    assert response.status_code == 422
    assert "Please choose a department from the list." in response.content.decode()
    assert {fresh(t).department for t in cases} == {world.department}


def test_add_tag(agent_client: Client, world: World, cases: list[Ticket]) -> None:
    response = post(agent_client, cases, tag="  Eilig   bitte ")
    assert response.status_code == 302
    for ticket in cases:
        assert list(ticket.tags.values_list("name", flat=True)) == ["Eilig bitte"]


def test_several_changes_at_once(agent_client: Client, world: World, cases: list[Ticket]) -> None:
    opened = State.objects.get(name="open")
    low = Priority.objects.get(level=1)
    post(agent_client, cases, state=str(opened.pk), priority=str(low.pk), owner="me", tag="A")
    for ticket in cases:
        changed = fresh(ticket)
        assert (changed.state, changed.priority, changed.owner) == (opened, low, world.agent)
        assert changed.tags.filter(name="A").exists()


def test_partial_permission_failure_is_reported_and_others_change(
    agent_client: Client, world: World, cases: list[Ticket]
) -> None:
    # anna may list and read Ordnungsamt's cases but not change them.
    accounts.grant_access(world.other_department, "anna", "read")
    foreign_tenant = Tenant.objects.create(name="Nachbargemeinde", slug="nachbar")
    foreign = make_ticket(
        accounts.create_department("Amt", address="amt@nachbar.example", tenant=foreign_tenant)
    )
    high = Priority.objects.get(level=3)
    response = post(agent_client, [*cases, world.other_ticket, foreign], priority=str(high.pk))
    assert response.status_code == 302
    messages = texts(response)
    assert messages[0] == "2 cases changed."
    assert messages[1].startswith(f"1 case not changed: #{world.other_ticket.number}: ")
    assert "change" in messages[1] and "Ordnungsamt" in messages[1]
    assert messages[2] == "1 selected case was not found."
    assert foreign.number not in " ".join(messages)
    assert [fresh(t).priority for t in cases] == [high, high]
    assert fresh(world.other_ticket).priority.level == 2
    assert fresh(foreign).priority.level == 2


def test_refused_change_of_one_case_leaves_it_whole(
    agent_client: Client, world: World, cases: list[Ticket]
) -> None:
    """A case whose state may not change keeps its other changes undone too."""
    closed = State.objects.get(name="closed")
    waiting = State.objects.get(name="pending close")
    from vorgang.tickets import services

    services.change_state(None, cases[0], closed)
    response = post(
        agent_client,
        cases,
        state=str(waiting.pk),
        pending_until=(timezone.localtime() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M"),
        tag="Neu",
    )
    assert response.status_code == 302
    assert texts(response)[0] == "1 case changed."
    assert texts(response)[1].startswith(f"1 case not changed: #{cases[0].number}")
    assert not cases[0].tags.exists()
    assert fresh(cases[1]).state == waiting and cases[1].tags.filter(name="Neu").exists()


def test_redirect_keeps_the_overview_filters(
    agent_client: Client, world: World, cases: list[Ticket]
) -> None:
    query = f"department={world.department.pk}&sort=priority&page=1"
    response = post(agent_client, cases, slug="unassigned", query=query, tag="X")
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('desk:overviews', args=['unassigned'])}?{query}"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "Please choose at least one change."),
        ({"owner": "12345"}, "Please choose an owner from the list."),
        ({"state": "abc"}, "Please choose a state from the list."),
        ({"priority": "999"}, "Please choose a priority from the list."),
        ({"tag": "x" * 101}, "A tag may have at most 100 characters."),
    ],
)
def test_bad_bulk_input_is_a_422_with_the_reason(
    agent_client: Client, world: World, cases: list[Ticket], data: dict[str, str], message: str
) -> None:
    before = [(t.state_id, t.priority_id, t.owner_id) for t in map(fresh, cases)]
    response = post(agent_client, cases, **data)
    assert response.status_code == 422
    assert message in response.content.decode()
    assert [(t.state_id, t.priority_id, t.owner_id) for t in map(fresh, cases)] == before


def test_no_case_selected(agent_client: Client, world: World) -> None:
    response = agent_client.post(bulk_url(), {"tag": "X", "cases": ["abc"]}, **EN)
    assert response.status_code == 422
    assert "Please select at least one case." in response.content.decode()


def test_bulk_needs_post_and_csrf(world: World, cases: list[Ticket]) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.agent)
    assert client.get(bulk_url()).status_code == 405
    response = client.post(bulk_url(), {"cases": [str(cases[0].pk)], "tag": "Ohne Token"})
    assert response.status_code == 403
    assert not cases[0].tags.exists()


def test_reader_may_not_bulk_change(reader_client: Client, world: World) -> None:
    response = post(reader_client, [world.ticket], tag="Leser")
    assert response.status_code == 302
    assert texts(response)[0].startswith(f"1 case not changed: #{world.ticket.number}")
    assert not world.ticket.tags.exists()


def test_citizens_cannot_post_bulk_changes(client: Client, world: World) -> None:
    citizen = accounts.find_or_create_citizen(world.tenant, "max.mustermann@example.org")
    client.force_login(citizen)
    response = post(client, [world.ticket], tag="Bürger")
    assert response.status_code == 403
    assert not world.ticket.tags.exists()


def test_unknown_overview_bulk_is_404(agent_client: Client, world: World) -> None:
    response = post(agent_client, [world.ticket], slug="gibt-es-nicht", tag="X")
    assert response.status_code == 404
    assert not world.ticket.tags.exists()
