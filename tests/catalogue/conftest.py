"""Fixtures of the catalogue tests: the demo city's departments and online services."""

from __future__ import annotations

from typing import Any

import pytest

from vorgang.accounts import services as accounts
from vorgang.accounts.models import Department, Tenant
from vorgang.catalogue import demo as catalogue_demo
from vorgang.catalogue.models import OnlineService
from vorgang.catalogue.submissions import CitizenInput, UploadedDocument
from vorgang.core import demo as core_demo

PDF = core_demo.make_pdf(["Bescheinigung", "Erste-Hilfe-Kurs, 9 Unterrichtseinheiten"])
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 200
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 200


@pytest.fixture
def departments(tenant: Tenant) -> dict[str, Department]:
    return {
        spec.key: accounts.create_department(spec.name, address=spec.address, tenant=tenant)
        for spec in core_demo.DEPARTMENTS
    }


@pytest.fixture
def demo_services(tenant: Tenant, departments: dict[str, Department]) -> dict[str, OnlineService]:
    catalogue_demo.load(tenant)
    return {s.slug: s for s in OnlineService.objects.filter(tenant=tenant)}


@pytest.fixture
def licence(demo_services: dict[str, OnlineService]) -> OnlineService:
    return demo_services["fuehrerscheinantrag"]


def licence_data(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "licence_class": "B",
        "first_name": "Lukas",
        "last_name": "Müller",
        "birth_date": "2007-05-14",
        "address": {"street": "Lindenstraße 12", "postcode": "12345", "city": "Musterstadt"},
        "phone": "030 23125123",
        "email": "lukas.mueller@example.org",
        "eye_test_done": True,
    }
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return data


def licence_files(**changes: UploadedDocument | None) -> list[UploadedDocument]:
    files: dict[str, UploadedDocument | None] = {
        "photo": UploadedDocument("photo", "passfoto.jpg", JPEG, "image/jpeg"),
        "first_aid": UploadedDocument("first_aid", "erste-hilfe.pdf", PDF, "application/pdf"),
    }
    files.update(changes)
    return [f for f in files.values() if f is not None]


def citizen(**changes: str) -> CitizenInput:
    values = {
        "email": "lukas.mueller@example.org",
        "first_name": "Lukas",
        "last_name": "Müller",
        "external_id": "",
        "trust_level": "none",
    }
    values.update(changes)
    return CitizenInput(**values)
