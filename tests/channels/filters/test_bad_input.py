"""Bad input through the whole intake (journal.accept → intake.process).

Every message is stored in the journal and then either processed (with
placeholders where something is missing) or visibly failed with a reason;
process() never raises.
"""

from __future__ import annotations

import base64

import pytest

from tests.channels.filters.helpers import ADDRESS, fixture, ingest
from vorgang.channels.email.intake import NO_SUBJECT, process
from vorgang.channels.email.parsing import NO_VISIBLE_CONTENT
from vorgang.channels.models import InboundMessage, InboundStatus
from vorgang.tickets.models import Article, Ticket

pytestmark = pytest.mark.django_db


def processed(entry: InboundMessage) -> Article:
    assert entry.status == InboundStatus.PROCESSED, entry.error
    assert entry.article is not None and entry.ticket is not None
    assert entry.article.raw_id == entry.raw_id  # the exact bytes stay with the article
    return entry.article


def test_missing_end_boundary(department) -> None:
    article = processed(ingest(fixture("mime_missing_end_boundary.eml")))
    assert "Anbei mein Antrag" in article.body
    assert list(article.attachments.values_list("filename", flat=True)) == ["antrag.pdf"]


def test_wrong_boundary_keeps_everything_as_text(department) -> None:
    article = processed(ingest(fixture("mime_wrong_boundary.eml")))
    assert "Grenze, die im Kopf nicht angegeben ist" in article.body


def test_no_from(department) -> None:
    entry = ingest(fixture("no_from.eml"))
    article = processed(entry)
    assert entry.ticket is not None and entry.ticket.citizen is None
    assert article.sender == "system"
    assert article.notice  # the agent sees that the sender is missing


def test_no_subject_gets_the_placeholder_title(department) -> None:
    entry = ingest(fixture("no_subject.eml"))
    processed(entry)
    assert entry.ticket is not None and entry.ticket.title == NO_SUBJECT == "(ohne Betreff)"


@pytest.mark.parametrize("subject", ["   ", "\t", "=?utf-8?q?_?="])
def test_a_blank_subject_gets_the_placeholder_title(department, subject: str) -> None:
    raw = (
        f"From: erika@example.org\r\nTo: {ADDRESS}\r\nSubject: {subject}\r\n"
        "Message-ID: <blank@x>\r\n\r\nText\r\n"
    ).encode()
    entry = ingest(raw)
    processed(entry)
    assert entry.ticket is not None and entry.ticket.title == NO_SUBJECT


def test_no_date(department) -> None:
    processed(ingest(fixture("no_date.eml")))


def test_no_message_id_is_still_deduplicated_by_content(department) -> None:
    raw = fixture("no_message_id.eml")
    first = ingest(raw)
    article = processed(first)
    assert article.message_id == ""
    second = ingest(raw)
    assert second.status == InboundStatus.DUPLICATE
    assert Article.objects.filter(sender="citizen").count() == 1


def test_raw_8bit_headers(department) -> None:
    entry = ingest(fixture("headers_8bit.eml"))
    article = processed(entry)
    assert entry.ticket is not None
    assert entry.ticket.title == "Anmeldung für Straße Nr. 5 – dringend"
    assert entry.ticket.citizen is not None
    assert entry.ticket.citizen.email == "juergen@example.org"
    assert "Südstadt" in article.body


def test_wrong_charset_declaration(department) -> None:
    entry = ingest(fixture("wrong_charset.eml"))
    article = processed(entry)
    assert "Müllerstraße" in article.body
    assert entry.ticket is not None and entry.ticket.title == "Grüße"


def test_zero_byte_attachment(department) -> None:
    article = processed(ingest(fixture("zero_byte_attachment.eml")))
    attachment = article.attachments.get()
    assert (attachment.filename, attachment.size) == ("leer.bin", 0)


def test_ten_megabyte_attachment(department) -> None:
    content = bytes(range(256)) * (10 * 1024 * 1024 // 256)
    encoded = base64.encodebytes(content)
    raw = (
        (
            f"From: erika@example.org\r\nTo: {ADDRESS}\r\nSubject: Großer Anhang\r\n"
            "Message-ID: <big@x>\r\nMIME-Version: 1.0\r\n"
            'Content-Type: multipart/mixed; boundary="big"\r\n\r\n'
            "--big\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nAnbei der Plan.\r\n"
            '--big\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename="plan.bin"\r\n'
            "Content-Transfer-Encoding: base64\r\n\r\n"
        ).encode()
        + encoded.replace(b"\n", b"\r\n")
        + b"--big--\r\n"
    )
    article = processed(ingest(raw))
    attachment = article.attachments.get()
    assert attachment.size == len(content)
    assert attachment.blob.read() == content


def nested(depth: int) -> bytes:
    """A message whose text sits ``depth`` multiparts deep."""
    head = f"From: erika@example.org\r\nTo: {ADDRESS}\r\nSubject: Tief\r\nMessage-ID: <deep@x>\r\n"
    head += "MIME-Version: 1.0\r\n"
    opening, closing = "", ""
    for level in range(depth):
        opening += f'Content-Type: multipart/mixed; boundary="b{level}"\r\n\r\n--b{level}\r\n'
        closing = f"\r\n--b{level}--\r\n" + closing
    leaf = "Content-Type: text/plain; charset=utf-8\r\n\r\nGanz unten.\r\n"
    return (head + opening + leaf + closing).encode()


def test_fifty_nested_multiparts(department) -> None:
    article = processed(ingest(nested(50)))
    # Deeper than the parser's depth limit: the structure is kept whole, nothing lost.
    kept = [a.blob.read() for a in article.attachments.all()]
    assert "Ganz unten" in article.body or any(b"Ganz unten" in content for content in kept)


def test_a_message_that_is_only_a_pdf(department) -> None:
    entry = ingest(fixture("only_pdf.eml"))
    article = processed(entry)
    assert article.body == NO_VISIBLE_CONTENT
    attachment = article.attachments.get()
    assert (attachment.filename, attachment.content_type) == ("scan_0001.pdf", "application/pdf")
    assert attachment.blob.read().startswith(b"%PDF-1.4")


def test_an_empty_message(department) -> None:
    entry = ingest(b"")
    assert entry.size == 0
    processed(entry)
    assert entry.ticket is not None and entry.ticket.title == NO_SUBJECT


def test_nul_bytes_never_reach_the_database(department) -> None:
    raw = (
        b"From: erika@example.org\r\nTo: " + ADDRESS.encode() + b"\r\n"
        b"Subject: Null\x00Byte\r\nMessage-ID: <nul@x>\r\n\r\nText mit \x00 darin\r\n"
    )
    article = processed(ingest(raw))
    assert "\x00" not in article.body and "\x00" not in article.subject


def test_a_failure_is_visible_and_never_raises(department) -> None:
    department.active = False
    department.save()  # nobody to deliver to: fails with the reason, then succeeds later
    entry = ingest(fixture("no_date.eml"))
    assert entry.status == InboundStatus.FAILED
    assert entry.error
    assert not Ticket.objects.exists()
    department.active = True
    department.save()
    assert process(entry.pk) == InboundStatus.PROCESSED


def test_a_nul_byte_in_the_message_id_header(department) -> None:
    raw = (
        b"From: erika@example.org\r\nTo: " + ADDRESS.encode() + b"\r\n"
        b"Subject: Kaputte ID\r\nMessage-ID: <a\x00b@x>\r\n\r\nText\r\n"
    )
    processed(ingest(raw))
