"""A test service with every widget, and helpers to post the hosted form."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from vorgang.accounts.models import Department, Tenant
from vorgang.catalogue.models import OnlineService
from vorgang.channels.forms import guards

from ..factories import DepartmentFactory

KB = 1024
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64

COUNTRIES = ["DE", "AT", "CH", "FR", "IT", "PL", "NL"]

SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "required": ["full_name", "birth_date", "status", "address", "consent"],
    "properties": {
        "full_name": {"type": "string", "minLength": 1, "maxLength": 100},
        "note": {"type": "string", "maxLength": 2000},
        "children": {"type": "integer", "minimum": 0, "maximum": 20},
        "amount": {"type": "number", "minimum": 0},
        "birth_date": {"type": "string", "format": "date"},
        "status": {"type": "string", "enum": ["single", "married", "widowed"]},
        "country": {"type": "string", "enum": COUNTRIES},
        "address": {
            "type": "object",
            "additionalProperties": False,
            "required": ["street", "postcode", "city"],
            "properties": {
                "street": {"type": "string", "minLength": 1, "maxLength": 200},
                "postcode": {"type": "string", "pattern": "^[0-9]{5}$"},
                "city": {"type": "string", "minLength": 1, "maxLength": 100},
            },
        },
        "other_email": {"type": "string", "format": "email", "maxLength": 254},
        "iban": {"type": "string", "maxLength": 40},
        "vehicle": {
            "type": "object",
            "properties": {
                "make": {"type": "string", "maxLength": 50},
                "year": {"type": "integer", "minimum": 1900},
            },
        },
        "consent": {"type": "boolean", "const": True},
    },
}

UI: dict[str, Any] = {
    "order": [
        "full_name",
        "birth_date",
        "status",
        "country",
        "address",
        "children",
        "amount",
        "note",
        "other_email",
        "iban",
        "vehicle",
        "consent",
    ],
    "fields": {
        "full_name": {"label_de": "Vollständiger Name", "label_en": "Full name"},
        "note": {"label_de": "Bemerkung", "label_en": "Remarks", "widget": "textarea"},
        "children": {
            "label_de": "Anzahl Kinder",
            "label_en": "Number of children",
            "widget": "number",
        },
        "amount": {"label_de": "Betrag in Euro", "label_en": "Amount in euros", "widget": "number"},
        "birth_date": {
            "label_de": "Geburtsdatum",
            "label_en": "Date of birth",
            "help_de": "Wie im Ausweis.",
            "help_en": "As in your ID card.",
            "widget": "date",
        },
        "status": {
            "label_de": "Familienstand",
            "label_en": "Marital status",
            "widget": "choice",
            "choices_de": {"single": "ledig", "married": "verheiratet", "widowed": "verwitwet"},
            "choices_en": {"single": "single", "married": "married", "widowed": "widowed"},
        },
        "country": {"label_de": "Staat", "label_en": "Country", "widget": "choice"},
        "address": {"label_de": "Anschrift", "label_en": "Address", "widget": "address"},
        "other_email": {
            "label_de": "Weitere E-Mail",
            "label_en": "Other e-mail",
            "widget": "email",
        },
        "iban": {"label_de": "IBAN", "label_en": "IBAN", "widget": "iban"},
        "vehicle": {"label_de": "Fahrzeug", "label_en": "Vehicle"},
        "vehicle.make": {"label_de": "Marke", "label_en": "Make"},
        "vehicle.year": {"label_de": "Baujahr", "label_en": "Year built"},
        "consent": {
            "label_de": "Ich bestätige, dass meine Angaben stimmen.",
            "label_en": "I confirm that my details are correct.",
            "widget": "checkbox",
        },
    },
}

DOCUMENTS: list[dict[str, Any]] = [
    {
        "key": "proof",
        "name_de": "Nachweis",
        "name_en": "Proof",
        "description_de": "Eine Bescheinigung.",
        "description_en": "A certificate.",
        "accept": ["application/pdf"],
        "max_bytes": 100 * KB,
        "required": True,
    },
    {
        "key": "photo",
        "name_de": "Foto",
        "name_en": "Photo",
        "accept": ["image/jpeg", "image/png"],
        "max_bytes": 20 * KB,
        "required": False,
    },
]


def make_service(tenant: Tenant, department: Department, **overrides: Any) -> OnlineService:
    values: dict[str, Any] = {
        "tenant": tenant,
        "slug": "testantrag",
        "name_de": "Testantrag",
        "name_en": "Test application",
        "description_de": "Ein Antrag zum Testen.",
        "description_en": "An application for testing.",
        "department": department,
        "schema": SCHEMA,
        "ui": UI,
        "documents": DOCUMENTS,
        "processing_days": 7,
    }
    values.update(overrides)
    service = OnlineService(**values)
    service.full_clean()
    service.save()
    return service


@pytest.fixture(autouse=True)
def _forms_settings(settings: Any) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    settings.BASE_URL = "https://vorgang.stadt.example"


@pytest.fixture
def department(tenant: Tenant) -> Department:
    return DepartmentFactory(
        tenant=tenant, name="Bürgerbüro", email_address="buergerbuero@stadt.example"
    )


@pytest.fixture
def service(tenant: Tenant, department: Department) -> OnlineService:
    return make_service(tenant, department)


def old_token(service: OnlineService, key: str | None = None) -> str:
    """A form token issued a minute ago (a real person takes longer than three seconds)."""
    from vorgang.core import clock

    return guards.issue_token(service.pk, key=key, issued=clock.now().timestamp() - 60)


def valid_post(service: OnlineService, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        guards.TOKEN_FIELD: old_token(service),
        guards.HONEYPOT_FIELD: "",
        "citizen.first_name": "Erika",
        "citizen.last_name": "Mustermann",
        "citizen.email": "erika@example.org",
        "data.full_name": "Erika Mustermann",
        "data.birth_date": "1980-05-17",
        "data.status": "married",
        "data.country": "AT",
        "data.address.street": "Hauptstraße 1",
        "data.address.postcode": "12345",
        "data.address.city": "Musterstadt",
        "data.children": "2",
        "data.amount": "12,50",
        "data.note": "",
        "data.other_email": "",
        "data.iban": "DE89 3704 0044 0532 0130 00",
        "data.vehicle.make": "",
        "data.vehicle.year": "",
        "data.consent": "true",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def pdf_upload(name: str = "nachweis.pdf", content: bytes = PDF) -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content, content_type="application/pdf")


@pytest.fixture
def client() -> Client:
    return Client(REMOTE_ADDR="203.0.113.7")


@pytest.fixture
def demo_services(tenant: Tenant, department: Department) -> dict[str, OnlineService]:
    """The three demo services, with the departments they name."""
    from vorgang.catalogue import demo

    for definition in demo.SERVICES:
        address = definition["department"]
        if not Department.objects.filter(email_address=address).exists():
            DepartmentFactory(tenant=tenant, name=address.split("@")[0], email_address=address)
    demo.load(tenant)
    return {s.slug: s for s in OnlineService.objects.filter(tenant=tenant)}
