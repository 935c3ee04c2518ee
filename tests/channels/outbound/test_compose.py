"""What a reply says before it is sent: addresses, subject, threading, quote, signature."""

from __future__ import annotations

import pytest

from vorgang.channels.email import outbound
from vorgang.core.errors import InvalidInput, PermissionDenied
from vorgang.tickets import services
from vorgang.tickets.models import Article

from .conftest import Case

pytestmark = pytest.mark.django_db


def citizen_mail(case: Case, **fields: str) -> Article:
    values = {"body": "Noch eine Frage.", "kind": "email", "sender": "citizen"}
    values.update(fields)
    return services.add_article(None, case.ticket, services.ArticleInput(**values))


def test_addresses_are_checked_one_by_one() -> None:
    assert outbound.parse_recipients('"Muster, Max" <max@example.org>; b@example.org') == [
        '"Muster, Max" <max@example.org>',
        "b@example.org",
    ]
    assert outbound.parse_recipients("  ") == []
    for bad in ["max at example", "a@example.org, kein-at", "a@b.de\r\nBcc: x@y.de"]:
        with pytest.raises(InvalidInput):
            outbound.parse_recipients(bad)


def test_subject_keeps_the_citizens_tagged_subject(case: Case) -> None:
    number = case.ticket.number
    tagged = citizen_mail(
        case, subject=f"AW: Re: [Vorgang#{number}] Termin", message_id="<erika-2@example.org>"
    )
    article = outbound.reply(case.agent, case.ticket, body="Gern.")
    assert article.subject == f"Re: [Vorgang#{number}] Termin"
    assert article.in_reply_to == tagged.message_id
    # without the tag in their subject, ours is used
    assert outbound.reply_subject(case.ticket, case.citizen_mail) == (
        f"[Vorgang#{number}] Termin für den Personalausweis"
    )
    # a subject the agent chose gets the tag in front
    assert outbound.reply_subject(case.ticket, None, "Ihr Bescheid") == (
        f"[Vorgang#{number}] Ihr Bescheid"
    )


def test_references_keep_the_root_and_the_last_ones(case: Case) -> None:
    refs = " ".join(f"<m{i}@example.org>" for i in range(30))
    parent = citizen_mail(case, message_id="<last@example.org>", references=refs)
    found = outbound.references_for(parent)
    assert len(found) == outbound.MAX_REFERENCES
    assert found[0] == "<m0@example.org>"
    assert found[-1] == "<last@example.org>"
    assert found[-2] == "<m29@example.org>"


def test_quote_of_an_html_mail_in_english(case: Case) -> None:
    mail = citizen_mail(
        case,
        content_type="text/html",
        body="<p>Hello,</p><p>&gt; quoted before<br>thanks &amp; bye</p><script>x()</script>",
        from_addr="Erika Mustermann <erika@example.org>",
    )
    quoted = outbound.quote(mail, "en")
    head, *lines = quoted.split("\n")
    assert head.startswith("On ") and head.endswith(", Erika Mustermann wrote:")
    assert lines == ["> Hello,", ">", ">> quoted before", "> thanks & bye"]


def test_body_text_quote_and_signature_in_that_order() -> None:
    body = outbound.compose_body("Hallo\r\n", "Ihr Amt\r\nTel. 1", "Am ... schrieb X:\n> a")
    assert body == "Hallo\n\nAm ... schrieb X:\n> a\n\n-- \nIhr Amt\nTel. 1\n"
    assert outbound.compose_body("Hallo", "") == "Hallo\n"


def test_a_reader_may_not_reply(case: Case) -> None:
    from tests.factories import AgentFactory

    reader = AgentFactory(departments={case.ticket.department: ["read"]})
    with pytest.raises(PermissionDenied):
        outbound.reply(reader, case.ticket, body="Hallo")
    assert case.ticket.articles.count() == 1


def test_an_internal_note_is_never_quoted(case: Case) -> None:
    note = services.add_article(
        case.agent, case.ticket, services.ArticleInput(body="intern", internal=True)
    )
    with pytest.raises(InvalidInput):
        outbound.reply(case.agent, case.ticket, body="Hallo", quote_article=note)


def test_undeliverable_address_is_refused_unless_overridden(case: Case) -> None:
    citizen = case.ticket.citizen
    assert citizen is not None
    citizen.email_undeliverable = True
    citizen.save(update_fields=["email_undeliverable"])
    with pytest.raises(outbound.Undeliverable) as refused:
        outbound.reply(case.agent, case.ticket, body="Hallo")
    assert refused.value.addresses == ["erika@example.org"]
    article = outbound.reply(case.agent, case.ticket, body="Hallo", allow_undeliverable=True)
    assert article.delivery_status == "queued"
