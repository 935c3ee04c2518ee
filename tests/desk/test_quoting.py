"""Quoted text in the timeline: found in the ways mail programs write it, folded by default."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from vorgang.desk.quoting import split_quotes
from vorgang.tickets import services

from .conftest import World


def kinds(text: str) -> list[tuple[bool, str]]:
    return [(s.quoted, s.text.strip().splitlines()[0]) for s in split_quotes(text)]


def test_plain_text_without_quotes_is_one_own_segment() -> None:
    (segment,) = split_quotes("Guten Tag,\n\nich habe eine Frage.\n")
    assert not segment.quoted
    assert "ich habe eine Frage." in segment.text


def test_german_attribution_and_angle_quotes_fold_together() -> None:
    text = (
        "Danke, der Termin passt.\n\n"
        "Am 03.05.2025 um 10:00 schrieb Bürgerbüro <buergerbuero@stadt.example>:\n"
        "> Guten Tag,\n"
        ">\n"
        "> kommen Sie am Montag.\n"
        "\n"
        "Erika"
    )
    segments = split_quotes(text)
    assert [s.quoted for s in segments] == [False, True, False]
    assert segments[1].text.startswith("Am 03.05.2025 um 10:00 schrieb")
    assert "> kommen Sie am Montag." in segments[1].text
    assert segments[2].text.strip() == "Erika"  # the signature after the quote stays visible
    assert segments[1].line_count == 4


def test_english_attribution_wrapped_over_two_lines() -> None:
    text = (
        "Thanks!\n\nOn Mon, 5 May 2025 at 09:12, Citizen Office\n"
        "<office@city.example> wrote:\n> Hello\n> Please send the form."
    )
    assert kinds(text) == [
        (False, "Thanks!"),
        (True, "On Mon, 5 May 2025 at 09:12, Citizen Office"),
    ]


def test_attribution_without_angle_quotes_folds_the_rest() -> None:
    text = "Siehe unten.\n\nAm 1. Mai 2025 schrieb Max Mustermann:\n\nAlter Text ohne Zeichen."
    assert kinds(text) == [
        (False, "Siehe unten."),
        (True, "Am 1. Mai 2025 schrieb Max Mustermann:"),
    ]


def test_outlook_original_message_folds_the_rest() -> None:
    text = (
        "Anbei die Unterlagen.\n\n-----Ursprüngliche Nachricht-----\n"
        "Von: Bürgerbüro\nGesendet: Montag, 5. Mai 2025 10:00\nAn: Max\nBetreff: Antrag\n\nText"
    )
    segments = split_quotes(text)
    assert [s.quoted for s in segments] == [False, True]
    assert segments[1].text.startswith("-----Ursprüngliche Nachricht-----")
    assert segments[1].text.endswith("Text")


def test_outlook_header_block_without_separator() -> None:
    text = (
        "Erledigt.\n\nFrom: Citizen Office <office@city.example>\nSent: Monday, May 5, 2025\n"
        "To: Max\nSubject: Form\n\nPlease send the form."
    )
    assert kinds(text) == [
        (False, "Erledigt."),
        (True, "From: Citizen Office <office@city.example>"),
    ]


def test_a_from_line_in_running_text_is_not_a_header() -> None:
    text = "Von: meiner Nachbarin habe ich gehört, dass es geht.\nAber wie?"
    assert [s.quoted for s in split_quotes(text)] == [False]


def test_inline_quotes_between_own_answers() -> None:
    text = "> Frage eins?\nAntwort eins.\n> Frage zwei?\nAntwort zwei."
    assert [s.quoted for s in split_quotes(text)] == [True, False, True, False]


def test_a_sentence_with_schrieb_is_not_an_attribution() -> None:
    text = "Am Montag schrieb ich Ihnen bereits, dass der Antrag fehlt.\nBitte prüfen."
    assert [s.quoted for s in split_quotes(text)] == [False]


@pytest.mark.django_db
def test_case_view_folds_the_quote_in_a_details_element(agent_client: Client, world: World) -> None:
    services.add_article(
        None,
        world.ticket,
        services.ArticleInput(
            body="Danke, passt.\n\nAm 03.05.2025 um 10:00 schrieb Bürgerbüro:\n> Alter <b>Text</b>",
            kind="email",
            sender="citizen",
            subject="Re: Antrag",
        ),
    )
    page = agent_client.get(reverse("desk:case", args=[world.ticket.pk])).content.decode()
    assert '<details class="desk-quote">' in page
    assert "Zitierten Text anzeigen" in page or "Show quoted text" in page
    body = page.split('<details class="desk-quote">', 1)[1].split("</details>", 1)[0]
    assert "&gt; Alter &lt;b&gt;Text&lt;/b&gt;" in body  # escaped, inside the fold
    assert "<p>Danke, passt.</p>" in page  # the new text stays open
