"""Writing attribute values through tickets.services: create_ticket and set_attributes."""

from __future__ import annotations

import pytest

from tests.factories import (
    AgentFactory,
    CitizenFactory,
    DepartmentFactory,
    TenantFactory,
    TicketFactory,
)
from vorgang.core.errors import InvalidInput, InvalidTransition, NotFound, PermissionDenied
from vorgang.tickets import events, history, services
from vorgang.tickets.models import History, Ticket

from .conftest import make_attribute

pytestmark = pytest.mark.django_db


def entries(ticket: Ticket, action: str = "updated") -> list[tuple[str, str, str]]:
    return [
        (h.field, h.old_value, h.new_value)
        for h in History.objects.filter(ticket=ticket, action=action).order_by("seq")
    ]


def test_create_ticket_stores_checked_attributes_with_history(every_type, tenant) -> None:
    department = DepartmentFactory(tenant=tenant)
    agent = AgentFactory(tenant=tenant, departments={department: ["create"]})
    ticket = services.create_ticket(
        agent,
        department=department,
        title="Reisepass",
        attributes={"service_type": "pass", "documents": ["foto"], "aktenzeichen": ""},
    )
    ticket.refresh_from_db()
    assert ticket.attributes == {"service_type": "pass", "documents": ["foto"]}
    assert entries(ticket) == [("service_type", "", "pass"), ("documents", "", "foto")]
    assert list(history.verify()) == []


def test_create_ticket_without_attributes_skips_required_ones(tenant) -> None:
    """Mail intake knows no attributes: a required one must not stop a case from arriving."""
    make_attribute(tenant, "leika_key", "text", required=True)
    ticket = TicketFactory(department=DepartmentFactory(tenant=tenant))
    assert ticket.attributes == {}
    with pytest.raises(InvalidInput, match="leika_key is required"):
        services.create_ticket(None, department=ticket.department, title="API-Fall", attributes={})


def test_create_ticket_refuses_bad_and_unknown_attributes(every_type, tenant) -> None:
    department = DepartmentFactory(tenant=tenant)
    before = Ticket.objects.count()
    with pytest.raises(InvalidInput, match="urgent must be true or false"):
        services.create_ticket(None, department=department, title="x", attributes={"urgent": "ja"})
    with pytest.raises(InvalidInput, match="Unknown attributes: colour"):
        services.create_ticket(None, department=department, title="x", attributes={"colour": "r"})
    assert Ticket.objects.count() == before


def test_set_attributes_records_each_change_and_emits_one_event(
    every_type, tenant, captured_events, django_capture_on_commit_callbacks
) -> None:
    department = DepartmentFactory(tenant=tenant)
    agent = AgentFactory(tenant=tenant, departments={department: ["read", "change"]})
    ticket = TicketFactory(department=department)
    services.set_attributes(None, ticket, {"urgent": False, "trust_score": 1})
    captured_events.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.set_attributes(
            agent,
            ticket,
            {
                "urgent": True,
                "trust_score": 1,  # unchanged: no entry
                "appointment": "2030-12-31T14:00:00+01:00",
                "documents": ["urkunde", "foto"],
            },
        )
    ticket.refresh_from_db()
    assert ticket.attributes == {
        "urgent": True,
        "trust_score": 1,
        "appointment": "2030-12-31T13:00:00.000Z",
        "documents": ["urkunde", "foto"],
    }
    changed = [e for e in entries(ticket) if e[0] in ("urgent", "appointment", "documents")]
    assert changed == [
        ("urgent", "", "false"),
        ("urgent", "false", "true"),
        ("appointment", "", "2030-12-31T13:00:00.000Z"),
        ("documents", "", "urkunde, foto"),
    ]
    last = History.objects.filter(ticket=ticket).order_by("-seq").first()
    assert last is not None and last.actor_id == agent.pk
    assert [(e.name, e.actor_id) for e in captured_events] == [(events.TICKET_UPDATED, agent.pk)]
    assert captured_events[0].changes == {
        "urgent": [False, True],
        "appointment": [None, "2030-12-31T13:00:00.000Z"],
        "documents": [None, ["urkunde", "foto"]],
    }
    assert list(history.verify()) == []


def test_none_unsets_and_no_change_writes_nothing(every_type, tenant, captured_events) -> None:
    ticket = TicketFactory(department=DepartmentFactory(tenant=tenant))
    services.set_attributes(None, ticket, {"aktenzeichen": "AZ-1"})
    services.set_attributes(None, ticket, {"aktenzeichen": None})
    ticket.refresh_from_db()
    assert ticket.attributes == {}
    assert entries(ticket)[-1] == ("aktenzeichen", "AZ-1", "")
    count = History.objects.filter(ticket=ticket).count()
    services.set_attributes(None, ticket, {"aktenzeichen": "", "urgent": None})
    assert History.objects.filter(ticket=ticket).count() == count


def test_set_attributes_checks_values_and_writes_nothing_on_error(every_type, tenant) -> None:
    ticket = TicketFactory(department=DepartmentFactory(tenant=tenant))
    with pytest.raises(InvalidInput, match="trust_score must lie between 0 and 4"):
        services.set_attributes(None, ticket, {"urgent": True, "trust_score": 9})
    with pytest.raises(InvalidInput, match="Unknown attributes: title"):
        services.set_attributes(None, ticket, {"title": "neu"})
    ticket.refresh_from_db()
    assert ticket.attributes == {}


def test_set_attributes_needs_change_level_and_respects_walls(every_type, tenant) -> None:
    department = DepartmentFactory(tenant=tenant)
    ticket = TicketFactory(department=department)
    reader = AgentFactory(tenant=tenant, departments={department: ["read"]})
    outsider = AgentFactory(tenant=tenant, departments={DepartmentFactory(tenant=tenant): ["full"]})
    stranger_tenant = TenantFactory()
    stranger = AgentFactory(
        tenant=stranger_tenant, departments={DepartmentFactory(tenant=stranger_tenant): ["full"]}
    )
    citizen = ticket.citizen
    with pytest.raises(PermissionDenied):
        services.set_attributes(reader, ticket, {"urgent": True})
    for actor in (outsider, stranger, citizen, CitizenFactory(tenant=tenant)):
        with pytest.raises(NotFound):
            services.set_attributes(actor, ticket, {"urgent": True})
    ticket.refresh_from_db()
    assert ticket.attributes == {}


def test_merged_case_cannot_change(every_type, tenant) -> None:
    department = DepartmentFactory(tenant=tenant)
    source, target = TicketFactory(department=department), TicketFactory(department=department)
    services.merge(None, source, target)
    with pytest.raises(InvalidTransition):
        services.set_attributes(None, source, {"urgent": True})
