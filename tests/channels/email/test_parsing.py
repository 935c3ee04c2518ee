"""The e-mail parser on hand-written citizen mails (fixtures/*.eml).

Each fixture is a realistic message to a city's citizen services; each test
asserts the parse result exactly.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from vorgang.channels.email.parsing import (
    NO_VISIBLE_CONTENT,
    HeaderMap,
    ParsedAttachment,
    parse,
    sanitize_html,
    to_json_dict,
)
from vorgang.channels.email.parsing.charsets import codec_name, decode_bytes
from vorgang.channels.email.parsing.encoded_words import decode_words
from vorgang.channels.email.parsing.headers import parse_addresses, sender_from
from vorgang.channels.email.parsing.html import MAX_NESTING
from vorgang.channels.email.parsing.mime import split_headers

FIXTURES = Path(__file__).parent / "fixtures"

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8ffff3f0005fe02fea7d6a4"
    "a40000000049454e44ae426082"
)
PDF = (
    b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
    b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n"
    b"trailer << /Root 1 0 R >>\n%%EOF\n"
)
CET = timezone(timedelta(hours=1))


def load(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def names(attachments: list[ParsedAttachment]) -> list[str]:
    return [a.filename for a in attachments]


# -- plain and HTML bodies ---------------------------------------------------------


def test_plain_utf8_mail():
    parsed = parse(load("plain_utf8.eml"))

    assert parsed.from_ == "Anna Schmidt <anna.schmidt@example.org>"
    assert parsed.from_email == "anna.schmidt@example.org"
    assert parsed.from_display_name == "Anna Schmidt"
    assert parsed.to == '"Bürgerbüro Musterstadt" <buergerbuero@musterstadt.example>'
    assert parsed.to_addresses == ["buergerbuero@musterstadt.example"]
    assert parsed.cc == ""
    assert parsed.cc_addresses == []
    assert parsed.subject == "Bewohnerparkausweis verlängern"
    assert parsed.date == datetime(2025, 3, 3, 9, 15, 2, tzinfo=CET)
    assert parsed.message_id == "<20250303091502.4711@example.org>"
    assert parsed.in_reply_to == ""
    assert parsed.references == []
    assert parsed.content_type == "text/plain"
    assert parsed.body == (
        "Sehr geehrte Damen und Herren,\n\n"
        "mein Bewohnerparkausweis für die Zone B läuft am 31. März ab.\n"
        "Kann ich ihn online verlängern?\n\n"
        "Mit freundlichen Grüßen\nAnna Schmidt\n"
    )
    assert parsed.attachments == []
    assert parsed.is_bounce is False
    assert parsed.bounce is None
    assert parsed.headers["return-path"] == "<anna.schmidt@example.org>"


def test_html_alternative_with_quoted_printable_umlauts():
    parsed = parse(load("html_alternative_qp.eml"))

    assert parsed.from_ == '"Jürgen Weiß" <juergen.weiss@example.net>'
    assert parsed.from_display_name == "Jürgen Weiß"
    assert parsed.cc == '"Weiß, Petra" <petra.weiss@example.net>'
    assert parsed.cc_addresses == ["petra.weiss@example.net"]
    assert parsed.subject == "Frage zur Ummeldung – persönliches Erscheinen"
    assert parsed.in_reply_to == "<vorgang-2025-000123@musterstadt.example>"
    assert parsed.references == [
        "<vorgang-2025-000100@musterstadt.example>",
        "<vorgang-2025-000123@musterstadt.example>",
    ]
    assert parsed.content_type == "text/html"
    assert parsed.body == (
        "<p>Sehr geehrte Damen und Herren,</p>\n"
        "<p>anbei meine Fragen zur <b>Ummeldung</b>: Muss ich persönlich erscheinen,\n"
        "oder genügt die Übersendung der Wohnungsgeberbestätigung?</p>\n"
        "<p>Viele Grüße<br>Jürgen Weiß</p>"
    )
    # the original HTML is kept (the body shown is sanitised), as Zammad does
    [original] = parsed.attachments
    assert original.filename == "message.html"
    assert original.content_type == "text/html"
    assert original.original_body is True
    assert original.content.decode("utf-8").startswith("<html><head><style>p { color: #333 }")
    assert "Jürgen Weiß" in original.content.decode("utf-8")


def test_undeclared_latin1_8bit_headers():
    parsed = parse(load("latin1_8bit_headers.eml"))

    assert parsed.from_email == "joerg.mueller@example.de"
    assert parsed.from_display_name == "Jörg Müller"
    assert parsed.from_ == '"Jörg Müller" <joerg.mueller@example.de>'
    assert parsed.subject == "Lärmbelästigung Grünstraße 12"
    assert parsed.to == "Ordnungsamt <ordnungsamt@musterstadt.example>"
    # the body is declared ISO-8859-1 but written in Windows-1252 (the dash)
    assert parsed.body == (
        "Guten Abend,\n\nseit Wochen gibt es nachts Lärm aus der Gaststätte in der "
        "Grünstraße 12.\nBitte prüfen Sie das – es ist unerträglich.\n\nJörg Müller\n"
    )


def test_iso_2022_jp_subject_and_body():
    parsed = parse(load("iso2022jp_subject.eml"))

    assert parsed.subject == "在留カードの住所変更"
    assert parsed.body == "住所変更の手続きについて教えてください。\n"
    assert parsed.date == datetime(2025, 3, 6, 8, 0, tzinfo=timezone(timedelta(hours=9)))


def test_inline_cid_image_stays_in_the_html():
    parsed = parse(load("inline_cid_image.eml"))

    assert parsed.content_type == "text/html"
    assert parsed.body == (
        "<div>Hier das Foto vom Schlagloch:</div>"
        '<div><img src="cid:schlagloch.png@example.com" alt="Foto"></div>'
        "<div>Gruß, Paul Becker</div>"
    )
    assert names(parsed.attachments) == ["message.html", "schlagloch.png"]
    image = parsed.attachments[1]
    assert image.content_type == "image/png"
    assert image.content == PNG
    assert image.content_id == "schlagloch.png@example.com"
    assert image.inline is True
    assert image.sha256 == hashlib.sha256(PNG).hexdigest()
    assert image.size == len(PNG)


def test_pdf_with_rfc2231_continued_german_filename():
    parsed = parse(load("pdf_rfc2231_filename.eml"))

    assert parsed.body == "Anbei die beglaubigte Übersetzung der Geburtsurkunde.\n"
    [pdf] = parsed.attachments
    assert pdf.filename == "Geburtsurkunde_Übersetzung.pdf"
    assert pdf.content_type == "application/pdf"
    assert pdf.content == PDF
    assert pdf.inline is False


def test_forwarded_message_is_kept_whole_and_named_by_its_subject():
    raw = load("forwarded_rfc822.eml")
    parsed = parse(raw)

    assert parsed.subject == "WG: Ihr Wohngeldantrag"
    assert parsed.body == "Ich habe die Unterlagen doch schon geschickt, siehe unten.\n"
    [forwarded] = parsed.attachments
    assert forwarded.filename == "Ihr Wohngeldantrag – fehlende Unterlagen.eml"
    assert forwarded.content_type == "message/rfc822"
    # 7bit part: the exact bytes of the attached message (LF line ends)
    start = raw.index(b"From: Sachbearbeitung")
    end = raw.index(b"\n--fwd--")
    assert forwarded.content == raw[start:end]
    # the attachment is itself a parseable message
    inner = parse(forwarded.content)
    assert inner.message_id == "<wohngeld-77@musterstadt.example>"
    assert inner.body == "Bitte reichen Sie die Lohnbescheinigungen nach.\n"


def test_uuencoded_block_in_text_and_x_uuencode_part():
    parsed = parse(load("uuencoded.eml"))

    assert parsed.content_type == "text/plain"
    assert parsed.body == (
        "Anbei die Zählerstände, alte Software, bitte um Nachsicht.\n\n\n"
        "Mit freundlichem Gruß\nHausverwaltung\n"
    )
    assert names(parsed.attachments) == ["protokoll.txt", "zaehler.csv"]
    protocol, csv = parsed.attachments
    assert protocol.content == b"Protokoll der Ablesung: ok"
    assert protocol.content_type == "application/octet-stream"
    assert csv.content == "Datum;Zählerstand\n2025-01-01;12345\n2025-02-01;12410\n".encode()
    assert csv.content_type == "text/csv"


def test_broken_base64_is_decoded_as_far_as_possible():
    parsed = parse(load("broken_base64.eml"))

    # junk characters and a line break inside the data, padding missing
    assert parsed.body == "Hallo, anbei der Scan."
    [pdf] = parsed.attachments
    assert pdf.filename == "ausweis.pdf"
    assert pdf.content == PDF


def test_delivery_status_notification_is_a_permanent_bounce():
    parsed = parse(load("bounce_dsn.eml"))

    assert parsed.is_bounce is True
    assert parsed.bounce is not None
    assert parsed.bounce.status == "5.1.1"
    assert parsed.bounce.action == "failed"
    assert parsed.bounce.permanent is True
    assert parsed.bounce.temporary is False
    assert parsed.bounce.recipients == ("nicht.vorhanden@example.org",)
    assert parsed.bounce.diagnostic == "smtp; 550 5.1.1 User unknown"
    assert parsed.bounce.original_message_id == "<vorgang-2025-000321-3@musterstadt.example>"
    assert parsed.from_email == "MAILER-DAEMON@mx.musterstadt.example"
    assert parsed.from_display_name == "Mail Delivery System"
    assert parsed.content_type == "text/plain"
    assert parsed.body.startswith("This is the mail system at host mx.musterstadt.example.\n")
    assert "\r" not in parsed.body
    assert names(parsed.attachments) == ["Delivery report.txt", "file"]
    report = parsed.attachments[0]
    assert report.content_type == "message/delivery-status"
    assert report.description == "Delivery report"
    assert report.content.startswith(b"Reporting-MTA: dns; mx.musterstadt.example\n")
    assert parsed.attachments[1].content_type == "text/rfc822-headers"


def test_auto_reply_headers_are_available_for_the_loop_guard():
    parsed = parse(load("auto_reply.eml"))

    assert parsed.headers["Auto-Submitted"] == "auto-replied"
    assert parsed.headers["auto-submitted"] == "auto-replied"
    assert parsed.headers["x-auto-response-suppress"] == "All"
    assert parsed.headers["PRECEDENCE"] == "auto_reply"
    assert "list-id" not in parsed.headers
    assert parsed.headers.get("X-Loop") is None
    assert parsed.is_bounce is False
    assert parsed.subject == "Abwesenheitsnotiz: [Vorgang#2025-000400] Bauantrag"
    assert parsed.in_reply_to == "<vorgang-2025-000400-1@musterstadt.example>"
    assert parsed.body == "Ich bin bis zum 24. März nicht im Büro.\n"


def test_missing_from_falls_back_to_reply_to():
    parsed = parse(load("missing_from.eml"))

    assert parsed.from_ == ""
    assert parsed.from_email == "info@nachbarschaft.example"
    assert parsed.from_display_name == "Verein Nachbarschaftshilfe"
    assert parsed.reply_to == "Verein Nachbarschaftshilfe <info@nachbarschaft.example>"
    assert parsed.reply_to_addresses == ["info@nachbarschaft.example"]


def test_empty_body_gives_the_placeholder():
    parsed = parse(load("empty_body.eml"))

    assert parsed.content_type == "text/plain"
    assert parsed.body == NO_VISIBLE_CONTENT == "no visible content"
    assert parsed.attachments == []
    assert parsed.subject == "Termin"


def test_message_that_is_only_an_attachment():
    parsed = parse(load("only_attachment.eml"))

    assert parsed.body == NO_VISIBLE_CONTENT
    assert parsed.content_type == "text/plain"
    [pdf] = parsed.attachments
    assert pdf.filename == "Gewerbeanmeldung.pdf"
    assert pdf.content == PDF


def test_zero_byte_attachment_is_kept():
    parsed = parse(load("zero_byte_attachment.eml"))

    [empty] = parsed.attachments
    assert empty.filename == "leer.bin"
    assert empty.content == b""
    assert empty.size == 0
    assert empty.sha256 == hashlib.sha256(b"").hexdigest()


def test_part_without_content_type_is_plain_text():
    # RFC 2045 5.2: no Content-Type means text/plain; Zammad makes it a file
    parsed = parse(load("text_without_content_type.eml"))

    assert parsed.content_type == "text/plain"
    assert parsed.body == "Sie haben ein Fax von 0301234567 empfangen (1 Seite)."
    assert names(parsed.attachments) == ["fax.pdf"]


def test_duplicate_file_names_are_numbered_and_nameless_parts_named_by_type():
    parsed = parse(load("duplicate_names.eml"))

    assert names(parsed.attachments) == ["foto.png", "foto1.png", "image.png"]
    assert [a.content for a in parsed.attachments] == [PNG, PNG + b"2", PNG + b"3"]


def test_plain_text_with_inline_image_becomes_html():
    parsed = parse(load("text_with_inline_image.eml"))

    assert parsed.content_type == "text/html"
    assert parsed.body == (
        "Guten Morgen,<br>am Eingang Süd liegt ein Baum &lt;quer&gt; über dem Weg:<br>"
        "<img src='cid:inline-1@vorgang.invalid'>"
        "Gruß<br>Tom"
    )
    [image] = parsed.attachments
    assert image.filename == "baum.png"
    assert image.content == PNG
    # the image had no Content-ID: one is made up so the body can point at it
    assert image.content_id == "inline-1@vorgang.invalid"
    assert image.inline is True


def test_apple_mail_text_photo_text_shows_all_parts_in_order():
    parsed = parse(load("apple_mail_mixed_html.eml"))

    assert parsed.content_type == "text/html"
    assert parsed.body == (
        "<div>Vielen Dank! Hier der Nachweis:</div>"
        "<img src='cid:inline-1@vorgang.invalid'>"
        "<div><br></div><div>Viele Grüße</div><div>Lena Hofmann</div>"
    )
    assert names(parsed.attachments) == ["message.html", "nachweis.png"]
    original, photo = parsed.attachments
    assert original.original_body is True
    assert "Viele Grüße" in original.content.decode("utf-8")
    assert photo.inline is True
    assert photo.content == PNG


# -- HTML safety -------------------------------------------------------------------


def test_script_and_event_handlers_are_neutralised():
    parsed = parse(load("xss_html.eml"))

    body = parsed.body
    assert parsed.content_type == "text/html"
    lowered = body.lower()
    for forbidden in (
        "<script",
        "alert(",
        "onload",
        "onerror",
        "onclick",
        "javascript:",
        "<iframe",
        "<svg",
        "<form",
        "<input",
        "<meta",
        "expression(",
        "url(",
        "evil.example",
        "document.cookie",
    ):
        assert forbidden not in lowered, forbidden
    assert body == (
        '<p style="color:red">Bitte zahlen Sie</p>\n'
        "<img>\n"
        '<a target="_blank" rel="nofollow noreferrer noopener">hier</a> oder '
        '<a href="https://bank.example/zahlen" target="_blank" '
        'rel="nofollow noreferrer noopener">dort</a>\n\n\n\n'
        "<div>Danke</div>"
    )
    # the original is kept as an attachment (served for download only)
    assert parsed.attachments[0].filename == "message.html"
    assert b"<script>" in parsed.attachments[0].content


def test_remote_images_are_not_loaded_cid_images_stay():
    parsed = parse(load("remote_images.eml"))

    assert parsed.body == (
        "<p>Unsere Veranstaltungen:</p>\n"
        '<img data-remote-src="https://tracker.example/open.gif?id=4711" width="1" height="1">\n'
        '<img data-remote-src="http://cdn.example/banner.jpg" alt="Banner">\n'
        '<img src="cid:logo@stadtmarketing.example" alt="Logo">\n'
        "<table><tbody><tr><td>Stadtfest</td></tr></tbody></table>"
    )
    assert ' src="http' not in parsed.body
    assert names(parsed.attachments) == ["message.html", "image.png"]
    logo = parsed.attachments[1]
    assert logo.content_id == "logo@stadtmarketing.example"
    assert logo.inline is True


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        (
            '<a href="https://x.example/a?b=1&c=2">x</a>',
            '<a href="https://x.example/a?b=1&amp;c=2" target="_blank" rel="nofollow noreferrer noopener">x</a>',
        ),
        (
            '<a href="mailto:amt@example.org">Amt</a>',
            '<a href="mailto:amt@example.org" target="_blank" rel="nofollow noreferrer noopener">Amt</a>',
        ),
        (
            '<a href="data:text/html;base64,PHNjcmlwdD4=">x</a>',
            '<a rel="nofollow noreferrer noopener" target="_blank">x</a>',
        ),
        (
            '<img src="data:image/png;base64,iVBORw0KGgo=">',
            '<img src="data:image/png;base64,iVBORw0KGgo=">',
        ),
        ('<img src="data:image/svg+xml;base64,PHN2Zz4=">', "<img>"),
        ('<img src="//tracker.example/p.gif">', "<img>"),
        ("<p>a<!-- comment -->b</p>", "<p>ab</p>"),
        ("<b onmouseover=alert(1)>fett</b>", "<b>fett</b>"),
        ('<div style="position:fixed;top:0;color:blue">x</div>', '<div style="color:blue">x</div>'),
        ("<style>body{display:none}</style><p>sichtbar</p>", "<p>sichtbar</p>"),
    ],
)
def test_sanitize_html(html, expected):
    assert sanitize_html(html) == expected


def test_pathological_html_is_flattened_not_slow():
    deep = sanitize_html("<div>" * 100_000 + "tief")
    assert deep.count("<div>") == MAX_NESTING
    assert "tief" in deep

    misnested = "".join(f"<p><b id={i}>x</p>" for i in range(3000))
    assert len(sanitize_html(misnested)) < 30 * len(misnested)

    # ordinary sloppy HTML keeps its structure
    sloppy = "<ul>" + "<li>Punkt" * 500 + "</ul>"
    assert sanitize_html(sloppy).count("<li>") == 500


# -- structure and robustness ------------------------------------------------------


def _nested(depth: int) -> bytes:
    lines = [
        "From: Tiefe Verschachtelung <tief@example.org>",
        "To: poststelle@musterstadt.example",
        "Subject: verschachtelt",
        "MIME-Version: 1.0",
        'Content-Type: multipart/mixed; boundary="b0"',
        "",
    ]
    for level in range(1, depth):
        lines += [f"--b{level - 1}", f'Content-Type: multipart/mixed; boundary="b{level}"', ""]
    lines += [
        f"--b{depth - 1}",
        "Content-Type: text/plain; charset=utf-8",
        "",
        "ganz innen",
        "",
        f"--b{depth - 1}",
        'Content-Type: application/pdf; name="innen.pdf"',
        "",
        "%PDF-1.4 innen",
        f"--b{depth - 1}--",
    ]
    for level in range(depth - 2, -1, -1):
        lines.append(f"--b{level}--")
    return ("\n".join(lines) + "\n").encode()


def test_nesting_within_the_limit_is_followed():
    parsed = parse(_nested(20))

    assert parsed.body == "ganz innen\n"
    assert names(parsed.attachments) == ["innen.pdf"]
    assert parsed.defects == ()


def test_fifty_deep_nesting_is_cut_at_max_depth_and_kept_as_attachment():
    raw = _nested(50)
    parsed = parse(raw)

    assert parsed.subject == "verschachtelt"
    assert parsed.body == NO_VISIBLE_CONTENT
    [rest] = parsed.attachments
    assert rest.filename == "nested-parts.eml"
    assert rest.content_type == "message/rfc822"
    assert rest.content.startswith(b'Content-Type: multipart/mixed; boundary="b30"\n')
    assert b"ganz innen" in rest.content
    assert parsed.defects == ("nesting-too-deep",)
    # the cut-off part is itself a message that parses further
    assert parse(rest.content).attachments


def test_max_depth_is_configurable():
    parsed = parse(_nested(5), max_depth=2)

    assert names(parsed.attachments) == ["nested-parts.eml"]


def test_very_deep_nesting_does_not_recurse_without_bound():
    parsed = parse(_nested(3000), max_depth=10_000)

    assert parsed.subject == "verschachtelt"
    assert names(parsed.attachments) == ["nested-parts.eml"]


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\n\n\n",
        b"\x00\xff\xfe garbage",
        b"Subject: nur ein Header",
        b"Content-Type: multipart/mixed\n\nkein boundary",
        b'Content-Type: multipart/mixed; boundary="x"\n\n--x\n--x--',
        b"Content-Type: text/plain; charset=does-not-exist\n\n\xe4\xf6\xfc",
        b"Content-Transfer-Encoding: base64\n\n!!!!",
        b'From: "unterminated <a@b\nTo: ,,,<>,""\n\nx',
        b"Subject: =?utf-8?B?####?= =?x-unknown?Q?=FF?=\n\nx",
    ],
)
def test_bad_input_never_raises(raw):
    parsed = parse(raw)

    assert isinstance(parsed.body, str)
    assert parsed.content_type in ("text/plain", "text/html")


def test_an_internal_error_falls_back_to_the_raw_message(monkeypatch):
    from vorgang.channels.email.parsing import parser as parser_module

    def explode(self):
        raise RuntimeError("boom")

    monkeypatch.setattr(parser_module._Parser, "run", explode)
    raw = load("plain_utf8.eml")
    parsed = parse(raw)

    assert parsed.body == NO_VISIBLE_CONTENT
    assert parsed.content_type == "text/plain"
    assert parsed.subject == "Bewohnerparkausweis verlängern"
    assert parsed.defects == ("parser-failed:RuntimeError",)
    [kept] = parsed.attachments
    assert (kept.filename, kept.content_type, kept.content) == (
        "message.eml",
        "message/rfc822",
        raw,
    )


def test_text_without_headers_is_body():
    parsed = parse(b"Hallo Amt,\nich habe eine Frage.\n")

    assert parsed.body == "Hallo Amt,\nich habe eine Frage.\n"
    assert parsed.subject == ""
    assert parsed.from_email == ""


def test_mbox_from_line_and_crlf_are_handled():
    raw = b"From anna@example.org Mon Mar  3 09:15:02 2025\r\nFrom: anna@example.org\r\nSubject: Hi\r\n\r\nZeile 1\r\nZeile 2\r\n"
    parsed = parse(raw)

    assert parsed.from_email == "anna@example.org"
    assert parsed.body == "Zeile 1\nZeile 2\n"


def test_unindented_folded_boundary_is_recovered():
    raw = (
        b'From: a@example.org\nContent-Type: multipart/alternative;\nboundary="xyz"\n'
        b"MIME-Version: 1.0\n\n--xyz\nContent-Type: text/plain\n\nText\n--xyz--\n"
    )
    assert parse(raw).body == "Text"


def test_garbage_before_the_first_header_is_skipped():
    raw = b"---- Original message ----\nFrom: a@example.org\nSubject: Betreff\n\nText\n"
    parsed = parse(raw)

    assert parsed.subject == "Betreff"
    assert parsed.body == "Text\n"


def test_to_json_dict():
    data = to_json_dict(parse(load("inline_cid_image.eml")))

    assert json.loads(json.dumps(data)) == data
    assert set(data) == {
        "from",
        "from_email",
        "from_display_name",
        "to",
        "cc",
        "reply_to",
        "subject",
        "content_type",
        "body",
        "attachments",
    }
    assert data["attachments"][1] == {
        "filename": "schlagloch.png",
        "content_type": "image/png",
        "size": len(PNG),
        "sha256": hashlib.sha256(PNG).hexdigest(),
        "content_id": "schlagloch.png@example.com",
    }


def test_parse_rejects_text_input():
    with pytest.raises(TypeError):
        parse("From: a@b\n\nx")  # type: ignore[arg-type]


# -- the pieces --------------------------------------------------------------------


def test_header_map_is_case_insensitive_and_keeps_repeats():
    headers = HeaderMap([("Received", "a"), ("X-Loop", "amt"), ("received", "b")])

    assert headers["RECEIVED"] == "a"
    assert headers.get_all("Received") == ["a", "b"]
    assert list(headers) == ["Received", "X-Loop"]
    assert len(headers) == 2
    assert "x-loop" in headers
    assert dict(headers) == {"Received": "a", "X-Loop": "amt"}


@pytest.mark.parametrize(
    ("encoded", "decoded"),
    [
        ("=?utf-8?Q?Gr=C3=BC=C3=9Fe?=", "Grüße"),
        ("=?iso-8859-1?q?Stra=DFe?= 7", "Straße 7"),
        ("=?utf-8?B?w5xiZXJzZXR6dW5n?=", "Übersetzung"),
        ("=?utf-8?B?w5xiZXJzZXR6dW5n?=   =?utf-8?Q?_fertig?=", "Übersetzung fertig"),
        # a character split across two words; base64 padding missing
        ("=?utf-8?B?ww==?= =?utf-8?B?nA==?=", "Ü"),
        ("=?utf-8?B?w5w?=", "Ü"),
        ("=?UTF-8*de?Q?Antrag?=", "Antrag"),
        ("=?unicode-1-1-utf-7?Q?+ANw-bermittlung?=", "Übermittlung"),
        ("=?windows-1252?Q?=80_50?=", "€ 50"),
        ("kein =?kaputt", "kein =?kaputt"),
    ],
)
def test_encoded_words(encoded, decoded):
    assert decode_words(encoded) == decoded


@pytest.mark.parametrize(
    ("data", "declared", "expected"),
    [
        ("Grüße".encode(), "iso-8859-1", "Grüße"),  # mislabelled UTF-8
        ("Grüße".encode("latin-1"), None, "Grüße"),
        ("Grüße – ok".encode("cp1252"), "iso-8859-1", "Grüße – ok"),
        ("ä ".encode() + "ö".encode("latin-1") + " 差出人".encode(), None, "ä ö 差出人"),
        ("住所変更".encode("cp932"), "shift_jis", "住所変更"),
        ("①".encode("cp932"), "x-sjis", "①"),
        (b"\x1b$B-!\x1b(B", "iso-2022-jp", "①"),
        ("Привет, как дела? Всё хорошо.".encode("cp1251"), None, "Привет, как дела? Всё хорошо."),
    ],
)
def test_decode_bytes(data, declared, expected):
    assert decode_bytes(data, declared) == expected


def test_codec_names():
    assert codec_name("UTF8") == "utf-8"
    assert codec_name('"ISO-8859-15"') == "iso8859-15"
    assert codec_name("iso-gb2312") == "gb18030"
    assert codec_name("ks_c_5601-1987") == "cp949"
    assert codec_name("nonsense") is None
    assert codec_name("") is None


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("Anna <anna@example.org>", [("Anna", "anna@example.org")]),
        (
            '"Weiß, Petra" <p@example.net>, b@example.net',
            [("Weiß, Petra", "p@example.net"), ("", "b@example.net")],
        ),
        ("=?utf-8?Q?M=C3=BCller=2C_Hans?= <h@example.de>", [("Müller, Hans", "h@example.de")]),
        ("undisclosed-recipients:;", []),
        ('"Clement.Si" <Claudia.Shu@yahoo.com.>', [("Clement.Si", "Claudia.Shu@yahoo.com.")]),
        ("Test test@example.com", [("", "Test test@example.com")]),
    ],
)
def test_parse_addresses(header, expected):
    addresses, _clean = parse_addresses(header)
    assert [(a.display_name, a.address) for a in addresses] == expected


def test_sender_prefers_the_first_field_with_an_address():
    sender = sender_from(["[??????]", "Hans <hans@example.org>", "reply@example.org"])
    assert (sender.email, sender.display_name) == ("hans@example.org", "Hans")

    sender = sender_from(["me@example.org (Martin Smith)"])
    assert (sender.email, sender.display_name) == ("me@example.org", "Martin Smith")

    assert sender_from(["", ""]).email == ""


def test_split_headers_keeps_folding_and_body_bytes():
    fields, body = split_headers(b"Subject: a\n b\r\nX-Empty:\n\nbody\r\n")

    assert fields == [("Subject", b"a\n b"), ("X-Empty", b"")]
    assert body == b"body\r\n"


def test_dates_are_aware():
    raw = b"Date: Mon, 3 Mar 2025 09:15:02 -0000\n\nx"
    assert parse(raw).date == datetime(2025, 3, 3, 9, 15, 2, tzinfo=UTC)
    assert parse(b"Date: gestern\n\nx").date is None


@pytest.mark.parametrize(
    "header",
    [
        "anna@example.org",
        "Anna Schmidt <Anna.Schmidt@Example.org>",
        '"Müller, Hans" <h@example.de>',  # a comma inside quotes: the stdlib reads it
        '"Erika  Müller" <e@example.org>, b@example.net,c@example.net',
        "<a@example.org>",
        'Name<a@example.org>, "" <b@example.org>',
        "o'brien+tag@sub-domain.example.org",
        "J. Smith <j@example.org>",  # an obsolete phrase with a dot
        "a..b@example.org",
        "me@example.org (Martin Smith)",
        "Anna <anna@[192.0.2.1]>",
        "a@example.org,, b@example.org",
        'Erika "Müller" <e@example.org>',  # as Python's generator writes a German name
        '"Dr." Erika  "von Müller" <e@example.org>',
        '" x " y <a@example.org>',
        'Erika"Müller" <e@example.org>',  # no space between the words
        '"Erika" Müller <e@example.org>',  # a word neither ASCII nor quoted
    ],
)
def test_the_quick_address_reading_agrees_with_the_stdlib(header):
    """Simple address lists skip the stdlib's parser; they must read exactly the same."""
    from vorgang.channels.email.parsing import headers

    quick = headers._simple_addresses(header)
    if quick is not None:
        assert quick == headers._stdlib_addresses(header)
    assert parse_addresses(header)[0] == (quick or parse_addresses(header)[0])


def test_only_simple_address_lists_are_read_quickly():
    from vorgang.channels.email.parsing import headers

    assert headers._simple_addresses('"Müller, Hans" <h@example.de>, b@example.net') is None
    assert headers._simple_addresses("me@example.org (Martin Smith)") is None
    assert headers._simple_addresses("J. Smith <j@example.org>") is None
    assert headers._simple_addresses("Anna <anna@example.org>, b@example.net") == [
        headers.Address("Anna", "anna@example.org"),
        headers.Address("", "b@example.net"),
    ]
