"""Checks of service definitions, and plain-language messages for submitted data."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from tests.factories import DepartmentFactory, TenantFactory
from vorgang.catalogue import demo as catalogue_demo
from vorgang.catalogue.models import OnlineService
from vorgang.catalogue.validation import definition_errors, labelled_rows, validate_data

from .conftest import licence_data

pytestmark = pytest.mark.django_db


def errors_in(service: OnlineService, data: Any, language: str) -> dict[str, list[str]]:
    with translation.override(language):
        return validate_data(service, data)


# --- the demo's driving licence: messages written for the service ---------------------------


def test_complete_data_has_no_errors(licence: OnlineService) -> None:
    assert errors_in(licence, licence_data(), "de") == {}


def test_missing_date_of_birth_in_german_and_english(licence: OnlineService) -> None:
    data = licence_data(birth_date=None)
    assert errors_in(licence, data, "de") == {
        "birth_date": ["Bitte geben Sie Ihr Geburtsdatum an."]
    }
    assert errors_in(licence, data, "en") == {"birth_date": ["Please enter your date of birth."]}


def test_impossible_date_of_birth(licence: OnlineService) -> None:
    data = licence_data(birth_date="2007-02-30")
    assert errors_in(licence, data, "de") == {
        "birth_date": ["Bitte geben Sie ein gültiges Geburtsdatum an."]
    }
    assert errors_in(licence, data, "en") == {"birth_date": ["Please enter a valid date of birth."]}


def test_part_of_an_address_is_named_with_its_group(licence: OnlineService) -> None:
    data = licence_data(address={"street": "Lindenstraße 12", "postcode": "1234"})
    assert errors_in(licence, data, "de") == {
        "address.city": ["Bitte füllen Sie das Feld „Anschrift: Ort“ aus."],
        "address.postcode": ["Bitte geben Sie eine Postleitzahl mit 5 Ziffern an."],
    }
    assert errors_in(licence, data, "en") == {
        "address.city": ["Please fill in “Address: Town or city”."],
        "address.postcode": ["Please enter a postcode of 5 digits."],
    }


def test_choice_not_offered(licence: OnlineService) -> None:
    data = licence_data(licence_class="Z")
    assert errors_in(licence, data, "de") == {
        "licence_class": [
            "Bitte wählen Sie bei „Führerscheinklasse“ eine der angebotenen Möglichkeiten."
        ]
    }
    assert errors_in(licence, data, "en") == {
        "licence_class": ["Please choose one of the options offered for “Licence class”."]
    }


def test_yes_no_question_needs_a_boolean(licence: OnlineService) -> None:
    data = licence_data(eye_test_done="vielleicht")
    assert errors_in(licence, data, "de") == {
        "eye_test_done": [
            "Bitte wählen Sie bei „Ich habe schon einen Sehtest gemacht.“ Ja oder Nein."
        ]
    }


def test_field_the_form_does_not_have(licence: OnlineService) -> None:
    data = licence_data(favourite_colour="grün")
    assert errors_in(licence, data, "de") == {
        "favourite_colour": ["Das Feld „Favourite colour“ gehört nicht zu diesem Formular."]
    }
    assert errors_in(licence, data, "en") == {
        "favourite_colour": ["The field “Favourite colour” is not part of this form."]
    }


def test_control_characters_are_refused(licence: OnlineService) -> None:
    data = licence_data(last_name="Müller\x00\x1b[31m")
    assert errors_in(licence, data, "de") == {
        "last_name": [
            "Die Angabe bei „Nachname“ enthält unzulässige Steuerzeichen. "
            "Bitte geben Sie sie noch einmal ein."
        ]
    }


def test_html_and_line_breaks_are_text_not_errors(licence: OnlineService) -> None:
    data = licence_data(first_name="<script>alert('x')</script>", last_name="Müller\n\tjun.")
    assert errors_in(licence, data, "de") == {}


def test_data_must_be_an_object(licence: OnlineService) -> None:
    assert errors_in(licence, ["B"], "en") == {
        "data": ["The form data is missing or not in the expected form."]
    }


# --- the standard messages, for a service without messages of its own -------------------------

GENERIC_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["name", "email", "day", "count", "kind", "consent"],
    "properties": {
        "name": {"type": "string", "minLength": 2, "maxLength": 5},
        "email": {"type": "string", "format": "email"},
        "day": {"type": "string", "format": "date"},
        "count": {"type": "integer", "minimum": 1, "maximum": 5},
        "kind": {"type": "string", "enum": ["a", "b"]},
        "consent": {"const": True},
        "iban": {"type": "string"},
        "code": {"type": "string", "pattern": "^[A-Z]{3}$"},
        "tags": {"type": "array", "items": {"type": "string"}, "minItems": 2},
    },
}
GENERIC_UI: dict[str, Any] = {
    "order": ["name", "email", "day", "count", "kind", "consent", "iban", "code", "tags"],
    "fields": {
        "name": {"label_de": "Name", "label_en": "Name"},
        "email": {"label_de": "E-Mail-Adresse", "label_en": "E-mail address", "widget": "email"},
        "day": {"label_de": "Wunschtermin", "label_en": "Preferred day", "widget": "date"},
        "count": {"label_de": "Anzahl", "label_en": "Number", "widget": "number"},
        "kind": {"label_de": "Art", "label_en": "Kind", "widget": "choice"},
        "consent": {"label_de": "Ich stimme zu", "label_en": "I agree", "widget": "checkbox"},
        "iban": {
            "label_de": "IBAN für die Erstattung",
            "label_en": "IBAN for the refund",
            "widget": "iban",
        },
        "code": {"label_de": "Kennung", "label_en": "Code"},
        "tags": {"label_de": "Stichwörter", "label_en": "Keywords"},
    },
}


@pytest.fixture
def generic(tenant) -> OnlineService:
    service = OnlineService(
        tenant=tenant,
        slug="allgemein",
        name_de="Allgemeiner Antrag",
        department=DepartmentFactory(tenant=tenant),
        schema=copy.deepcopy(GENERIC_SCHEMA),
        ui=copy.deepcopy(GENERIC_UI),
    )
    service.full_clean()
    service.save()
    return service


def test_standard_required_messages(generic: OnlineService) -> None:
    assert errors_in(generic, {}, "de") == {
        "name": ["Bitte füllen Sie das Feld „Name“ aus."],
        "email": ["Bitte füllen Sie das Feld „E-Mail-Adresse“ aus."],
        "day": ["Bitte füllen Sie das Feld „Wunschtermin“ aus."],
        "count": ["Bitte füllen Sie das Feld „Anzahl“ aus."],
        "kind": ["Bitte wählen Sie bei „Art“ etwas aus."],
        "consent": ["Bitte bestätigen Sie: „Ich stimme zu“."],
    }
    assert errors_in(generic, {}, "en")["consent"] == ["Please confirm: “I agree”."]
    assert errors_in(generic, {}, "en")["kind"] == ["Please choose an option for “Kind”."]


GOOD = {
    "name": "Ada",
    "email": "ada@example.org",
    "day": "2026-12-01",
    "count": 2,
    "kind": "a",
    "consent": True,
}


@pytest.mark.parametrize(
    ("changes", "field", "german", "english"),
    [
        (
            {"name": "A"},
            "name",
            "Bitte geben Sie bei „Name“ mindestens 2 Zeichen ein.",
            "Please enter at least 2 characters for “Name”.",
        ),
        (
            {"name": "Adelheid"},
            "name",
            "Bitte geben Sie bei „Name“ höchstens 5 Zeichen ein.",
            "Please enter at most 5 characters for “Name”.",
        ),
        ({"name": ""}, "name", "Bitte füllen Sie das Feld „Name“ aus.", "Please fill in “Name”."),
        (
            {"email": "ada@"},
            "email",
            "Bitte geben Sie bei „E-Mail-Adresse“ eine gültige E-Mail-Adresse ein, "
            "zum Beispiel name@example.org.",
            "Please enter a valid e-mail address for “E-mail address”, for example "
            "name@example.org.",
        ),
        (
            {"day": "01.12.2026"},
            "day",
            "Bitte geben Sie bei „Wunschtermin“ ein gültiges Datum ein.",
            "Please enter a valid date for “Preferred day”.",
        ),
        (
            {"count": "zwei"},
            "count",
            "Bitte geben Sie bei „Anzahl“ eine ganze Zahl ein.",
            "Please enter a whole number for “Number”.",
        ),
        (
            {"count": 0},
            "count",
            "Bitte geben Sie bei „Anzahl“ eine Zahl ab 1 ein.",
            "Please enter a number of at least 1 for “Number”.",
        ),
        (
            {"count": 9},
            "count",
            "Bitte geben Sie bei „Anzahl“ eine Zahl bis 5 ein.",
            "Please enter a number of at most 5 for “Number”.",
        ),
        (
            {"name": 42},
            "name",
            "Bitte geben Sie bei „Name“ einen Text ein.",
            "Please enter text for “Name”.",
        ),
        (
            {"consent": False},
            "consent",
            "Bitte bestätigen Sie: „Ich stimme zu“.",
            "Please confirm: “I agree”.",
        ),
        (
            {"code": "ab1"},
            "code",
            "Bitte prüfen Sie die Angabe bei „Kennung“. Sie hat nicht die erwartete Form.",
            "Please check “Code”. It is not in the expected form.",
        ),
        (
            {"iban": "DE89 3704 0044 0532 0130 01"},
            "iban",
            "Bitte prüfen Sie die IBAN bei „IBAN für die Erstattung“. Sie ist nicht gültig.",
            "Please check the IBAN in “IBAN for the refund”. It is not valid.",
        ),
        (
            {"tags": ["eins"]},
            "tags",
            "Bitte geben Sie bei „Stichwörter“ mindestens 2 Einträge an.",
            "Please give at least 2 entries for “Keywords”.",
        ),
    ],
)
def test_standard_messages(generic, changes, field, german, english) -> None:
    data = {**GOOD, **changes}
    assert errors_in(generic, data, "de") == {field: [german]}
    assert errors_in(generic, data, "en") == {field: [english]}


def test_valid_iban_passes(generic: OnlineService) -> None:
    assert errors_in(generic, {**GOOD, "iban": "DE89 3704 0044 0532 0130 00"}, "de") == {}


def test_rows_for_agents_use_the_forms_labels(licence: OnlineService) -> None:
    rows = dict(labelled_rows(licence, licence_data(), "de"))
    assert rows["Führerscheinklasse"] == "B – Pkw bis 3,5 t"
    assert rows["Geburtsdatum"] == "14.05.2007"
    assert rows["Anschrift: Postleitzahl"] == "12345"
    assert rows["Ich habe schon einen Sehtest gemacht."] == "ja"
    assert next(iter(rows)) == "Führerscheinklasse"  # the form's order


# --- definitions --------------------------------------------------------------------------------


def test_the_demo_definitions_are_sound(demo_services) -> None:
    assert len(demo_services) == 3
    for service in demo_services.values():
        assert definition_errors(service) == {}, service.slug


def problems(service: OnlineService) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as caught:
        service.full_clean()
    return caught.value.message_dict


def test_schema_must_be_valid_json_schema(licence: OnlineService) -> None:
    licence.schema = {"type": "object", "properties": {"a": {"type": "strnig"}}}
    with translation.override("en"):
        found = problems(licence)
    assert "not valid JSON Schema (draft 2020-12) at properties/a/type" in found["schema"][0]


def test_schema_of_another_draft_or_with_remote_refs(licence: OnlineService) -> None:
    licence.schema = {"$schema": "http://json-schema.org/draft-07/schema#", "type": "object"}
    with translation.override("en"):
        assert "use JSON Schema draft 2020-12" in problems(licence)["schema"][0]
    licence.schema = {
        "type": "object",
        "properties": {"a": {"$ref": "https://evil.example/schema.json"}},
    }
    with translation.override("en"):
        assert "only references within the schema" in problems(licence)["schema"][0]


def test_ui_refers_only_to_schema_properties(licence: OnlineService) -> None:
    licence.ui = {
        "order": ["licence_class", "shoe_size"],
        "fields": {"address.planet": {"label_de": "Planet"}, "birth_date": {"widget": "iban"}},
        "citizen": {"email": "e_mail"},
    }
    with translation.override("en"):
        found = " | ".join(problems(licence)["ui"])
    assert "\"order\" names 'shoe_size', which is not a property of the schema." in found
    assert "\"fields\" describes 'address.planet'" in found
    assert "\"citizen\" names 'e_mail'" in found
    assert "The widget iban does not fit the field 'birth_date'" not in found  # strings fit
    licence.ui = {"fields": {"eye_test_done": {"widget": "date"}}}
    with translation.override("en"):
        assert (
            "does not fit the field 'eye_test_done' of type boolean" in problems(licence)["ui"][0]
        )


def test_documents_must_be_well_formed(licence: OnlineService) -> None:
    licence.documents = [
        {"key": "Photo!", "name_de": "", "accept": ["pdf"], "max_bytes": 0, "required": "ja"},
        {"key": "x", "name_de": "X", "accept": [".pdf"], "max_bytes": 10, "colour": "red"},
        {"key": "x", "name_de": "X2", "accept": ["application/pdf"], "max_bytes": 10},
    ]
    with translation.override("en"):
        found = " | ".join(problems(licence)["documents"])
    assert "needs a key of small letters" in found
    assert "needs a German name (name_de)" in found
    assert "'pdf' is neither a MIME type" in found
    assert "needs a maximum size in bytes" in found
    assert "required must be true or false" in found
    assert "has unknown keys: colour" in found
    assert "the key is used twice" in found


def test_leika_has_14_digits(licence: OnlineService) -> None:
    licence.leika = "9911500100100"
    with translation.override("en"):
        assert problems(licence)["leika"] == ["A LeiKa key has exactly 14 digits."]
    licence.leika = "99115001001000"
    licence.full_clean()


def test_department_must_belong_to_the_tenant(licence: OnlineService) -> None:
    licence.department = DepartmentFactory(tenant=TenantFactory())
    with translation.override("en"):
        assert problems(licence)["department"] == ["The department belongs to another tenant."]


def test_definitions_in_the_demo_module_are_not_changed_by_loading(demo_services) -> None:
    stored = demo_services["anmeldung"]
    assert stored.schema == catalogue_demo.REGISTRATION["schema"]
    assert stored.documents == catalogue_demo.REGISTRATION["documents"]
