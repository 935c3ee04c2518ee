"""The citizen panel: contact details, trust level, undeliverable mail, other cases behind the walls."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from vorgang.accounts import services as accounts
from vorgang.accounts.models import Tenant, TrustLevel

from .conftest import World, make_agent, make_ticket

pytestmark = pytest.mark.django_db


def panel(client: Client, pk: int) -> str:
    page = client.get(reverse("desk:case", args=[pk])).content.decode()
    assert 'id="citizen"' in page
    return page.split('id="citizen"', 1)[1].split("</section>", 1)[0]


def test_contact_details_trust_and_undeliverable(agent_client: Client, world: World) -> None:
    citizen = world.ticket.citizen
    assert citizen is not None
    citizen.phone = "030 1234567"
    citizen.address = "Hauptstraße 1\n10115 Berlin"
    citizen.trust_level = TrustLevel.HIGH
    citizen.email_undeliverable = True
    citizen.email_undeliverable_reason = "550 mailbox unknown"
    citizen.save()

    html = panel(agent_client, world.ticket.pk)
    assert "Max Mustermann" in html
    assert 'href="mailto:max.mustermann@example.org"' in html
    assert 'href="tel:030 1234567"' in html
    assert "Hauptstraße 1" in html
    assert str(TrustLevel.HIGH.label) in html
    assert "desk-trust--high" in html
    assert "550 mailbox unknown" in html


def test_other_cases_only_those_the_agent_may_see(agent_client: Client, world: World) -> None:
    citizen = world.ticket.citizen
    visible = make_ticket(world.department, title="Wohngeld Antrag", citizen=citizen)
    hidden = make_ticket(
        world.other_department, title="Geheimer Ordnungsamt-Vorgang", citizen=citizen
    )
    other_tenant = Tenant.objects.create(name="Nachbarstadt", slug="nachbar")
    foreign_dep = accounts.create_department(
        "Bürgeramt Nachbar", address="amt@nachbar.example", tenant=other_tenant
    )
    foreign_citizen = accounts.find_or_create_citizen(
        other_tenant, "max.mustermann@example.org", first_name="Max", last_name="Mustermann"
    )
    make_ticket(foreign_dep, title="Fremder Mandant", citizen=foreign_citizen)

    html = panel(agent_client, world.ticket.pk)
    assert visible.title in html and visible.number in html
    assert hidden.title not in html  # another department without access
    assert "Fremder Mandant" not in html  # another tenant
    assert f'href="/cases/{world.ticket.pk}/"' not in html  # not the case itself


def test_reader_sees_the_panel_too(reader_client: Client, world: World) -> None:
    html = panel(reader_client, world.ticket.pk)
    assert "Max Mustermann" in html


def test_case_without_citizen(client: Client, world: World) -> None:
    from vorgang.tickets import services

    ticket = services.create_ticket(None, department=world.department, title="Interner Vorgang")
    client.force_login(world.agent)
    html = panel(client, ticket.pk)
    assert "This case has no citizen." in html or "Dieser Vorgang hat keine" in html


def test_agent_with_access_to_both_departments_sees_both(client: Client, world: World) -> None:
    both = make_agent("bea", world.department, "full")
    accounts.grant_access(world.other_department, "bea", "read")
    hidden = make_ticket(world.other_department, title="Lärm Nachbar", citizen=world.ticket.citizen)
    client.force_login(both)
    assert hidden.title in panel(client, world.ticket.pk)
