"""Loop and auto-reply guard: what counts as automatic mail, and may_auto_respond."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.channels.filters.helpers import fixture, ingest, mail, run_filters
from tests.factories import CitizenFactory, DepartmentFactory, TicketFactory
from vorgang.channels.email.filters import loop_guard
from vorgang.channels.email.intake import deliver
from vorgang.channels.models import InboundStatus
from vorgang.core import clock
from vorgang.tickets import services
from vorgang.tickets.models import Ticket

pytestmark = pytest.mark.django_db


def guard(extra: str = "", **kwargs: str):
    envelope_from = kwargs.pop("envelope_from", "erika@example.org")
    return run_filters(mail(extra=extra, **kwargs), upto="loop_guard", envelope_from=envelope_from)


# (extra header lines, auto_generated, suppress_auto_response, auto_reply)
HEADER_CASES = [
    ("Auto-Submitted: auto-generated\r\n", True, True, False),
    ("Auto-Submitted: auto-replied\r\n", True, True, True),
    ("Auto-Submitted: auto-notified; owner-email=x@example.org\r\n", True, True, False),
    ("Auto-Submitted: AUTO-GENERATED (Weiterleitung)\r\n", True, True, False),
    ("Auto-Submitted: no\r\n", False, False, False),
    ("Auto-Submitted: No (von Hand geschrieben)\r\n", False, False, False),
    ("Precedence: bulk\r\n", True, True, False),
    ("Precedence: junk\r\n", True, True, False),
    ("Precedence: list\r\n", True, True, False),
    ("Precedence: auto_reply\r\n", True, True, True),
    ("Precedence: first-class\r\n", False, False, False),
    ("X-Loop: helpdesk@elsewhere.example\r\n", True, True, False),
    ("List-Id: Stadtrat <stadtrat.lists.example>\r\n", True, True, False),
    ("List-Unsubscribe: <mailto:leave@lists.example>\r\n", True, True, False),
    ("X-Auto-Response-Suppress: All\r\n", False, True, False),
    ("X-Auto-Response-Suppress: AutoReply\r\n", False, True, False),
    ("X-Auto-Response-Suppress: OOF\r\n", False, True, False),
    ("X-Auto-Response-Suppress: DR, RN, NRN\r\n", False, True, False),
    ("X-Auto-Response-Suppress: RN\r\n", False, True, False),
    ("X-Auto-Response-Suppress: NRN\r\n", False, True, False),
    ("X-Auto-Response-Suppress: None\r\n", False, False, False),
    ("X-Autoreply: yes\r\n", True, True, True),
    ("X-Autorespond: Ich bin nicht da\r\n", True, True, True),
    ("Return-Path: <>\r\n", True, True, False),
    ("Return-Path: <erika@example.org>\r\n", False, False, False),
]


@pytest.mark.parametrize(("extra", "generated", "suppress", "auto_reply"), HEADER_CASES)
def test_headers_mark_automatic_mail(
    department, extra: str, generated: bool, suppress: bool, auto_reply: bool
) -> None:
    ctx = guard(extra)
    assert (ctx.auto_generated, ctx.suppress_auto_response, ctx.auto_reply) == (
        generated,
        suppress,
        auto_reply,
    ), ctx.loop_reasons


def test_a_plain_citizen_mail_is_not_marked(department) -> None:
    ctx = guard()
    assert not (ctx.auto_generated or ctx.suppress_auto_response or ctx.auto_reply)
    assert ctx.loop_reasons == []


def test_our_own_x_loop_is_recognised(department, settings) -> None:
    settings.VORGANG_X_LOOP = "Vorgang Stadt Beispiel"
    ctx = guard("X-Loop: vorgang stadt beispiel\r\n")
    assert ctx.own_loop and ctx.suppress_auto_response and ctx.auto_generated
    other = guard("X-Loop: Vorgang\r\n")  # someone's loop, not ours (other value)
    assert other.suppress_auto_response and not other.own_loop


def test_default_loop_value_is_vorgang(department, settings) -> None:
    del settings.VORGANG_X_LOOP
    assert loop_guard.own_loop_value() == "Vorgang"
    assert guard("X-Loop: Vorgang\r\n").own_loop


@pytest.mark.parametrize(
    "subject",
    [
        "Out of Office: Ihre Anfrage",
        "Out-of-office Re: [Vorgang#1] Antrag",
        "Abwesenheitsnotiz: Re: Antrag",
        "Automatische Antwort: Antrag",
        "AUTOMATIC REPLY: your request",
        "Autoreply: Re: Antrag",
        "Auto-Reply: Antrag",
        "Auto Reply - Antrag",
        "Abwesend bis 11.12.",
        "Re: Antrag (abwesend)",
    ],
)
def test_out_of_office_subjects(department, subject: str) -> None:
    ctx = guard(subject=subject)
    assert ctx.auto_reply and ctx.suppress_auto_response


@pytest.mark.parametrize(
    "subject",
    [
        "Abwesenheit meines Sohnes in der Schule",
        "Antwort auf Ihre Frage",
        "Office-Öffnungszeiten",
        "Reply-Adresse geändert",
    ],
)
def test_ordinary_subjects_are_not_out_of_office(department, subject: str) -> None:
    assert not guard(subject=subject).auto_reply


@pytest.mark.parametrize(
    ("sender", "generated"),
    [
        ("MAILER-DAEMON@mx.example.net", True),
        ("Mail Delivery System <Mailer-Daemon@mx.example.net>", True),
        ("postmaster@example.net", True),
        ("no-reply@portal.example", False),
        ("NoReply@portal.example", False),
        ("noreply+rechnung@portal.example", False),
        ("donotreply@portal.example", False),
        ("do-not-reply@portal.example", False),
        ("do_not_reply@portal.example", False),
    ],
)
def test_system_senders_are_never_answered(department, sender: str, generated: bool) -> None:
    ctx = guard(sender=sender)
    assert ctx.suppress_auto_response
    assert ctx.auto_generated is generated


@pytest.mark.parametrize("sender", ["reply@example.org", "noreplyplease@example.org"])
def test_similar_senders_are_ordinary(department, sender: str) -> None:
    assert not guard(sender=sender).suppress_auto_response


def test_null_envelope_sender_is_automatic(department) -> None:
    assert guard(envelope_from="<>").auto_generated
    assert not guard(envelope_from="").auto_generated  # unknown (e.g. pipe), not null


def test_our_own_department_addresses_are_never_answered(department) -> None:
    other = DepartmentFactory(email_address="standesamt@stadt.example")
    ctx = guard(sender=f"Standesamt <{other.email_address}>")
    assert ctx.suppress_auto_response and "own-address" in ctx.loop_reasons
    token_address = guard(sender="standesamt+abc123@stadt.example")
    assert token_address.suppress_auto_response
    reply_to = guard(extra="Reply-To: standesamt@stadt.example\r\n")
    assert reply_to.suppress_auto_response


def test_fixture_messages(department) -> None:
    newsletter = run_filters(fixture("list_newsletter.eml"), upto="loop_guard")
    assert newsletter.auto_generated and {"list", "precedence"} <= set(newsletter.loop_reasons)
    exchange = run_filters(fixture("ooo_exchange_de.eml"), upto="loop_guard")
    assert exchange.auto_reply and exchange.auto_generated


# --- out-of-office replies join the case without reopening it --------------------------


def _case_with_outbound(department, state: str = "closed", message_id: str = "<outbound-1@v>"):
    citizen = CitizenFactory(email="erika@example.org")
    ticket = TicketFactory(department=department, citizen=citizen)
    services.add_article(
        None,
        ticket,
        services.ArticleInput(
            body="Sie können am Dienstag kommen.",
            kind="email",
            sender="agent",
            to="Erika Mustermann <erika@example.org>",
            message_id=message_id,
        ),
    )
    if state == "pending reminder":
        services.change_state(None, ticket, state, pending_until=clock.now() + timedelta(days=2))
    else:
        services.change_state(None, ticket, state)
    return ticket


@pytest.mark.parametrize("state", ["closed", "pending reminder"])
def test_out_of_office_is_added_without_reopening(department, state: str) -> None:
    ticket = _case_with_outbound(department, state, "<outbound-1@vorgang.stadt.example>")
    kind_before = Ticket.objects.get(pk=ticket.pk).state.kind
    entry = ingest(fixture("ooo_exchange_de.eml"))
    assert entry.status == InboundStatus.PROCESSED, entry.error
    assert entry.ticket_id == ticket.pk
    ticket.refresh_from_db()
    assert ticket.state.kind == kind_before
    assert ticket.articles.count() == 3


def test_out_of_office_by_subject_alone_does_not_reopen(department) -> None:
    ticket = _case_with_outbound(department)
    raw = fixture("ooo_subject_only.eml").replace(b"10001", ticket.number.encode())
    entry = ingest(raw)
    assert entry.ticket_id == ticket.pk
    ticket.refresh_from_db()
    assert ticket.state.kind == "closed"


def test_out_of_office_never_opens_a_new_case_under_the_new_case_policy(department) -> None:
    department.follow_up_policy = "new"
    department.save()
    ticket = _case_with_outbound(department, "closed", "<outbound-1@vorgang.stadt.example>")
    entry = ingest(fixture("ooo_exchange_de.eml"))
    assert entry.ticket_id == ticket.pk
    assert Ticket.objects.count() == 1


def test_a_real_reply_still_reopens(department) -> None:
    ticket = _case_with_outbound(department)
    entry = ingest(mail(subject="Re: Termin", extra="In-Reply-To: <outbound-1@v>\r\n"))
    assert entry.ticket_id == ticket.pk
    ticket.refresh_from_db()
    assert ticket.state.kind == "open"


# --- may_auto_respond --------------------------------------------------------------------


def delivered(raw: bytes, **kwargs: str):
    ctx = run_filters(raw, **kwargs)
    deliver(ctx, raw)
    return ctx


def _automatic_mail(ticket, to: str = "erika@example.org", internal: bool = False) -> None:
    services.add_article(
        None,
        ticket,
        services.ArticleInput(
            body="Ihre Nachricht ist eingegangen.",
            kind="email",
            sender="system",
            internal=internal,
            to=to,
        ),
    )


def test_an_ordinary_new_mail_may_be_answered(department) -> None:
    ctx = delivered(mail())
    assert ctx.new_case and ctx.delivered_ticket is not None
    assert loop_guard.may_auto_respond(ctx)


@pytest.mark.parametrize(
    "extra",
    ["Auto-Submitted: auto-replied\r\n", "Precedence: bulk\r\n", "X-Loop: Vorgang\r\n"],
)
def test_automatic_mail_is_never_answered(department, extra: str) -> None:
    assert not loop_guard.may_auto_respond(delivered(mail(extra=extra)))


def test_a_bounce_is_never_answered(department) -> None:
    assert not loop_guard.may_auto_respond(delivered(fixture("bounce_permanent.eml")))


def test_an_undeliverable_citizen_is_not_written_to(department) -> None:
    CitizenFactory(email="erika@example.org", email_undeliverable=True)
    assert not loop_guard.may_auto_respond(delivered(mail()))


def test_no_automatic_mail_to_our_own_or_system_addresses(department) -> None:
    ctx = delivered(mail())
    assert not loop_guard.may_auto_respond(ctx, address="buergerbuero+x@stadt.example")
    assert not loop_guard.may_auto_respond(ctx, address="postmaster@example.org")
    assert not loop_guard.may_auto_respond(ctx, address="not an address")


def test_hourly_limit_per_recipient(department, settings) -> None:
    settings.VORGANG_AUTO_REPLY_LIMIT_PER_HOUR = 2
    settings.VORGANG_AUTO_REPLY_LIMIT_PER_CASE = 100
    other_case = TicketFactory(department=department)
    _automatic_mail(other_case, to="Erika Mustermann <Erika@Example.org>")
    ctx = delivered(mail())
    assert loop_guard.may_auto_respond(ctx)
    _automatic_mail(TicketFactory(department=department))
    assert not loop_guard.may_auto_respond(ctx)


def test_hourly_limit_counts_only_automatic_mail_to_that_address(department, settings) -> None:
    settings.VORGANG_AUTO_REPLY_LIMIT_PER_HOUR = 1
    ticket = TicketFactory(department=department)
    _automatic_mail(ticket, to="xerika@example.org")  # another address
    _automatic_mail(ticket, internal=True)  # an internal note is not mail
    services.add_article(  # an agent's answer is not automatic
        None,
        ticket,
        services.ArticleInput(body="Antwort", kind="email", sender="agent", to="erika@example.org"),
    )
    assert loop_guard.may_auto_respond(delivered(mail()))


def test_hourly_limit_window_moves_on(department, settings, monkeypatch) -> None:
    settings.VORGANG_AUTO_REPLY_LIMIT_PER_HOUR = 1
    _automatic_mail(TicketFactory(department=department))
    ctx = delivered(mail())
    assert not loop_guard.may_auto_respond(ctx)
    later = clock.now() + timedelta(hours=1, minutes=1)
    monkeypatch.setattr(clock, "now", lambda: later)
    assert loop_guard.may_auto_respond(ctx)


def test_daily_limit_per_case(department, settings, monkeypatch) -> None:
    settings.VORGANG_AUTO_REPLY_LIMIT_PER_HOUR = 100
    ctx = delivered(mail())
    ticket = ctx.delivered_ticket
    assert ticket is not None
    for _ in range(3):  # the default: 3 a day and case
        assert loop_guard.may_auto_respond(ctx)
        _automatic_mail(ticket)
    assert not loop_guard.may_auto_respond(ctx)
    # Another case of the same citizen still gets its mail.
    assert loop_guard.may_auto_respond(ctx, ticket=TicketFactory(department=department))
    tomorrow = clock.now() + timedelta(days=1, minutes=1)
    monkeypatch.setattr(clock, "now", lambda: tomorrow)
    assert loop_guard.may_auto_respond(ctx)


def test_limit_defaults(settings) -> None:
    del settings.VORGANG_AUTO_REPLY_LIMIT_PER_HOUR
    del settings.VORGANG_AUTO_REPLY_LIMIT_PER_CASE
    assert loop_guard.limit_per_hour() == 10
    assert loop_guard.limit_per_case() == 3
