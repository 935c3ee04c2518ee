"""values.clean: every type with good and bad values, required and partial, tenant walls."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import translation

from tests.factories import TenantFactory, TicketFactory
from vorgang.attributes import values
from vorgang.attributes.models import CaseAttribute
from vorgang.core.errors import InvalidInput

from .conftest import make_attribute

pytestmark = pytest.mark.django_db


GOOD: list[tuple[str, str, Any, Any]] = [
    # (type, attribute, given, stored)
    ("text", "aktenzeichen", "  AZ-2026/17 ", "AZ-2026/17"),
    ("text", "aktenzeichen", "", None),
    ("text", "aktenzeichen", "x" * 20, "x" * 20),
    ("text", "aktenzeichen", "Straße ☂", "Straße ☂"),
    ("select", "service_type", "ausweis", "ausweis"),
    ("select", "service_type", 2, "2"),
    ("select", "service_type", "", None),
    ("multiselect", "documents", ["urkunde", "foto", "urkunde"], ["urkunde", "foto"]),
    ("multiselect", "documents", [], None),
    ("date", "birthday", "1990-02-28", "1990-02-28"),
    ("date", "birthday", "2024-02-29", "2024-02-29"),
    ("datetime", "appointment", "2030-12-31T14:00:00+01:00", "2030-12-31T13:00:00.000Z"),
    ("datetime", "appointment", "2030-06-01T08:30:15.250Z", "2030-06-01T08:30:15.250Z"),
    ("datetime", "appointment", "2030-06-01T10:30:00+02:00", "2030-06-01T08:30:00.000Z"),
    ("boolean", "urgent", True, True),
    ("boolean", "urgent", False, False),
    ("integer", "trust_score", 0, 0),
    ("integer", "trust_score", 4, 4),
    ("any", "urgent", None, None),
]


@pytest.mark.parametrize(("kind", "name", "given", "stored"), GOOD)
def test_good_values_are_stored_in_one_form(every_type, tenant, kind, name, given, stored) -> None:
    cleaned, ignored = values.clean(tenant, {name: given}, partial=True, known=())
    assert cleaned == {name: stored}
    assert ignored == []


BAD: list[tuple[str, Any, str]] = [
    # (attribute, given, part of the message)
    ("aktenzeichen", 17, "must be text"),
    ("aktenzeichen", ["a"], "must be text"),
    ("aktenzeichen", "x" * 21, "at most 20 characters"),
    ("aktenzeichen", "a\x00b", "NUL"),
    ("service_type", "reisepass", "must be one of: pass, ausweis, 2"),
    ("service_type", True, "must be one of"),
    ("service_type", ["pass"], "must be one of"),
    ("documents", "foto", "must be a list"),
    ("documents", ["foto", "ufo"], "must be one of"),
    ("documents", [1.5], "must be one of"),
    ("birthday", "28.02.1990", "YYYY-MM-DD"),
    ("birthday", "2023-02-29", "YYYY-MM-DD"),
    ("birthday", "1990-02-28T10:00:00", "YYYY-MM-DD"),
    ("birthday", 19900228, "YYYY-MM-DD"),
    ("appointment", "2030-12-31T14:00:00", "needs a time zone"),
    ("appointment", "2030-12-31", "ISO 8601"),
    ("appointment", "morgen früh", "ISO 8601"),
    ("appointment", "2030-13-01T10:00:00Z", "ISO 8601"),
    ("appointment", 1234567890, "ISO 8601"),
    ("urgent", "yes", "must be true or false"),
    ("urgent", "true", "must be true or false"),
    ("urgent", 1, "must be true or false"),
    ("trust_score", True, "whole number"),
    ("trust_score", "3", "whole number"),
    ("trust_score", 2.0, "whole number"),
    ("trust_score", 5, "between 0 and 4"),
    ("trust_score", -1, "between 0 and 4"),
]


@pytest.mark.parametrize(("name", "given", "message"), BAD)
def test_bad_values_are_refused_naming_the_attribute(every_type, tenant, name, given, message):
    with pytest.raises(InvalidInput) as caught:
        values.clean(tenant, {name: given}, partial=True, known=())
    assert name in caught.value.message
    assert message in caught.value.message
    assert caught.value.status == 422


def test_known_fields_are_skipped_and_unknown_ones_reported(every_type, tenant) -> None:
    payload = {"title": 5, "group": "Bürgerbüro", "urgent": True, "colour": "blue", "x_y": 1}
    cleaned, ignored = values.clean(tenant, payload, partial=True, known={"title", "group"})
    assert cleaned == {"urgent": True}
    assert sorted(ignored) == ["colour", "x_y"]


def test_inactive_attribute_is_ignored_not_written(every_type, tenant) -> None:
    every_type["boolean"].active = False
    every_type["boolean"].save()
    cleaned, ignored = values.clean(
        tenant, {"urgent": "not even a boolean"}, partial=True, known=()
    )
    assert cleaned == {}
    assert ignored == ["urgent"]


def test_required_attribute_missing_is_refused_unless_partial(tenant) -> None:
    make_attribute(tenant, "leika_key", "text", required=True)
    with pytest.raises(InvalidInput, match="leika_key is required"):
        values.clean(tenant, {}, partial=False, known=())
    assert values.clean(tenant, {}, partial=True, known=()) == ({}, [])
    with pytest.raises(InvalidInput, match="leika_key is required"):
        values.clean(tenant, {"leika_key": "  "}, partial=True, known=())
    with pytest.raises(InvalidInput, match="leika_key is required"):
        values.clean(tenant, {"leika_key": None}, partial=True, known=())
    assert values.clean(tenant, {"leika_key": "99"}, partial=False, known=()) == (
        {"leika_key": "99"},
        [],
    )


def test_defaults_fill_missing_attributes_on_create_only(tenant) -> None:
    make_attribute(
        tenant,
        "channel",
        "select",
        required=True,
        options=[["web", "Web"], ["post", "Post"]],
        default="web",
    )
    make_attribute(tenant, "copies", "integer", default=1)
    assert values.clean(tenant, {}, partial=False, known=())[0] == {"channel": "web", "copies": 1}
    assert values.clean(tenant, {"copies": 3}, partial=False, known=())[0] == {
        "copies": 3,
        "channel": "web",
    }
    assert values.clean(tenant, {}, partial=True, known=())[0] == {}


def test_payload_must_be_an_object(tenant) -> None:
    with pytest.raises(InvalidInput, match="JSON object"):
        values.clean(tenant, ["urgent"], partial=True, known=())  # type: ignore[arg-type]


def test_other_tenants_attributes_are_unknown(every_type) -> None:
    other = TenantFactory()
    make_attribute(other, "foreign_only", "boolean")
    cleaned, ignored = values.clean(
        other, {"urgent": True, "foreign_only": True}, partial=True, known=()
    )
    assert cleaned == {"foreign_only": True}
    assert ignored == ["urgent"]


def test_as_api_lists_every_active_attribute(every_type, tenant) -> None:
    ticket = TicketFactory(department__tenant=tenant)
    ticket.attributes = {"urgent": True, "service_type": "pass", "gone": "old"}
    out = values.as_api(ticket.attributes, values.active_names(tenant.pk))
    assert list(out) == [a.name for a in CaseAttribute.objects.filter(active=True)]
    assert out["urgent"] is True
    assert out["service_type"] == "pass"
    assert out["birthday"] is None
    assert "gone" not in out
    assert values.as_api(None, ["urgent"]) == {"urgent": None}


def test_display_uses_labels_and_local_time(every_type) -> None:
    assert values.display(every_type["select"], "ausweis") == "Personalausweis"
    assert values.display(every_type["multiselect"], ["foto", "urkunde"]) == "Foto, Geburtsurkunde"
    assert values.display(every_type["boolean"], False) == "no"
    assert values.display(every_type["text"], None) == "—"
    # Stored UTC, shown in Europe/Berlin in the active language's format.
    with translation.override("de"):
        assert values.display(every_type["datetime"], "2030-12-31T14:00:00.000Z") == (
            "31.12.2030 15:00"
        )
        assert values.display(every_type["date"], "1990-02-28") == "28.02.1990"
