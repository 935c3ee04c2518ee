"""Macros: the fixed action schema, applying through the services, partial failures, admin."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from tests.desk.conftest import World, make_agent
from vorgang.accounts import services as accounts
from vorgang.accounts.models import Role, Tenant
from vorgang.core.errors import NotFound, PermissionDenied
from vorgang.macros import apply, schema
from vorgang.macros.models import Macro, TextModule
from vorgang.tickets.models import History, Ticket

pytestmark = pytest.mark.django_db


def fresh(ticket: Ticket) -> Ticket:
    return Ticket.objects.select_related("state", "priority", "owner").get(pk=ticket.pk)


# --- schema -----------------------------------------------------------------------------------


def test_a_complete_macro_is_valid(world: World) -> None:
    TextModule.objects.create(tenant=world.tenant, name="Danke", body_de="Danke")
    actions = {
        "state": "pending reminder",
        "pending_days": 7,
        "priority": 3,
        "owner": "anna",
        "department": "Ordnungsamt",
        "tags_add": ["Rückfrage"],
        "tags_remove": ["neu"],
        "text_module": "Danke",
        "text_as": "reply",
    }
    assert schema.validate(actions, world.tenant.pk) == []


@pytest.mark.parametrize(
    ("actions", "part"),
    [
        ([], "JSON object"),
        ({}, "does nothing"),
        ({"stat": "closed"}, "Unknown actions: stat"),
        ({"state": "erledigt"}, "Unknown state"),
        ({"state": "merged"}, "Unknown state"),
        ({"state": "pending reminder"}, "needs pending_days"),
        ({"state": "closed", "pending_days": 3}, "only goes with a waiting state"),
        ({"state": "pending close", "pending_days": 0}, "from 1 to 365"),
        ({"priority": "dringend"}, "Unknown priority"),
        ({"owner": "nobody-here"}, "login of an agent"),
        ({"department": "Finanzamt"}, "Unknown department"),
        ({"tags_add": "eins"}, "list of at most"),
        ({"tags_add": [""]}, "list of at most"),
        ({"text_module": "fehlt"}, "Unknown text module"),
        ({"text_as": "reply"}, "needs a text_module"),
    ],
)
def test_invalid_actions_are_named(world: World, actions: Any, part: str) -> None:
    errors = schema.validate(actions, world.tenant.pk)
    assert errors and any(part in e for e in errors), errors


def test_names_of_another_tenant_do_not_count(world: World) -> None:
    other = Tenant.objects.create(name="Nachbarstadt", slug="nachbar")
    accounts.create_department("Fremdamt", address="f@nachbar.example", tenant=other)
    TextModule.objects.create(tenant=other, name="Fremd", body_de="x")
    assert schema.validate({"department": "Fremdamt"}, world.tenant.pk)
    assert schema.validate({"text_module": "Fremd"}, world.tenant.pk)


# --- applying ---------------------------------------------------------------------------------


def test_macro_applies_every_action_with_history(world: World) -> None:
    TextModule.objects.create(
        tenant=world.tenant, name="Erledigt", body_de="Erledigt für {{ case.number }}."
    )
    macro = Macro.objects.create(
        tenant=world.tenant,
        name="Abschließen",
        actions={
            "state": "closed",
            "priority": 1,
            "owner": "me",
            "tags_add": ["erledigt"],
            "text_module": "Erledigt",
            "text_as": "note",
        },
    )
    outcome = apply.apply_macro(world.agent, world.ticket, macro)
    assert outcome.failed == []
    ticket = fresh(world.ticket)
    assert ticket.state.kind == "closed"
    assert ticket.priority.level == 1
    assert ticket.owner == world.agent
    assert list(ticket.tags.values_list("name", flat=True)) == ["erledigt"]
    note = ticket.articles.get(kind="note")
    assert note.internal and note.body == f"Erledigt für {ticket.number}."
    fields = set(History.objects.filter(ticket=ticket).values_list("field", flat=True))
    assert {"state", "priority", "owner", "tags"} <= fields
    summary = outcome.summary()
    assert "Abschließen" in summary and "not done" not in summary


def test_pending_state_gets_its_date(world: World) -> None:
    macro = Macro.objects.create(
        tenant=world.tenant,
        name="Warten",
        actions={"state": "pending reminder", "pending_days": 3},
    )
    outcome = apply.apply_macro(world.agent, world.ticket, macro)
    assert outcome.failed == []
    ticket = fresh(world.ticket)
    assert ticket.state.kind == "pending_reminder"
    assert ticket.pending_until is not None


def test_partial_failure_is_reported_and_the_rest_applies(world: World) -> None:
    # Rudi may only read: he cannot own cases; the move is refused (no access there).
    rita = make_agent("rita", world.department, "read", "change", first_name="Rita")
    macro = Macro.objects.create(
        tenant=world.tenant,
        name="Weitergeben",
        actions={
            "owner": "rudi",
            "priority": 3,
            "department": "Ordnungsamt",
            "tags_add": ["weiter"],
        },
    )
    outcome = apply.apply_macro(rita, world.ticket, macro)
    assert [s.ok for s in outcome.steps] == [True, True, False, False]
    ticket = fresh(world.ticket)
    assert ticket.priority.level == 3
    assert ticket.tags.filter(name="weiter").exists()
    assert ticket.owner is None
    assert ticket.department_id == world.department.pk
    summary = outcome.summary()
    assert "not done" in summary and "Ordnungsamt" in summary and "rudi" in summary


def test_no_change_access_changes_nothing(world: World) -> None:
    macro = Macro.objects.create(tenant=world.tenant, name="Tag", actions={"tags_add": ["x"]})
    with pytest.raises(PermissionDenied):
        apply.apply_macro(world.reader, world.ticket, macro)
    assert not world.ticket.tags.exists()


def test_macro_of_another_department_is_not_available(world: World) -> None:
    macro = Macro.objects.create(tenant=world.tenant, name="Lärm", actions={"tags_add": ["x"]})
    macro.departments.add(world.other_department)
    with pytest.raises(NotFound):
        apply.available(world.agent, world.ticket, macro.pk)
    macro.departments.add(world.department)
    assert apply.available(world.agent, world.ticket, macro.pk) == macro


def test_reply_macro_sends_to_the_citizen(world: World) -> None:
    TextModule.objects.create(
        tenant=world.tenant, name="Eingang", body_de="Guten Tag {{ citizen.name }}"
    )
    macro = Macro.objects.create(
        tenant=world.tenant,
        name="Eingang bestätigen",
        actions={"text_module": "Eingang", "text_as": "reply"},
    )
    outcome = apply.apply_macro(world.agent, world.ticket, macro)
    assert outcome.failed == []
    mail = world.ticket.articles.get(sender="agent", kind="email")
    assert mail.to == "max.mustermann@example.org"
    assert mail.body.startswith("Guten Tag Max Mustermann")
    assert mail.delivery_status == "queued"


# --- the desk view ----------------------------------------------------------------------------


def test_view_applies_and_summarises(agent_client: Client, world: World) -> None:
    macro = Macro.objects.create(tenant=world.tenant, name="Hoch", actions={"priority": 3})
    page = agent_client.get(reverse("desk:case", args=[world.ticket.pk])).content.decode()
    assert f'<option value="{macro.pk}">Hoch</option>' in page
    response = agent_client.post(
        reverse("desk:apply_macro", args=[world.ticket.pk]), {"macro": macro.pk}, follow=True
    )
    assert response.status_code == 200
    assert fresh(world.ticket).priority.level == 3
    assert "Hoch" in response.content.decode()


def test_view_refuses_unknown_macro_and_readers(
    agent_client: Client, client: Client, world: World
) -> None:
    url = reverse("desk:apply_macro", args=[world.ticket.pk])
    assert agent_client.post(url, {"macro": "999"}).status_code == 422
    macro = Macro.objects.create(tenant=world.tenant, name="Hoch", actions={"priority": 3})
    client.force_login(world.reader)
    assert client.post(url, {"macro": macro.pk}).status_code == 403
    assert agent_client.get(url).status_code == 405
    assert fresh(world.ticket).priority.level != 3


def test_view_across_the_wall_is_not_found(agent_client: Client, world: World) -> None:
    macro = Macro.objects.create(tenant=world.tenant, name="Hoch", actions={"priority": 3})
    url = reverse("desk:apply_macro", args=[world.other_ticket.pk])
    assert agent_client.post(url, {"macro": macro.pk}).status_code == 404


# --- admin ------------------------------------------------------------------------------------


def test_admin_validates_actions_and_scopes_to_the_tenant(client: Client, world: World) -> None:
    admin = make_agent("ada", None, role=Role.ADMIN)
    client.force_login(admin)
    url = reverse("admin:macros_macro_add")
    bad = client.post(url, {"name": "Kaputt", "actions": '{"stat": "closed"}', "active": "on"})
    assert bad.status_code == 200
    content = bad.content.decode()
    assert "errorlist" in content and "stat." in content  # the field error, in her language
    good = client.post(
        url,
        {"name": "Zu", "actions": '{"state": "closed"}', "departments": [world.department.pk]},
    )
    assert good.status_code == 302
    macro = Macro.objects.get(name="Zu")
    assert macro.tenant == world.tenant
    other = Tenant.objects.create(name="Nachbarstadt", slug="nachbar")
    Macro.objects.create(tenant=other, name="Fremd", actions={"priority": 1})
    listing = client.get(reverse("admin:macros_macro_changelist")).content.decode()
    assert "Zu" in listing and "Fremd" not in listing


def test_agents_cannot_reach_the_admin(agent_client: Client) -> None:
    response = agent_client.get(reverse("admin:macros_textmodule_changelist"))
    assert response.status_code in (302, 403)
