"""Bounces (DSN): threaded to the case of the message that bounced, never reopening it."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.channels.filters.helpers import fixture, ingest, run_filters
from tests.factories import CitizenFactory, DepartmentFactory, TenantFactory, TicketFactory
from vorgang.accounts.models import User
from vorgang.channels.email.filters import bounce
from vorgang.channels.email.parsing import BounceInfo
from vorgang.channels.models import InboundStatus
from vorgang.core import clock
from vorgang.tickets import services
from vorgang.tickets.models import Article, Ticket

pytestmark = pytest.mark.django_db

OUTBOUND_ID = "<outbound-1@vorgang.stadt.example>"


def case_with_outbound(
    department,
    *,
    email: str = "erika@example.org",
    message_id: str = OUTBOUND_ID,
    state: str = "closed",
) -> tuple[Ticket, Article]:
    citizen = CitizenFactory(email=email, tenant=department.tenant)
    ticket = TicketFactory(department=department, citizen=citizen)
    article = services.add_article(
        None,
        ticket,
        services.ArticleInput(
            body="Guten Tag, Sie können am Dienstag kommen.",
            kind="email",
            sender="agent",
            to=f"Erika Mustermann <{email}>",
            subject=f"Re: [Vorgang#{ticket.number}] Frage zur Anmeldung",
            message_id=message_id,
        ),
    )
    services.record_delivery(article.pk, sent=True)
    if state:
        pending = clock.now() + timedelta(days=3) if state.startswith("pending") else None
        services.change_state(None, ticket, state, pending_until=pending)
    return ticket, article


def test_permanent_bounce_goes_to_the_case_and_marks_failure(department) -> None:
    ticket, outbound = case_with_outbound(department)
    users_before = User.objects.count()
    entry = ingest(fixture("bounce_permanent.eml"), envelope_from="<>")
    assert entry.status == InboundStatus.PROCESSED, entry.error
    assert entry.ticket_id == ticket.pk
    report = entry.article
    assert report is not None
    assert (report.kind, report.sender, report.internal) == ("email", "system", True)
    assert "5.1.1" in report.notice and "erika@example.org" in report.notice
    assert report.attachments.filter(content_type="message/rfc822").exists()

    outbound.refresh_from_db()
    assert outbound.delivery_status == "failed"
    assert "User unknown" in outbound.delivery_error
    citizen = User.objects.get(pk=ticket.citizen_id)
    assert citizen.email_undeliverable
    assert "5.1.1" in citizen.email_undeliverable_reason

    ticket.refresh_from_db()
    assert ticket.state.kind == "closed"  # never reopened
    assert Ticket.objects.count() == 1
    assert User.objects.count() == users_before  # the mailer daemon is no citizen
    assert ticket.history.filter(action="delivery", new_value="failed").exists()


def test_temporary_bounce_adds_the_report_only(department) -> None:
    ticket, outbound = case_with_outbound(department, state="pending close")
    entry = ingest(fixture("bounce_delayed.eml"))
    assert entry.ticket_id == ticket.pk
    assert entry.article is not None and entry.article.internal
    outbound.refresh_from_db()
    assert outbound.delivery_status == "sent"
    assert not User.objects.get(pk=ticket.citizen_id).email_undeliverable
    ticket.refresh_from_db()
    assert ticket.state.kind == "pending_close"


def test_bounce_found_by_the_subject_tag_of_the_returned_headers(department) -> None:
    ticket, outbound = case_with_outbound(department, email="max@example.net", message_id="")
    raw = fixture("bounce_headers_only.eml").replace(b"SUBJECTNUMBER", ticket.number.encode())
    entry = ingest(raw)
    assert entry.ticket_id == ticket.pk
    outbound.refresh_from_db()
    assert outbound.delivery_status == "failed"
    assert User.objects.get(pk=ticket.citizen_id).email_undeliverable


def test_bounce_to_a_closed_case_stays_there_under_the_new_case_policy(department) -> None:
    department.follow_up_policy = "new"
    department.save()
    ticket, _outbound = case_with_outbound(department)
    entry = ingest(fixture("bounce_permanent.eml"))
    assert entry.ticket_id == ticket.pk
    assert Ticket.objects.count() == 1


def test_bounce_follows_a_merge(department) -> None:
    source, _outbound = case_with_outbound(department, state="")
    target = TicketFactory(department=department)
    services.merge(None, source, target)
    entry = ingest(fixture("bounce_permanent.eml"))
    assert entry.ticket_id == target.pk


def test_unmatched_bounce_opens_a_flagged_case(department) -> None:
    citizen = CitizenFactory(email="erika@example.org")
    entry = ingest(fixture("bounce_permanent.eml"))
    assert entry.status == InboundStatus.PROCESSED, entry.error
    ticket = entry.ticket
    assert ticket is not None
    assert ticket.department == department
    assert ticket.citizen is None
    assert list(ticket.tags.values_list("name", flat=True)) == ["unzustellbar"]
    assert entry.article is not None and entry.article.internal
    assert entry.article.notice
    citizen.refresh_from_db()
    assert not citizen.email_undeliverable  # anyone could send such a report


def test_bounce_never_crosses_tenants(department) -> None:
    other_tenant = TenantFactory()
    other_department = DepartmentFactory(tenant=other_tenant, email_address="amt@gemeinde.example")
    ticket, outbound = case_with_outbound(other_department)
    entry = ingest(fixture("bounce_permanent.eml"))  # to our Bürgerbüro, about their mail
    assert entry.ticket_id != ticket.pk
    assert entry.ticket is not None and entry.ticket.department == department
    outbound.refresh_from_db()
    assert outbound.delivery_status == "sent"
    assert not User.objects.get(pk=ticket.citizen_id).email_undeliverable


def test_bounce_filter_context(department) -> None:
    ticket, outbound = case_with_outbound(department)
    ctx = run_filters(fixture("bounce_permanent.eml"))
    assert ctx.bounce is not None and ctx.bounce_permanent
    assert ctx.ticket == ticket and ctx.bounced_article == outbound
    assert ctx.follow_up_by == "bounce"
    assert not ctx.reopen and ctx.auto_generated and ctx.suppress_auto_response
    assert ctx.citizen is None


def test_mark_undeliverable_is_tenant_scoped_and_case_insensitive(tenant) -> None:
    ours = CitizenFactory(email="Erika@Example.org")
    theirs = CitizenFactory(email="erika@example.org", tenant=TenantFactory())
    staff = CitizenFactory(email="erika@example.org", role="agent")
    assert bounce.mark_undeliverable(tenant.pk, ["ERIKA@example.org"], "5.1.1 unknown") == 1
    for user, expected in ((ours, True), (theirs, False), (staff, False)):
        user.refresh_from_db()
        assert user.email_undeliverable is expected


def test_a_bounce_to_no_department_address_still_finds_its_case(department) -> None:
    ticket, outbound = case_with_outbound(department)
    raw = fixture("bounce_permanent.eml").replace(
        b"To: buergerbuero@stadt.example", b"To: bounces@mx.stadt.example"
    )
    entry = ingest(raw, recipient="")
    assert entry.status == InboundStatus.PROCESSED, entry.error
    assert entry.ticket_id == ticket.pk
    outbound.refresh_from_db()
    assert outbound.delivery_status == "failed"


def test_only_addresses_we_wrote_to_are_marked(department) -> None:
    ticket, _outbound = case_with_outbound(department)
    bystander = CitizenFactory(email="nachbar@example.org")
    raw = fixture("bounce_permanent.eml").replace(
        b"Final-Recipient: rfc822; erika@example.org",
        b"Final-Recipient: rfc822; nachbar@example.org",
    )
    entry = ingest(raw)
    assert entry.ticket_id == ticket.pk
    bystander.refresh_from_db()
    assert not bystander.email_undeliverable
    # The article had one recipient only: a failure further on (forwarding) is hers.
    assert User.objects.get(pk=ticket.citizen_id).email_undeliverable


def test_failed_addresses_of_an_article_with_several_recipients(department) -> None:
    _ticket, outbound = case_with_outbound(department)
    outbound.to, outbound.cc = "a@example.org, b@example.org", "C <c@example.org>"
    assert bounce.failed_addresses(BounceInfo(recipients=("C@Example.org",)), outbound) == [
        "c@example.org"
    ]
    assert bounce.failed_addresses(BounceInfo(recipients=("x@example.org",)), outbound) == []
