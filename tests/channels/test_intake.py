"""From the journal to a case: new cases, follow-ups, duplicates and failures."""

from __future__ import annotations

import pytest

from tests.factories import DepartmentFactory, TicketFactory
from vorgang.channels import journal
from vorgang.channels.email.filters import FILTERS, run
from vorgang.channels.email.filters.base import IntakeContext
from vorgang.channels.email.intake import deliver, process, unexpected_sender_notice
from vorgang.channels.email.parsing import parse
from vorgang.channels.models import InboundMessage, InboundStatus, PostmasterRule
from vorgang.tickets.models import Article, Ticket

pytestmark = pytest.mark.django_db


def mail(
    subject: str = "Frage zur Anmeldung",
    to: str = "buergerbuero@stadt.example",
    sender: str = "Erika Mustermann <erika@example.org>",
    message_id: str = "<m1@example.org>",
    extra: str = "",
    body: str = "Guten Tag,\nwann kann ich kommen?\n",
) -> bytes:
    headers = (
        f"From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: {message_id}\r\n"
        f"Date: Sat, 28 Nov 2026 10:00:00 +0100\r\n{extra}"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
    )
    return headers.encode() + body.encode()


@pytest.fixture
def department():
    return DepartmentFactory(name="Bürgerbüro", email_address="buergerbuero@stadt.example")


def ingest(raw: bytes, recipient: str = "buergerbuero@stadt.example") -> InboundMessage:
    entry = journal.accept(raw, channel="lmtp", recipient=recipient)
    process(entry.pk)
    entry.refresh_from_db()
    return entry


def test_new_mail_opens_a_case_for_a_new_citizen(department) -> None:
    entry = ingest(mail())
    assert entry.status == InboundStatus.PROCESSED, entry.error
    ticket = entry.ticket
    assert ticket is not None
    assert ticket.department == department
    assert ticket.title == "Frage zur Anmeldung"
    assert ticket.citizen is not None
    assert ticket.citizen.email == "erika@example.org"
    article = ticket.articles.get(sender="citizen")
    assert article.sender == "citizen"
    assert article.kind == "email"
    assert article.message_id == "<m1@example.org>"
    assert article.raw is not None
    assert article.raw_id == entry.raw_id  # the journal's bytes, stored once


def test_same_sender_is_the_same_citizen(department) -> None:
    first = ingest(mail(message_id="<a@x>"))
    second = ingest(mail(message_id="<b@x>", sender="ERIKA@Example.org", subject="Noch was"))
    assert first.ticket is not None and second.ticket is not None
    assert first.ticket.citizen_id == second.ticket.citizen_id
    assert first.ticket_id != second.ticket_id


@pytest.mark.parametrize("how", ["token", "message_id", "subject"])
def test_follow_up_lands_in_the_case(department, how: str) -> None:
    first = ingest(mail())
    ticket = first.ticket
    assert ticket is not None
    if how == "token":
        reply = mail(subject="Re: etwas ganz anderes", message_id="<r@x>")
        entry = ingest(reply, recipient=f"buergerbuero+{ticket.reply_token}@stadt.example")
    elif how == "message_id":
        entry = ingest(
            mail(subject="Re", message_id="<r@x>", extra="In-Reply-To: <m1@example.org>\r\n")
        )
    else:
        entry = ingest(mail(subject=f"Re: [Vorgang#{ticket.number}] Frage", message_id="<r@x>"))
    assert entry.status == InboundStatus.PROCESSED, entry.error
    assert entry.ticket_id == ticket.pk
    assert ticket.articles.filter(sender="citizen").count() == 2


def test_reply_reopens_a_closed_case(department) -> None:
    ticket = TicketFactory(closed=True, department=department)
    entry = ingest(mail(subject=f"[Vorgang#{ticket.number}] noch offen?"))
    ticket.refresh_from_db()
    assert entry.ticket_id == ticket.pk
    assert ticket.state.kind == "open"


def test_policy_new_case_links_to_the_closed_one(department) -> None:
    department.follow_up_policy = "new"
    department.save()
    ticket = TicketFactory(closed=True, department=department)
    entry = ingest(mail(subject=f"[Vorgang#{ticket.number}] noch offen?"))
    assert entry.ticket_id != ticket.pk
    assert entry.ticket is not None
    assert entry.ticket.links_out.filter(target=ticket).exists()


