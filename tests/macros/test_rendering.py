"""Text modules: placeholders filled in per case, everything else stays literal text."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import reverse

from tests.desk.conftest import World
from vorgang.accounts import services as accounts
from vorgang.macros import rendering
from vorgang.macros.models import TextModule
from vorgang.tickets import services

pytestmark = pytest.mark.django_db


def values(world: World) -> dict[str, str]:
    return rendering.values_for(world.ticket, world.agent)


def test_known_placeholders_are_filled_in(world: World) -> None:
    text = (
        "Guten Tag {{ citizen.name }},\nzu Vorgang {{case.number}} ({{ case.title }}) "
        "schreibt {{ agent.name }}, {{ department.name }} <{{ department.email }}>."
    )
    assert rendering.render(text, values(world)) == (
        f"Guten Tag Max Mustermann,\nzu Vorgang {world.ticket.number} "
        "(Antrag auf Anwohnerparkausweis) schreibt Anna Agentin, "
        "Bürgerbüro <buergerbuero@stadt.example>."
    )


def test_service_name_is_empty_without_a_service(world: World) -> None:
    assert rendering.render("[{{ service.name }}]", values(world)) == "[]"


@pytest.mark.parametrize(
    "text",
    [
        "{{ settings.SECRET_KEY }}",
        "{% load static %}{% debug %}",
        "{{ citizen.name|upper }}",
        "{{ citizen.password }}",
        "{{ agent.__class__ }}",
        "{{ request.user }}",
        "{{citizen.name.x}}",
        "{ citizen.name }",
        "{{{ case.number }",
    ],
)
def test_everything_else_stays_literal(world: World, text: str) -> None:
    assert rendering.render(text, values(world)) == text


def test_values_are_never_rendered_again(world: World) -> None:
    citizen = world.ticket.citizen
    assert citizen is not None
    citizen.first_name, citizen.last_name = "{{ agent.email }}", "{% debug %}"
    citizen.save()
    ticket = type(world.ticket).objects.get(pk=world.ticket.pk)
    out = rendering.render("Hallo {{ citizen.name }}", rendering.values_for(ticket, world.agent))
    assert out == "Hallo {{ agent.email }} {% debug %}"
    assert "anna@stadt.example" not in out


def test_english_text_for_english_citizens(world: World) -> None:
    module = TextModule.objects.create(
        tenant=world.tenant, name="Eingang", body_de="Guten Tag", body_en="Hello"
    )
    assert module.body_for("de") == "Guten Tag"
    assert module.body_for("en") == "Hello"
    module.body_en = "  "
    assert module.body_for("en") == "Guten Tag"


# --- offered on the case view -----------------------------------------------------------


def raw_modules(client: Client, pk: int) -> str:
    page = client.get(reverse("desk:case", args=[pk])).content.decode()
    return page.split('id="desk-text-modules" type="application/json">', 1)[1].split("</script>")[0]


def modules_on_page(client: Client, pk: int) -> str:
    """The offered modules' names and texts, as one string to search in."""
    data = json.loads(raw_modules(client, pk))
    return "\n".join(f"{m['name']}: {m['text']}" for m in data)


def test_case_view_offers_rendered_modules_of_its_department(
    agent_client: Client, world: World
) -> None:
    everywhere = TextModule.objects.create(
        tenant=world.tenant, name="Gruß", body_de="Mit freundlichen Grüßen\n{{ agent.name }}"
    )
    here = TextModule.objects.create(
        tenant=world.tenant,
        name="Termin",
        keywords="termin ausweis",
        body_de="Vorgang {{ case.number }}",
    )
    here.departments.add(world.department)
    elsewhere = TextModule.objects.create(tenant=world.tenant, name="Lärm", body_de="Lärm")
    elsewhere.departments.add(world.other_department)
    TextModule.objects.create(tenant=world.tenant, name="Alt", body_de="alt", active=False)
    data = modules_on_page(agent_client, world.ticket.pk)
    assert "Anna Agentin" in data and f"Vorgang {world.ticket.number}" in data
    assert everywhere.name in data and here.name in data
    assert "Lärm" not in data and "Alt" not in data


def test_other_tenants_modules_are_not_offered(agent_client: Client, world: World) -> None:
    from vorgang.accounts.models import Tenant

    other = Tenant.objects.create(name="Nachbarstadt", slug="nachbar")
    accounts.create_department("Amt", address="amt@nachbar.example", tenant=other)
    TextModule.objects.create(tenant=other, name="Fremd", body_de="fremder Text")
    assert "fremder Text" not in modules_on_page(agent_client, world.ticket.pk)


def test_script_in_a_module_cannot_break_out(agent_client: Client, world: World) -> None:
    TextModule.objects.create(
        tenant=world.tenant, name="X", body_de="</script><script>alert(1)</script>"
    )
    data = raw_modules(agent_client, world.ticket.pk)
    assert "<script>alert(1)" not in data
    assert "\\u003C/script\\u003E" in data


def test_readers_get_no_modules(client: Client, world: World) -> None:
    TextModule.objects.create(tenant=world.tenant, name="Gruß", body_de="Hallo")
    client.force_login(world.reader)
    page = client.get(reverse("desk:case", args=[world.ticket.pk])).content.decode()
    assert "Hallo" not in page


def test_note_with_module_text_is_stored_as_typed(agent_client: Client, world: World) -> None:
    # The rendered text is only a suggestion in the field: what is posted is stored.
    response = agent_client.post(
        reverse("desk:add_note", args=[world.ticket.pk]), {"body": "{{ case.number }}"}
    )
    assert response.status_code == 302
    note = world.ticket.articles.get(kind="note")
    assert note.body == "{{ case.number }}"
    assert services  # the write path made it
