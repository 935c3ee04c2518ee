"""The record of automatic mail sent, which the loop guard's rate limits count."""

from __future__ import annotations

import importlib
from datetime import timedelta

import pytest
from django.apps import apps
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.channels.filters.helpers import ADDRESS, mail, run_filters
from tests.factories import DepartmentFactory, TicketFactory
from vorgang.channels import automatic
from vorgang.channels.email.filters import loop_guard
from vorgang.channels.email.intake import deliver
from vorgang.channels.models import AutomaticMail
from vorgang.core import clock
from vorgang.tickets import services
from vorgang.tickets.models import Article


@pytest.fixture
def department(db):
    return DepartmentFactory(name="Bürgerbüro", email_address=ADDRESS)


def _mail(ticket, to: str, **kwargs) -> Article:
    return services.add_article(
        None,
        ticket,
        services.ArticleInput(body="Eingegangen.", kind="email", sender="system", to=to, **kwargs),
    )


@pytest.mark.parametrize(
    ("to", "expected"),
    [
        ("erika@example.org", {"erika@example.org"}),
        ("  Erika@Example.ORG ", {"erika@example.org"}),
        ("Erika Mustermann <Erika@Example.org>", {"erika@example.org"}),
        ("A <a@example.org>, B <b@example.org>", {"a@example.org", "b@example.org"}),
        # As the rate limits always read ``to``: a list of bare addresses counts for none.
        ("a@example.org, b@example.org", set()),
        ("not an address", set()),
        ("", set()),
    ],
)
def test_recipients_are_read_from_to(to: str, expected: set[str]) -> None:
    assert automatic.recipients(to) == expected


def test_an_automatic_mail_is_recorded_by_a_hash_of_the_address(department) -> None:
    ticket = TicketFactory(department=department)
    article = _mail(ticket, "Erika Mustermann <Erika@Example.org>")
    row = AutomaticMail.objects.get()
    assert row.ticket_id == ticket.pk
    assert row.sent_at == article.created_at
    assert row.address_key == automatic.address_key("erika@example.org")
    assert "example" not in row.address_key  # no citizen address kept in the clear


@pytest.mark.parametrize(
    "data",
    [
        {"kind": "email", "sender": "system", "internal": True},  # an internal note
        {"kind": "email", "sender": "agent"},  # an agent's answer is not automatic
        {"kind": "email", "sender": "citizen"},
        {"kind": "note", "sender": "system"},
    ],
)
def test_other_articles_are_not_recorded(department, data: dict) -> None:
    ticket = TicketFactory(department=department)
    services.add_article(
        None, ticket, services.ArticleInput(body="Text", to="erika@example.org", **data)
    )
    assert not AutomaticMail.objects.exists()


def test_the_rate_limits_ask_one_query(department, settings) -> None:
    settings.VORGANG_AUTO_REPLY_LIMIT_PER_HOUR = 2
    ticket = TicketFactory(department=department)
    _mail(ticket, "erika@example.org")
    with CaptureQueriesContext(connection) as queries:
        assert loop_guard.within_rate_limits("Erika@example.org", ticket)
    assert len(queries) == 1
    _mail(TicketFactory(department=department), "erika@example.org")
    assert not loop_guard.within_rate_limits("erika@example.org", ticket)
    assert loop_guard.within_rate_limits("someone.else@example.org", ticket)


def test_the_confirmation_of_a_new_case_is_recorded(department) -> None:
    from vorgang.channels.email import outbound

    raw = mail()
    ctx = run_filters(raw)
    article = deliver(ctx, raw)
    assert ctx.delivered_ticket is not None and article is not None
    outbound.queue_confirmation(
        ctx.delivered_ticket, article, allowed=loop_guard.may_auto_respond(ctx)
    )
    row = AutomaticMail.objects.get()
    assert row.ticket_id == ctx.delivered_ticket.pk
    assert row.address_key == automatic.address_key("erika@example.org")


def test_old_rows_are_purged(department) -> None:
    ticket = TicketFactory(department=department)
    _mail(ticket, "erika@example.org")
    assert automatic.purge() == 0  # still inside the windows
    later = clock.now() + automatic.KEEP_FOR + timedelta(hours=2)
    assert automatic.purge(later) == 1
    assert not AutomaticMail.objects.exists()


def test_the_migration_records_the_last_day(department) -> None:
    ticket = TicketFactory(department=department)
    recent = _mail(ticket, "Erika <erika@example.org>")
    old = _mail(ticket, "erika@example.org")
    Article.objects.filter(pk=old.pk).update(created_at=clock.now() - timedelta(days=3))
    AutomaticMail.objects.all().delete()
    migration = importlib.import_module("vorgang.channels.migrations.0002_automatic_mail")
    migration.record_last_day(apps, None)
    row = AutomaticMail.objects.get()
    assert (row.ticket_id, row.sent_at) == (ticket.pk, recent.created_at)
    assert row.address_key == automatic.address_key("erika@example.org")
