"""The hosted form is built from the service's schema and UI hints."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.http import QueryDict
from django.test import Client

from vorgang.accounts.models import Department
from vorgang.catalogue.models import OnlineService
from vorgang.channels.forms.rendering import build_fields, read_data

from .conftest import SCHEMA, UI, make_service

pytestmark = pytest.mark.django_db


def tag(html: str, element_id: str) -> str:
    """The opening tag of the element with this id."""
    found = re.search(
        r"<(input|select|textarea|fieldset)\b[^>]*\bid=\"" + element_id + r"\"[^>]*>", html
    )
    assert found, f"no element #{element_id}"
    return found.group(0)


def page(client: Client, language: str = "de", path: str = "/s/testantrag/") -> str:
    response = client.get(path, HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200
    return response.content.decode()


def test_every_widget_is_rendered(client: Client, service: OnlineService) -> None:
    html = page(client)
    assert '<html lang="de">' in html
    assert 'type="text"' in tag(html, "f-data-full_name")
    assert 'maxlength="100"' in tag(html, "f-data-full_name")
    assert 'type="date"' in tag(html, "f-data-birth_date")
    assert "<textarea" in tag(html, "f-data-note")
    # Three choices: radio buttons in a fieldset with a legend; seven: a select list.
    assert html.count('name="data.status"') == 3
    assert 'type="radio"' in tag(html, "f-data-status-0")
    assert '<label class="kern-label" for="f-data-status-1">verheiratet</label>' in html
    assert "<select" in tag(html, "f-data-country")
    assert html.count('<option value="') == 8  # "please choose" + 7
    # The address: a group with a legend; the parts with their standard labels and autocomplete.
    assert "<fieldset" in tag(html, "f-data-address")
    assert '<legend class="kern-label citizen-legend">Anschrift</legend>' in html
    assert 'autocomplete="postal-code"' in tag(html, "f-data-address-postcode")
    assert 'autocomplete="address-line1"' in tag(html, "f-data-address-street")
    assert "Straße und Hausnummer" in html
    # Nested objects: fieldsets too.
    assert "<fieldset" in tag(html, "f-data-vehicle")
    assert 'inputmode="numeric"' in tag(html, "f-data-vehicle-year")
    assert 'inputmode="numeric"' in tag(html, "f-data-children")
    assert 'inputmode="decimal"' in tag(html, "f-data-amount")
    assert 'type="email"' in tag(html, "f-data-other_email")
    iban = tag(html, "f-data-iban")
    assert 'inputmode="text"' in iban and 'autocomplete="off"' in iban
    assert 'type="checkbox"' in tag(html, "f-data-consent")
    # The contact fields for the confirmation (the service names no e-mail field itself).
    assert 'autocomplete="email"' in tag(html, "f-citizen-email")
    assert 'autocomplete="given-name"' in tag(html, "f-citizen-first_name")
    # Help texts are tied to their fields.
    assert 'aria-describedby="f-data-birth_date-help"' in tag(html, "f-data-birth_date")
    assert 'id="f-data-birth_date-help">Wie im Ausweis.</div>' in html


def test_required_fields_are_marked_in_text(client: Client, service: OnlineService) -> None:
    html = page(client, "en")
    label = re.search(r'<label class="kern-label" for="f-data-full_name">(.*?)</label>', html)
    assert label and "(required)" in label.group(1)
    optional = re.search(r'<label class="kern-label" for="f-data-note">(.*?)</label>', html)
    assert optional and "required" not in optional.group(1)
    assert "required" in tag(html, "f-data-full_name")  # and for assistive technology


def test_field_order_follows_the_ui(client: Client, service: OnlineService) -> None:
    html = page(client)
    positions = [html.index(f'id="f-data-{name}"') for name in UI["order"]]
    assert positions == sorted(positions)


def test_labels_and_help_follow_the_language(client: Client, service: OnlineService) -> None:
    german, english = page(client, "de"), page(client, "en")
    assert "Vollständiger Name" in german and "Full name" not in german
    assert "Full name" in english and '<html lang="en">' in english
    assert "As in your ID card." in english
    assert ">married</label>" in english
    assert "Street and house number" in english
    assert '<h1 class="kern-heading-large">Test application</h1>' in english
    # The switch offers the other language, in that language.
    assert 'value="en" lang="en"' in german and 'value="de" lang="de"' in english


def test_file_inputs_for_documents(client: Client, service: OnlineService) -> None:
    html = page(client, "en")
    proof = tag(html, "doc-proof")
    assert 'type="file"' in proof and "multiple" in proof
    assert 'accept="application/pdf"' in proof
    assert "required" in proof
    assert 'accept="image/jpeg,image/png"' in tag(html, "doc-photo")
    assert "Allowed file types: PDF." in html
    assert "Each file may be at most 100 KB." in html
    assert "Allowed file types: JPEG, PNG." in html
    german = page(client, "de")
    assert "100 KB" in german and 'enctype="multipart/form-data"' in german


def test_honeypot_is_hidden_from_everyone(client: Client, service: OnlineService) -> None:
    html = page(client)
    holder = re.search(r'<div class="citizen-hp" aria-hidden="true">.*?</div>', html, re.S)
    assert holder
    assert 'tabindex="-1"' in holder.group(0) and 'autocomplete="off"' in holder.group(0)


def test_radio_or_select_by_number_of_choices() -> None:
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {
            "five": {"type": "string", "enum": list("abcde")},
            "six": {"type": "string", "enum": list("abcdef")},
            "labelled": {"oneOf": [{"const": "x", "title": "Ix"}, {"const": "y", "title": "Why"}]},
        },
    }
    fields = {f.path: f for f in build_fields(schema, {}, "de")}
    assert fields["five"].widget == "radio"
    assert fields["six"].widget == "select"
    assert fields["labelled"].options == [("x", "Ix"), ("y", "Why")]


def test_posted_values_become_typed_data() -> None:
    post = QueryDict(mutable=True)
    post.update(
        {
            "data.full_name": "  Erika  ",
            "data.children": "3",
            "data.amount": "1.234,50",
            "data.consent": "true",
            "data.address.street": "Weg 1",
            "data.note": "",
            "data.vehicle.make": "",
        }
    )
    data = read_data(SCHEMA, post)
    assert data["full_name"] == "  Erika  "  # text stays as typed
    assert data["children"] == 3
    assert data["amount"] == 1234.5
    assert data["consent"] is True
    # A required group keeps its (partial) object, so its missing parts are named;
    # an empty optional group and empty fields are left out.
    assert data["address"] == {"street": "Weg 1"}
    assert "note" not in data and "vehicle" not in data
    post["data.children"] = "drei"
    assert read_data(SCHEMA, post)["children"] == "drei"  # the validator says what is wrong


def test_demo_registration_form_uses_its_own_email_field(
    client: Client, demo_services: dict[str, OnlineService]
) -> None:
    html = page(client, "de", "/s/anmeldung/")
    assert "Anmeldung einer Wohnung" in html
    assert 'name="citizen.email"' not in html  # ui.citizen names the service's e-mail field
    assert 'type="email"' in tag(html, "f-data-email")
    assert "Neue Anschrift" in html
    assert 'type="date"' in tag(html, "f-data-move_in_date")
    assert 'type="file"' in tag(html, "doc-landlord_confirmation")
    for slug in demo_services:
        assert client.get(f"/s/{slug}/").status_code == 200


def test_service_of_other_shape_still_renders(
    client: Client, service: OnlineService, department: Department
) -> None:
    make_service(
        department.tenant,
        department,
        slug="minimal",
        schema={"type": "object", "properties": {"text": {"type": "string"}}},
        ui={},
        documents=[],
    )
    html = page(client, "de", "/s/minimal/")
    assert 'name="data.text"' in html and "Text" in html
    assert 'type="file"' not in html


def test_checkbox_group_for_a_list_of_choices() -> None:
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {"days": {"type": "array", "items": {"enum": ["mo", "di", "mi"]}}},
    }
    ui = {"fields": {"days": {"choices_en": {"mo": "Monday", "di": "Tuesday", "mi": "Wednesday"}}}}
    (days,) = build_fields(schema, ui, "en", {"days": ["di"]})
    assert days.widget == "checkboxes" and days.value == ["di"]
    assert days.options[0] == ("mo", "Monday")
    post = QueryDict(mutable=True)
    post.setlist("data.days", ["mo", "mi"])
    assert read_data(schema, post) == {"days": ["mo", "mi"]}


def test_footer_links_to_the_legal_notices_the_tenant_has(
    client: Client, service: OnlineService
) -> None:
    html = page(client)
    assert "/c/legal/" not in html
    tenant = service.tenant
    tenant.imprint = "Stadt Musterstadt, Rathausplatz 1"
    tenant.accessibility_statement = "Diese Seite ist barrierefrei."
    tenant.save()
    html = page(client)
    assert f'href="/c/legal/imprint/?tenant={tenant.slug}"' in html
    assert f'href="/c/legal/accessibility/?tenant={tenant.slug}"' in html
    assert "/c/legal/privacy/" not in html


def test_language_switch_returns_to_the_form(client: Client, service: OnlineService) -> None:
    html = page(client, "de")
    action = re.search(r'<form method="post" action="([^"]+)" class="citizen-language">', html)
    assert action
    response = client.post(action.group(1), {"language": "en", "next": "/s/testantrag/"})
    assert response.status_code == 302 and response["Location"] == "/s/testantrag/"
    html = client.get("/s/testantrag/").content.decode()
    assert '<html lang="en">' in html and "Full name" in html


def test_tenant_for_request_by_host(rf: Any, service: OnlineService) -> None:
    from vorgang.accounts.models import Tenant
    from vorgang.channels.forms.tenants import tenant_for_request

    other = Tenant.objects.create(
        name="Nachbarstadt", slug="nachbar", host="Formulare.Nachbar.example"
    )
    assert tenant_for_request(rf.get("/", HTTP_HOST="formulare.nachbar.example")) == other
    assert tenant_for_request(rf.get("/", HTTP_HOST="formulare.nachbar.example:8080")) == other
    assert tenant_for_request(rf.get("/", HTTP_HOST="localhost")) == Tenant.default()
    assert tenant_for_request(rf.get("/", HTTP_HOST="[::1]:8000")) == Tenant.default()


def test_yes_no_box_is_not_marked_required_but_a_confirmation_is() -> None:
    """Unticked is a valid answer to "I have already had an eye test": no "required" mark,
    which would make people think they must tick it; "I confirm ..." must be ticked."""
    schema = {
        "type": "object",
        "required": ["eye_test_done", "consent"],
        "properties": {
            "eye_test_done": {"type": "boolean"},
            "consent": {"type": "boolean", "const": True},
        },
    }
    fields = {f.path: f for f in build_fields(schema, {}, "de")}
    assert fields["eye_test_done"].widget == "checkbox" and not fields["eye_test_done"].required
    assert fields["consent"].widget == "checkbox" and fields["consent"].required
    assert read_data(schema, QueryDict(""))["eye_test_done"] is False
