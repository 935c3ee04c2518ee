"""Fixtures of the attribute tests: definitions of every type in the default tenant."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.utils import translation

from vorgang.accounts.models import Tenant
from vorgang.attributes.models import CaseAttribute


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    """Service errors are translated; the asserts are in English."""
    with translation.override("en"):
        yield


def make_attribute(tenant: Tenant, name: str, data_type: str, **extra: Any) -> CaseAttribute:
    attribute = CaseAttribute(
        tenant=tenant,
        name=name,
        label_de=extra.pop("label_de", name.replace("_", " ").title()),
        data_type=data_type,
        **extra,
    )
    attribute.full_clean()
    attribute.save()
    return attribute


@pytest.fixture
def every_type(tenant: Tenant) -> dict[str, CaseAttribute]:
    """One attribute of each type, none required."""
    return {
        "text": make_attribute(tenant, "aktenzeichen", "text", max_length=20),
        "select": make_attribute(
            tenant,
            "service_type",
            "select",
            label_de="Leistungsart",
            label_en="Service type",
            options=[["pass", "Reisepass"], ["ausweis", "Personalausweis"], ["2", "Zwei"]],
        ),
        "multiselect": make_attribute(
            tenant,
            "documents",
            "multiselect",
            options=[
                ["foto", "Foto"],
                ["urkunde", "Geburtsurkunde"],
                ["meldung", "Meldebescheinigung"],
            ],
        ),
        "date": make_attribute(tenant, "birthday", "date"),
        "datetime": make_attribute(tenant, "appointment", "datetime"),
        "boolean": make_attribute(tenant, "urgent", "boolean"),
        "integer": make_attribute(tenant, "trust_score", "integer", min_value=0, max_value=4),
    }