def test_unexpected_sender_is_flagged(department) -> None:
    ticket = TicketFactory(department=department)
    entry = ingest(mail(subject=f"[Vorgang#{ticket.number}] Hinweis", sender="x@elsewhere.example"))
    assert entry.ticket_id == ticket.pk
    assert entry.article is not None
    assert unexpected_sender_notice() in entry.article.notice


def test_second_delivery_is_a_duplicate(department) -> None:
    raw = mail()
    first = ingest(raw)
    second = ingest(raw)
    assert second.status == InboundStatus.DUPLICATE
    assert second.ticket_id == first.ticket_id
    assert Article.objects.filter(sender="citizen").count() == 1


def test_processing_twice_is_harmless(department) -> None:
    entry = ingest(mail())
    assert process(entry.pk) == InboundStatus.PROCESSED
    assert Ticket.objects.count() == 1


def test_no_department_fails_visibly_and_can_be_retried(department) -> None:
    entry = ingest(mail(to="niemand@stadt.example"), recipient="")
    assert entry.status == InboundStatus.FAILED
    assert "department" in entry.error
    assert not Ticket.objects.exists()
    # An admin fixes the routing (here: the department gets that address), then retries.
    department.email_address = "niemand@stadt.example"
    department.save()
    assert process(entry.pk) == InboundStatus.PROCESSED
    entry.refresh_from_db()
    assert entry.attempts == 2


def test_garbage_is_journaled_and_never_raises(department) -> None:
    entry = ingest(
        b"\x00\xff not a mail at all \r\n\r\n\xfe", recipient="buergerbuero@stadt.example"
    )
    assert entry.status in (InboundStatus.PROCESSED, InboundStatus.FAILED)
    assert InboundMessage.objects.count() == 1


# --- deliver: auto-replies, results, order of the filters ----------------------------------


def _context(raw: bytes, recipient: str = "buergerbuero@stadt.example"):
    entry = journal.accept(raw, channel="lmtp", recipient=recipient)
    return run(IntakeContext(inbound=entry, parsed=parse(raw)))


def test_the_filters_run_in_the_documented_order() -> None:
    names = [name for name, _apply in FILTERS]
    assert names == ["recipient", "postmaster", "loop_guard", "bounce", "sender", "follow_up"]


@pytest.mark.parametrize("auto_reply", [True, False])
def test_deliver_reopens_only_for_a_real_reply(department, auto_reply: bool) -> None:
    ticket = TicketFactory(closed=True, department=department)
    raw = mail(subject=f"[Vorgang#{ticket.number}] Antwort")
    ctx = _context(raw)
    assert ctx.ticket == ticket and not ctx.auto_reply
    ctx.auto_reply = auto_reply
    article = deliver(ctx, raw)
    assert article is not None and article.ticket_id == ticket.pk
    ticket.refresh_from_db()
    assert ticket.state.kind == ("closed" if auto_reply else "open")
    assert ctx.delivered_ticket == ticket and not ctx.new_case


def test_deliver_reports_a_new_case(department) -> None:
    raw = mail()
    ctx = _context(raw)
    article = deliver(ctx, raw)
    assert article is not None
    assert ctx.new_case and ctx.delivered_ticket == article.ticket


def test_an_ignored_message_is_processed_without_article(department) -> None:
    PostmasterRule.objects.create(
        tenant=department.tenant, name="Spam", header="Subject", value="Gewinn", action="ignore"
    )
    entry = ingest(mail(subject="Ihr Gewinn wartet"))
    assert entry.status == InboundStatus.PROCESSED
    assert entry.article is None and entry.ticket is None
    assert "Spam" in entry.note
    assert not Ticket.objects.exists()


def test_a_new_case_by_mail_gets_one_confirmation(department) -> None:
    entry = ingest(mail())
    assert entry.ticket is not None
    (confirmation,) = entry.ticket.articles.filter(sender="system")
    assert confirmation.kind == "email"
    assert confirmation.to == "erika@example.org"
    assert entry.ticket.number in confirmation.subject
    # A follow-up is no new case: no second confirmation.
    ingest(mail(subject=f"[Vorgang#{entry.ticket.number}] noch was", message_id="<m2@x>"))
    assert entry.ticket.articles.filter(sender="system").count() == 1


def test_an_auto_reply_gets_no_confirmation(department) -> None:
    entry = ingest(mail(extra="Auto-Submitted: auto-replied\r\n"))
    assert entry.ticket is not None
    assert not entry.ticket.articles.filter(sender="system").exists()
