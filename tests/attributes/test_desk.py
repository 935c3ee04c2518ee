"""The attribute section of the desk's case view: values shown, edited by change-level agents."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import AgentFactory, DepartmentFactory, TicketFactory
from vorgang.tickets import services
from vorgang.tickets.models import History, Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def department(tenant):
    return DepartmentFactory(tenant=tenant, name="Bürgerbüro")


@pytest.fixture
def ticket(department, every_type) -> Ticket:
    ticket = TicketFactory(department=department)
    return services.set_attributes(
        None, ticket, {"service_type": "ausweis", "urgent": True, "trust_score": 3}
    )


@pytest.fixture
def agent(department):
    return AgentFactory(departments={department: ["full"]})


@pytest.fixture
def agent_client(client: Client, agent) -> Client:
    client.force_login(agent)
    return client


def case_url(ticket: Ticket) -> str:
    return reverse("desk:case", args=[ticket.pk])


def edit_url(ticket: Ticket) -> str:
    return reverse("desk:edit_attributes", args=[ticket.pk])


def full_form(**changes: str | list[str]) -> dict[str, str | list[str]]:
    data: dict[str, str | list[str]] = {
        "attr_aktenzeichen": "",
        "attr_service_type": "ausweis",
        "attr_documents": [],
        "attr_birthday": "",
        "attr_appointment": "",
        "attr_urgent": "true",
        "attr_trust_score": "3",
    }
    data.update({f"attr_{k}": v for k, v in changes.items()})
    return data


def section(html: str) -> str:
    match = re.search(r'<section class="desk-section" id="attributes".*?</section>', html, re.S)
    assert match, "the attribute section is missing"
    return match.group(0)


def test_set_values_are_shown_with_labels_in_the_agents_language(agent_client, ticket) -> None:
    html = section(agent_client.get(case_url(ticket)).content.decode())
    rows = re.findall(r'<th scope="row"[^>]*>(.*?)</th>\s*<td[^>]*>(.*?)</td>', html)
    assert ("Leistungsart", "Personalausweis") in rows
    assert ("Urgent", "ja") in rows or ("Urgent", "yes") in rows
    assert ("Trust Score", "3") in rows
    assert not any(label == "Birthday" for label, _value in rows)  # unset: not in the table

    session = agent_client.session
    session["language"] = "en"
    session.save()
    html = section(agent_client.get(case_url(ticket)).content.decode())
    assert "Service type" in html
    assert "Leistungsart" not in html


def test_form_is_for_change_level_only(client: Client, ticket, department) -> None:
    client.force_login(AgentFactory(departments={department: ["read"]}))
    html = section(client.get(case_url(ticket)).content.decode())
    assert "<form" not in html
    assert "Personalausweis" in html

    client.force_login(AgentFactory(departments={department: ["read", "change"]}))
    html = section(client.get(case_url(ticket)).content.decode())
    assert f'action="{edit_url(ticket)}"' in html
    assert 'name="csrfmiddlewaretoken"' in html
    assert '<label class="kern-label" for="attribute-service-type">Leistungsart' in html
    assert '<option value="ausweis" selected>Personalausweis</option>' in html
    assert '<legend class="kern-label">Documents' in html  # checkboxes in a fieldset


def test_agent_saves_attributes(agent_client, ticket, agent) -> None:
    response = agent_client.post(
        edit_url(ticket),
        full_form(
            aktenzeichen=" AZ 17/2026 ",
            documents=["urkunde", "foto"],
            birthday="28.02.1990",
            appointment="2030-12-31T14:00",
            urgent="false",
            trust_score="",
        ),
    )
    assert response.status_code == 302
    assert response["Location"] == case_url(ticket) + "#attributes"
    ticket.refresh_from_db()
    assert ticket.attributes == {
        "aktenzeichen": "AZ 17/2026",
        "service_type": "ausweis",
        "documents": ["urkunde", "foto"],
        "birthday": "1990-02-28",
        "appointment": "2030-12-31T13:00:00.000Z",  # 14:00 in Berlin
        "urgent": False,
    }
    changed = set(
        History.objects.filter(ticket=ticket, actor=agent).values_list("field", flat=True)
    )
    assert changed == {
        "aktenzeichen",
        "documents",
        "birthday",
        "appointment",
        "urgent",
        "trust_score",
    }
    page = agent_client.get(response["Location"]).content.decode()
    assert 'role="status"' in page
    assert "31.12.2030" in section(page)
    history = page[page.index('class="desk-section desk-history"') :]
    assert "Aktenzeichen" in history  # the label, not the name
    assert "AZ 17/2026" in history


def test_errors_are_shown_per_field_and_nothing_is_saved(agent_client, ticket) -> None:
    before = dict(ticket.attributes)
    response = agent_client.post(
        edit_url(ticket),
        full_form(trust_score="9", birthday="gestern", service_type="pass", aktenzeichen="x" * 21),
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 422
    html = section(response.content.decode())
    assert re.search(r'id="attribute-trust-score"[^>]*aria-invalid="true"', html, re.S)
    assert 'id="attribute-trust-score-error"' in html
    assert "between 0 and 4" in html
    assert 'id="attribute-birthday-error"' in html
    assert 'id="attribute-aktenzeichen-error"' in html
    assert 'id="attribute-service-type-error"' not in html
    assert '<details class="desk-attributes" open>' in html
    assert 'value="9"' in html  # what the agent typed stays
    assert 'role="alert"' in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.attributes == before


def test_required_attribute_left_empty_is_an_error(agent_client, ticket) -> None:
    from .conftest import make_attribute

    make_attribute(ticket.tenant, "leika_key", "text", required=True)
    response = agent_client.post(edit_url(ticket), full_form(leika_key=""))
    assert response.status_code == 422
    assert 'id="attribute-leika-key-error"' in response.content.decode()


def test_reader_and_outsider_cannot_edit(client: Client, ticket, department) -> None:
    client.force_login(AgentFactory(departments={department: ["read"]}))
    response = client.post(edit_url(ticket), full_form(urgent="false"))
    assert response.status_code == 403
    client.force_login(AgentFactory(departments={DepartmentFactory(): ["full"]}))
    response = client.post(edit_url(ticket), full_form(urgent="false"))
    assert response.status_code == 404
    client.logout()
    response = client.post(edit_url(ticket), full_form(urgent="false"))
    assert response.status_code == 302 and "login" in response["Location"]
    ticket.refresh_from_db()
    assert ticket.attributes["urgent"] is True


def test_get_is_not_allowed_and_csrf_is_checked(agent, ticket) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(agent)
    assert client.get(edit_url(ticket)).status_code == 405
    assert client.post(edit_url(ticket), full_form(urgent="false")).status_code == 403
    ticket.refresh_from_db()
    assert ticket.attributes["urgent"] is True


def test_no_section_without_attributes(agent_client, department) -> None:
    ticket = TicketFactory(department=department)
    html = agent_client.get(case_url(ticket)).content.decode()
    assert 'id="attributes"' not in html
