"""The expected processing time: fixed, or the median of the last 90 days' closed cases."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.factories import TicketFactory
from vorgang.catalogue.models import OnlineService
from vorgang.catalogue.processing import expected_days, expected_days_for
from vorgang.core import clock
from vorgang.tickets.models import Ticket

pytestmark = pytest.mark.django_db


def closed_case(service: OnlineService, days: float, closed_days_ago: float = 1) -> Ticket:
    ticket = TicketFactory(department=service.department, service=service, closed=True)
    closed = clock.now() - timedelta(days=closed_days_ago)
    # Test setup only: back-date the case so that it took ``days`` to close.
    Ticket.objects.filter(pk=ticket.pk).update(
        created_at=closed - timedelta(days=days), closed_at=closed
    )
    return ticket


def test_fixed_time_is_the_entered_number(demo_services) -> None:
    assert expected_days(demo_services["anmeldung"]) == 5
    service = demo_services["anmeldung"]
    service.processing_days = None
    assert expected_days(service) is None


def test_computed_time_falls_back_with_fewer_than_five_cases(licence: OnlineService) -> None:
    assert licence.processing_time == "computed"
    for days in (1, 2, 3, 4):
        closed_case(licence, days)
    assert expected_days(licence) == 21


def test_computed_time_is_the_median_of_recent_closed_cases(licence: OnlineService) -> None:
    for days in (1, 2, 3, 10, 20):
        closed_case(licence, days)
    closed_case(licence, 100, closed_days_ago=91)  # too long ago
    TicketFactory(department=licence.department, service=licence, open=True)  # not closed
    TicketFactory(department=licence.department, closed=True)  # another service
    assert expected_days(licence) == 3


def test_part_days_round_up(licence: OnlineService) -> None:
    for days in (0.2, 0.5, 1.5, 2.5, 9):
        closed_case(licence, days)
    assert expected_days(licence) == 2


def test_many_services_at_once(demo_services, licence: OnlineService) -> None:
    for days in (4, 4, 4, 4, 4):
        closed_case(licence, days)
    found = expected_days_for(demo_services.values())
    assert found == {
        demo_services["anmeldung"].pk: 5,
        demo_services["eheschliessung-auslandsbezug"].pk: 42,
        licence.pk: 4,
    }
