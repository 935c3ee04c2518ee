"""Admin-defined postmaster rules: header match → department, priority, tag, ignore."""

from __future__ import annotations

import logging

import pytest

from tests.channels.filters.helpers import ingest, mail, run_filters
from tests.factories import DepartmentFactory, TenantFactory, TicketFactory
from vorgang.channels.email.filters import postmaster
from vorgang.channels.models import InboundStatus, PostmasterRule
from vorgang.tickets.models import Article, Priority

pytestmark = pytest.mark.django_db


def rule(tenant, **fields) -> PostmasterRule:
    fields.setdefault("name", f"Regel {PostmasterRule.objects.count() + 1}")
    fields.setdefault("header", "Subject")
    return PostmasterRule.objects.create(tenant=tenant, **fields)


def test_contains_is_case_insensitive_and_adds_a_tag(department) -> None:
    rule(department.tenant, value="WOHNGELD", action="tag", tag="wohngeld")
    entry = ingest(mail(subject="Frage zum Wohngeld-Antrag"))
    assert entry.status == InboundStatus.PROCESSED, entry.error
    assert entry.ticket is not None
    assert list(entry.ticket.tags.values_list("name", flat=True)) == ["wohngeld"]


def test_regex_sets_the_priority(department) -> None:
    high = Priority.objects.order_by("-level").first()
    assert high is not None
    rule(
        department.tenant,
        header="From",
        match_type="regex",
        value=r"@(ihk|hwk)\.example>?$",
        action="priority",
        priority=high,
    )
    entry = ingest(mail(sender="Kammer <info@ihk.example>"))
    assert entry.ticket is not None and entry.ticket.priority == high
    other = ingest(mail(sender="info@ihk.example.org", message_id="<m2@x>"))
    assert other.ticket is not None and other.ticket.priority != high


def test_department_rule_routes_within_the_tenant(department) -> None:
    standesamt = DepartmentFactory(name="Standesamt", email_address="standesamt@stadt.example")
    rule(department.tenant, value="Eheschließung", action="department", department=standesamt)
    entry = ingest(mail(subject="Termin für unsere Eheschließung"))
    assert entry.ticket is not None and entry.ticket.department == standesamt


def test_department_of_another_tenant_is_never_used(department, caplog) -> None:
    foreign = DepartmentFactory(tenant=TenantFactory(), email_address="amt@gemeinde.example")
    rule(department.tenant, value="Antrag", action="department", department=foreign)
    with caplog.at_level(logging.WARNING):
        entry = ingest(mail(subject="Antrag"))
    assert entry.ticket is not None and entry.ticket.department == department
    assert "no usable department" in caplog.text


def test_ignore_keeps_the_message_in_the_journal_only(department) -> None:
    rule(department.tenant, name="Werbung", header="List-Id", value="werbung", action="ignore")
    entry = ingest(mail(extra="List-Id: Werbung <werbung.example>\r\n"))
    assert entry.status == InboundStatus.PROCESSED
    assert entry.article is None and entry.ticket is None
    assert "Werbung" in entry.note
    assert not Article.objects.exists()


def test_ignore_also_stops_follow_ups(department) -> None:
    ticket = TicketFactory(department=department)
    rule(department.tenant, value="Spam", action="ignore")
    entry = ingest(mail(subject=f"[Vorgang#{ticket.number}] Spam"))
    assert entry.article is None
    assert ticket.articles.count() == 1


def test_rules_run_in_order_and_stop_ends_them(department) -> None:
    tenant = department.tenant
    rule(tenant, position=20, value="Antrag", action="tag", tag="zweite")
    rule(tenant, position=10, value="Antrag", action="tag", tag="erste", stop=True)
    rule(tenant, position=5, value="nicht drin", action="tag", tag="nie")
    ctx = run_filters(mail(subject="Antrag"), upto="postmaster")
    assert ctx.tags == ["erste"]


def test_without_stop_every_matching_rule_acts(department) -> None:
    tenant = department.tenant
    rule(tenant, position=1, value="Antrag", action="tag", tag="a")
    rule(tenant, position=2, header="From", value="erika", action="tag", tag="b")
    rule(tenant, position=3, value="Antrag", action="tag", tag="c", active=False)
    ctx = run_filters(mail(subject="Antrag"), upto="postmaster")
    assert ctx.tags == ["a", "b"]


def test_rules_of_another_tenant_do_not_apply(department) -> None:
    rule(TenantFactory(), value="Antrag", action="ignore")
    ctx = run_filters(mail(subject="Antrag"), upto="postmaster")
    assert not ctx.ignore_reason


def test_an_invalid_regex_never_matches_and_is_logged(department, caplog) -> None:
    bad = rule(department.tenant, match_type="regex", value="(Antrag", action="ignore")
    with caplog.at_level(logging.WARNING):
        entry = ingest(mail(subject="(Antrag"))
    assert entry.status == InboundStatus.PROCESSED
    assert entry.article is not None
    assert f"postmaster rule {bad.pk}" in caplog.text


def test_a_catastrophic_regex_is_refused(department) -> None:
    assert postmaster.regex_problem("(a+)+$") is not None
    assert postmaster.regex_problem(r"^(\s*Re:)*\s*Antrag") is not None
    assert postmaster.regex_problem(r"(Wohngeld|Elterngeld)\s+Antrag") is None
    rule(department.tenant, match_type="regex", value="(a+)+$", action="ignore")
    ctx = run_filters(mail(subject="a" * 5000 + "!"), upto="postmaster")
    assert not ctx.ignore_reason


def test_only_the_start_of_a_long_header_is_looked_at(department) -> None:
    rule(department.tenant, value="Geheim", action="tag", tag="spät")
    late = "x" * postmaster.MAX_VALUE + " Geheim"
    assert run_filters(mail(subject=late), upto="postmaster").tags == []
    early = "Geheim " + "x" * postmaster.MAX_VALUE
    assert run_filters(mail(subject=early, message_id="<m2@x>"), upto="postmaster").tags == ["spät"]


def test_any_value_of_a_repeated_header_matches(department) -> None:
    rule(department.tenant, header="Received", value="relay.partner.example", action="tag", tag="p")
    extra = "Received: from a.example by b.example\r\nReceived: from relay.partner.example\r\n"
    assert run_filters(mail(extra=extra), upto="postmaster").tags == ["p"]


def test_postmaster_runs_before_sender_and_follow_up(department) -> None:
    ticket = TicketFactory(department=department)
    rule(department.tenant, header="From", value="erika@", action="ignore")
    ctx = run_filters(mail(subject=f"[Vorgang#{ticket.number}] Hallo"))
    assert ctx.ignore_reason
    assert ctx.citizen is None and ctx.ticket is None
