"""Sender identification: a known citizen of the tenant by address, else a new one."""

from __future__ import annotations

import pytest

from tests.channels.filters.helpers import ingest, mail, run_filters
from tests.factories import (
    AdminFactory,
    AgentFactory,
    CitizenFactory,
    DepartmentFactory,
    TenantFactory,
)
from vorgang.accounts.models import Role, User
from vorgang.channels.models import InboundStatus

pytestmark = pytest.mark.django_db


def test_a_known_citizen_is_found_case_insensitively(department) -> None:
    citizen = CitizenFactory(email="Erika.Mustermann@Example.ORG")
    ctx = run_filters(mail(sender="erika.mustermann@example.org"), upto="sender")
    assert ctx.citizen == citizen
    assert User.objects.filter(role=Role.CITIZEN).count() == 1


def test_an_unknown_sender_becomes_a_new_citizen(department) -> None:
    ctx = run_filters(mail(sender='"Dr. Hans  Meier" <hans@example.net>'), upto="sender")
    citizen = ctx.citizen
    assert citizen is not None
    assert (citizen.email, citizen.role, citizen.tenant_id) == (
        "hans@example.net",
        Role.CITIZEN,
        department.tenant_id,
    )
    assert (citizen.first_name, citizen.last_name) == ("Dr. Hans", "Meier")
    assert not citizen.has_usable_password()


def test_a_citizen_of_another_tenant_is_not_reused(department) -> None:
    foreign = CitizenFactory(email="erika@example.org", tenant=TenantFactory())
    ctx = run_filters(mail(), upto="sender")
    assert ctx.citizen is not None
    assert ctx.citizen.pk != foreign.pk
    assert ctx.citizen.tenant_id == department.tenant_id


@pytest.mark.parametrize("factory", [AgentFactory, AdminFactory])
def test_staff_addresses_never_become_citizens(department, factory) -> None:
    staff = factory(email="sachbearbeitung@stadt.example", departments={department: ["full"]})
    entry = ingest(mail(sender="Sachbearbeitung <Sachbearbeitung@stadt.example>"))
    assert entry.status == InboundStatus.PROCESSED, entry.error
    assert entry.ticket is not None and entry.ticket.citizen is None
    assert entry.article is not None
    assert entry.article.sender == "system"  # never "agent": that would send it out
    assert entry.article.delivery_status == ""
    assert staff.display_name in entry.article.notice
    assert not User.objects.filter(role=Role.CITIZEN).exists()


def test_staff_of_another_tenant_writes_as_a_citizen(department) -> None:
    AgentFactory(email="privat@example.org", tenant=TenantFactory())
    ctx = run_filters(mail(sender="privat@example.org"), upto="sender")
    assert ctx.citizen is not None and ctx.staff_sender is None


def test_our_own_address_is_no_citizen(department) -> None:
    DepartmentFactory(email_address="standesamt@stadt.example")
    ctx = run_filters(mail(sender="standesamt@stadt.example"), upto="sender")
    assert ctx.citizen is None and ctx.suppress_auto_response


@pytest.mark.parametrize("sender", ["", "Nur ein Name", "kaputt@", "a@b@c"])
def test_an_unusable_sender_is_noted_not_fatal(department, sender: str) -> None:
    entry = ingest(mail(sender=sender))
    assert entry.status == InboundStatus.PROCESSED, entry.error
    assert entry.ticket is not None and entry.ticket.citizen is None
    assert entry.article is not None and entry.article.notice
