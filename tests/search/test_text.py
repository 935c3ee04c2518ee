"""German normalisation: folding, stems, trigram similarity (no database)."""

from __future__ import annotations

import pytest

from vorgang.search import text


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Übersetzung", "Uebersetzung"),
        ("Straße", "Strasse"),
        ("Müller", "Mueller"),
        ("Anträge", "Antraege"),
        ("ÖFFNUNGSZEITEN", "Oeffnungszeiten"),
    ],
)
def test_transcriptions_fold_to_the_same_form(a: str, b: str) -> None:
    assert text.fold(a) == text.fold(b)


@pytest.mark.parametrize("word", ["Quelle", "neue", "Bauer", "Steuer"])
def test_ue_after_q_or_a_vowel_is_not_an_umlaut(word: str) -> None:
    assert "ü" not in text.fold(word)


def test_plural_and_singular_share_a_stem() -> None:
    assert text.index_terms("Anträge") == text.index_terms("Antrag") == "antrag"
    assert text.index_terms("Bescheinigungen") == text.index_terms("Bescheinigung")


def test_stop_words_are_not_indexed_and_separators_split() -> None:
    assert text.index_terms("der Antrag und die E-Mail-Adresse") == "antrag e mail adress"


def test_name_key_drops_umlaut_dots() -> None:
    assert text.name_key("Jürgen Müller") == text.name_key("Juergen Muller") == "jurgen muller"


def test_word_similarity_matches_pg_trgm() -> None:
    # Values PostgreSQL's word_similarity() gives for the same pairs.
    assert text.word_similarity("schmitd", "schmidt") == pytest.approx(0.625)
    assert text.word_similarity("muler", "muller") == pytest.approx(0.625)
    assert text.word_similarity("meier", "meyer") == pytest.approx(1 / 3)


def test_html_to_text_drops_tags_and_scripts() -> None:
    assert text.html_to_text("<p>Hallo &amp; <b>Welt</b><script>x()</script></p>") == "Hallo & Welt"


def test_date_keys_name_dates_whatever_separates_them() -> None:
    assert text.date_keys(text.words("Bescheid vom 03.04.2025")) == ["dt20250403"]
    assert text.date_keys(text.words("am 2025-04-03 oder 3/4/2025")) == ["dt20250403"] * 2
    # Not dates: a month past 12, a year out of range, too few numbers.
    assert text.date_keys(text.words("Az. 12 34 2025 und 01.01.5678 oder 03.04.")) == []
    assert text.with_date_keys("am 3 4 2025") == "am 3 4 2025 dt20250403"
