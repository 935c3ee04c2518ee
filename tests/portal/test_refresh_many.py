"""``links.refresh_many``: extending the links of several cases in one statement keeps what
``refresh`` promises per case (only the current citizen's links that still work, never
shortened)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import CitizenFactory, TicketFactory
from vorgang.core import clock
from vorgang.portal import links
from vorgang.portal.models import CaseLink
from vorgang.tickets.models import Ticket

pytestmark = pytest.mark.django_db


def expiry(link_pk: int) -> Any:
    return CaseLink.objects.get(pk=link_pk).expires_at


def newest_link(ticket: Ticket) -> CaseLink:
    links.issue_link(ticket)
    found = CaseLink.objects.filter(ticket=ticket).order_by("-pk").first()
    assert found is not None
    return found


def test_refresh_many_extends_only_what_refresh_would(monkeypatch: Any) -> None:
    first, second, other_citizen, untouched = (TicketFactory() for _ in range(4))
    a, b = newest_link(first), newest_link(second)
    revoked = newest_link(second)
    links.revoke(revoked)
    # A link issued to the case's earlier citizen stays as it was.
    former = newest_link(other_citizen)
    Ticket.objects.filter(pk=other_citizen.pk).update(
        citizen=CitizenFactory(tenant=other_citizen.tenant)
    )
    not_asked = newest_link(untouched)
    later = clock.now() + timedelta(days=20)
    monkeypatch.setattr(clock, "now", lambda: later)
    before = {pk: expiry(pk) for pk in (revoked.pk, former.pk, not_asked.pk)}

    with CaptureQueriesContext(connection) as captured:
        extended = links.refresh_many([first.pk, second.pk, other_citizen.pk, first.pk])

    assert extended == 2
    assert len(captured.captured_queries) == 1
    assert expiry(a.pk) == expiry(b.pk) == later + timedelta(days=30)
    assert {pk: expiry(pk) for pk in before} == before


def test_a_link_is_never_shortened(settings: Any) -> None:
    ticket = TicketFactory()
    link = newest_link(ticket)
    far = clock.now() + timedelta(days=90)
    CaseLink.objects.filter(pk=link.pk).update(expires_at=far)

    assert links.refresh(ticket) == 0
    assert links.refresh_many([ticket.pk]) == 0
    assert expiry(link.pk) == far


def test_a_case_without_a_citizen_has_nothing_to_extend() -> None:
    ticket = TicketFactory()
    link = newest_link(ticket)
    soon = clock.now() + timedelta(days=1)
    CaseLink.objects.filter(pk=link.pk).update(expires_at=soon)
    Ticket.objects.filter(pk=ticket.pk).update(citizen=None)

    assert links.refresh(ticket.pk) == 0
    assert links.refresh_many([]) == 0
    assert expiry(link.pk) == soon
