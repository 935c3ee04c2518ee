"""Test data with named states, built through the services (the one write path).

TicketFactory()                      a new case in a fresh department
TicketFactory(open=True)             ... in state open (likewise closed, pending_reminder,
                                      pending_close)
AgentFactory(departments={dep: ["full"]})
CitizenFactory()
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import factory

from vorgang.accounts import access
from vorgang.accounts.models import Department, Role, Tenant, User
from vorgang.core import clock
from vorgang.tickets import services
from vorgang.tickets.models import Ticket

PASSWORD = "correct-horse-battery"


class TenantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tenant

    name = factory.Sequence(lambda n: f"Gemeinde {n}")
    slug = factory.Sequence(lambda n: f"gemeinde-{n}")


def _default_tenant(_obj: Any) -> Tenant:
    return Tenant.default()


class DepartmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Department

    tenant = factory.LazyAttribute(_default_tenant)
    name = factory.Sequence(lambda n: f"Abteilung {n}")
    email_address = factory.Sequence(lambda n: f"abteilung{n}@stadt.example")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    tenant = factory.LazyAttribute(_default_tenant)
    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@stadt.example")
    first_name = factory.Faker("first_name", locale="de_DE")
    last_name = factory.Faker("last_name", locale="de_DE")
    role = Role.AGENT

    @factory.post_generation
    def password(obj: User, create: bool, extracted: str | None, **kwargs: Any) -> None:
        obj.set_password(extracted or PASSWORD)
        if create:
            obj.save(update_fields=["password"])

    @factory.post_generation
    def departments(obj: User, create: bool, extracted: Any, **kwargs: Any) -> None:
        """``departments={department: ["read", "change"], ...}``"""
        for department, levels in (extracted or {}).items():
            access.grant(obj, department.pk, levels)


class AgentFactory(UserFactory):
    role = Role.AGENT


class AdminFactory(UserFactory):
    role = Role.ADMIN


class CitizenFactory(UserFactory):
    role = Role.CITIZEN
    username = factory.Sequence(lambda n: f"citizen{n}")
    email = factory.Sequence(lambda n: f"buerger{n}@example.org")


class TicketFactory(factory.Factory):
    """A case created through services.create_ticket, optionally moved to a named state."""

    class Meta:
        model = Ticket

    class Params:
        open = factory.Trait(target_state="open")
        pending_reminder = factory.Trait(target_state="pending reminder")
        pending_close = factory.Trait(target_state="pending close")
        closed = factory.Trait(target_state="closed")

    department = factory.SubFactory(DepartmentFactory)
    title = factory.Sequence(lambda n: f"Antrag Nummer {n}")
    citizen = factory.LazyAttribute(lambda o: CitizenFactory(tenant=o.department.tenant))
    target_state = None
    body = "Sehr geehrte Damen und Herren, anbei mein Antrag."

    @classmethod
    def _create(cls, model_class: type[Ticket], **kwargs: Any) -> Ticket:
        target = kwargs.pop("target_state")
        body = kwargs.pop("body")
        ticket = services.create_ticket(
            None,
            article=services.ArticleInput(body=body, kind="email", sender="citizen"),
            **kwargs,
        )
        if target:
            pending = clock.now() + timedelta(days=3) if target.startswith("pending") else None
            ticket = services.change_state(None, ticket, target, pending_until=pending)
        return ticket

    _build = _create
