"""Follow-up detection: token, Message-ID, subject tag; within the tenant; through merges."""

from __future__ import annotations

import pytest

from tests.channels.filters.helpers import ADDRESS, ingest, mail, run_filters
from tests.factories import CitizenFactory, DepartmentFactory, TenantFactory, TicketFactory
from vorgang.channels.email.intake import unexpected_sender_notice
from vorgang.channels.models import InboundStatus
from vorgang.tickets import services
from vorgang.tickets.models import Ticket

pytestmark = pytest.mark.django_db


def token_address(ticket: Ticket, address: str = ADDRESS) -> str:
    local, _at, domain = address.partition("@")
    return f"{local}+{ticket.reply_token}@{domain}"


@pytest.fixture
def foreign_case():
    """A case of another tenant, with an article whose Message-ID is known."""
    department = DepartmentFactory(tenant=TenantFactory(), email_address="amt@gemeinde.example")
    ticket = TicketFactory(department=department)
    services.add_article(
        None,
        ticket,
        services.ArticleInput(body="Antwort", kind="email", sender="agent", message_id="<f@x>"),
    )
    return ticket


def test_a_forged_token_of_another_tenant_opens_a_new_case(department, foreign_case) -> None:
    entry = ingest(mail(), recipient=token_address(foreign_case))
    assert entry.status == InboundStatus.PROCESSED, entry.error
    assert entry.ticket is not None
    assert entry.ticket.pk != foreign_case.pk
    assert entry.ticket.department == department
    assert foreign_case.articles.count() == 2


def test_a_subject_number_of_another_tenant_opens_a_new_case(department, foreign_case) -> None:
    entry = ingest(mail(subject=f"Re: [Vorgang#{foreign_case.number}] Antrag"))
    assert entry.ticket is not None and entry.ticket.pk != foreign_case.pk
    assert entry.ticket.tenant_id == department.tenant_id


def test_a_message_id_of_another_tenant_opens_a_new_case(department, foreign_case) -> None:
    entry = ingest(mail(subject="Re: Antwort", extra="In-Reply-To: <f@x>\r\n"))
    assert entry.ticket is not None and entry.ticket.pk != foreign_case.pk


@pytest.mark.parametrize("how", ["token", "message_id", "subject"])
def test_references_to_a_merged_case_land_in_the_target(department, how: str) -> None:
    source = TicketFactory(department=department)
    services.add_article(
        None,
        source,
        services.ArticleInput(body="Antwort", kind="email", sender="agent", message_id="<s@x>"),
    )
    middle = TicketFactory(department=department)
    target = TicketFactory(department=department)
    services.merge(None, source, middle)
    services.merge(None, middle, target)  # merged twice: source → middle → target
    recipient = ADDRESS
    if how == "token":
        raw, recipient = mail(subject="Re: etwas"), token_address(source)
    elif how == "message_id":
        raw = mail(subject="Re: etwas", extra="References: <other@y> <s@x>\r\n")
    else:
        raw = mail(subject=f"Re: [Vorgang#{source.number}] etwas")
    ctx = run_filters(raw, recipient=recipient)
    assert ctx.ticket == target
    assert ctx.follow_up_by == how
    entry = ingest(raw, recipient=recipient)
    assert entry.status == InboundStatus.PROCESSED, entry.error
    assert entry.ticket_id == target.pk


@pytest.mark.parametrize("fallback", ["message_id", "subject"])
def test_an_unknown_token_falls_back(department, fallback: str) -> None:
    ticket = TicketFactory(department=department)
    services.add_article(
        None,
        ticket,
        services.ArticleInput(body="Antwort", kind="email", sender="agent", message_id="<a@x>"),
    )
    if fallback == "message_id":
        raw = mail(subject="Re: etwas", extra="In-Reply-To: <a@x>\r\n")
    else:
        raw = mail(subject=f"Re: [Vorgang#{ticket.number}]")
    ctx = run_filters(raw, recipient="buergerbuero+0000unknown0000@stadt.example")
    assert ctx.reply_token == "0000unknown0000"
    assert (ctx.ticket, ctx.follow_up_by) == (ticket, fallback)


def test_the_token_wins_over_message_id_and_subject(department) -> None:
    by_token = TicketFactory(department=department)
    by_subject = TicketFactory(department=department)
    raw = mail(subject=f"[Vorgang#{by_subject.number}]")
    ctx = run_filters(raw, recipient=token_address(by_token))
    assert (ctx.ticket, ctx.follow_up_by) == (by_token, "token")


def test_subject_tag_text_comes_from_the_settings(department, settings) -> None:
    settings.VORGANG_SUBJECT_TAG = "Stadt Beispiel"
    ticket = TicketFactory(department=department)
    assert run_filters(mail(subject=f"AW: [Stadt Beispiel#{ticket.number}]")).ticket == ticket
    assert run_filters(mail(subject=f"AW: [Vorgang#{ticket.number}]")).ticket is None


# --- the unexpected-sender flag -------------------------------------------------------------


def notice_of(entry) -> str:
    assert entry.status == InboundStatus.PROCESSED, entry.error
    assert entry.article is not None
    return str(entry.article.notice)


def test_the_citizen_is_known_whatever_the_case(department) -> None:
    citizen = CitizenFactory(email="erika@example.org")
    ticket = TicketFactory(department=department, citizen=citizen)
    entry = ingest(mail(subject=f"[Vorgang#{ticket.number}]", sender="ERIKA@EXAMPLE.ORG"))
    assert entry.ticket_id == ticket.pk
    assert unexpected_sender_notice() not in notice_of(entry)


def test_an_address_in_copy_is_known(department) -> None:
    ticket = TicketFactory(department=department)
    services.add_article(
        None,
        ticket,
        services.ArticleInput(
            body="Bitte auch an meinen Mann",
            kind="email",
            sender="citizen",
            cc="Max Mustermann <Max@Example.org>, amt@example.net",
        ),
    )
    entry = ingest(mail(subject=f"[Vorgang#{ticket.number}]", sender="max@example.org"))
    assert entry.ticket_id == ticket.pk
    assert unexpected_sender_notice() not in notice_of(entry)


def test_someone_we_wrote_to_is_known(department) -> None:
    ticket = TicketFactory(department=department)
    services.add_article(
        None,
        ticket,
        services.ArticleInput(
            body="Frage", kind="email", sender="agent", to="gutachter@example.net"
        ),
    )
    entry = ingest(mail(subject=f"[Vorgang#{ticket.number}]", sender="gutachter@example.net"))
    assert unexpected_sender_notice() not in notice_of(entry)


def test_a_stranger_is_flagged_but_the_message_is_kept(department) -> None:
    ticket = TicketFactory(department=department)
    entry = ingest(mail(subject=f"[Vorgang#{ticket.number}]", sender="fremd@example.com"))
    assert entry.ticket_id == ticket.pk
    assert unexpected_sender_notice() in notice_of(entry)
    assert ticket.articles.count() == 2
