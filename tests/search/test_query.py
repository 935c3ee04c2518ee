"""The query syntax (parsing only, no database)."""

from __future__ import annotations

from datetime import datetime

import pytest
from django.utils import timezone

from vorgang.search import query
from vorgang.search.query import ParsedQuery, QueryError


def ok(text: str) -> ParsedQuery:
    parsed = query.parse(text)
    assert isinstance(parsed, ParsedQuery), parsed
    return parsed


def error(text: str) -> QueryError:
    parsed = query.parse(text)
    assert isinstance(parsed, QueryError), parsed
    return parsed


def test_words_phrases_and_exclusions() -> None:
    parsed = ok('Antrag "Antrag auf Wohngeld" -Widerspruch -"zu spät"')
    assert [t.tokens for t in parsed.terms] == [("antrag",), ("antrag", "auf", "wohngeld")]
    assert [t.tokens for t in parsed.excluded] == [("widerspruch",), ("zu", "spät")]


def test_field_filters_with_values_lists_quotes_and_negation() -> None:
    parsed = ok('state:new,open department:"Bürgerbüro Mitte" -tag:erledigt owner:me')
    assert [(f.name, f.values, f.negate) for f in parsed.filters] == [
        ("state", ("new", "open"), False),
        ("department", ("Bürgerbüro Mitte",), False),
        ("tag", ("erledigt",), True),
        ("owner", ("me",), False),
    ]
    assert not parsed.terms


def test_zammad_aliases() -> None:
    assert [f.name for f in ok("group:x customer:y").filters] == ["department", "citizen"]


def test_zammad_dotted_and_id_fields() -> None:
    parsed = ok(
        'state.name:open group.name:"Bürgerbüro Mitte" priority.name:"3 high" owner.login:anna '
        "owner.email:a@b.de customer.email:x,y@b.de organization.name:Firma tags:eilig "
        "title:Antrag,neu group_id:3,4 customer_id:7 -organization_id:9"
    )
    assert [(f.name, f.values, f.negate) for f in parsed.filters] == [
        ("state", ("open",), False),
        ("department", ("Bürgerbüro Mitte",), False),
        ("priority", ("3 high",), False),
        ("owner", ("anna",), False),
        ("owner", ("a@b.de",), False),
        ("citizen.email", ("x,y@b.de",), False),
        ("organization", ("Firma",), False),
        ("tag", ("eilig",), False),
        ("title", ("Antrag,neu",), False),
        ("department_id", ("3", "4"), False),
        ("citizen_id", ("7",), False),
        ("organization_id", ("9",), True),
    ]


def test_dotted_words_that_name_no_field_are_text() -> None:
    parsed = ok("Az.Nr:5 z.B.:Antrag")
    assert not parsed.filters
    assert [t.tokens for t in parsed.terms] == [("az", "nr", "5"), ("z", "b", "antrag")]


def test_zammads_and_is_skipped() -> None:
    parsed = ok("Antrag AND Wohngeld AND state:open")
    assert [t.tokens for t in parsed.terms] == [("antrag",), ("wohngeld",)]
    assert [f.name for f in parsed.filters] == ["state"]
    assert error("AND").code == "empty"


def test_sort_in_the_query() -> None:
    assert ok("Antrag sort:oldest").sort == "oldest"
    assert error("Antrag sort:sideways").code == "unknown_sort"


def test_created_ranges() -> None:
    def bounds(value: str) -> tuple[datetime | None, datetime | None]:
        dates = ok(f"created:{value}").filters[0].dates
        assert dates is not None
        return dates.start, dates.end

    day = timezone.make_aware(datetime(2026, 1, 1))
    next_day = timezone.make_aware(datetime(2026, 1, 2))
    assert bounds(">=2026-01-01") == (day, None)
    assert bounds(">2026-01-01") == (next_day, None)
    assert bounds("<2026-01-01") == (None, day)
    assert bounds("<=01.01.2026") == (None, next_day)
    assert bounds("2026-01-01") == (day, next_day)
    assert bounds("2026-01-01..2026-01-01") == (day, next_day)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("", "empty"),
        ("    ", "empty"),
        ("+++ ---", "empty"),
        ("und der die", "stop_words_only"),
        ("-Antrag", "only_exclusions"),
        ("farbe:blau", "unknown_field"),
        ("state.nme:open", "unknown_field"),
        ("state_id:open", "bad_value"),
        ("group_id:1.5", "bad_value"),
        ("owner_id:" + "9" * 19, "bad_value"),
        ("%_% \\ \x00", "empty"),
        ("created:gestern", "bad_value"),
        ("created:2026-13-45", "bad_value"),
        ("created:2026-03-01..2026-01-01", "bad_value"),
    ],
)
def test_bad_input_gives_a_reason(text: str, code: str) -> None:
    found = error(text)
    assert found.code == code
    assert found.message


def test_unknown_field_message_names_the_known_ones() -> None:
    message = error("titel:x").message
    assert "'titel'" in message and "department" in message


@pytest.mark.parametrize(
    "text",
    [
        '"unbalanced phrase',
        'Antrag"',
        "NEAR(a b) OR x AND y NOT z *",
        "'; DROP TABLE tickets_ticket; --",
        "{title}: x ^y",
        "10:30 Uhr https://example.org/x",
    ],
)
def test_operators_and_quotes_are_just_text(text: str) -> None:
    parsed = ok(text)
    for term in parsed.terms:
        assert all(token.replace(" ", "").isalnum() for token in term.tokens)


def test_a_field_name_without_value_is_a_word() -> None:
    parsed = ok("state: Antrag")
    assert not parsed.filters
    assert [t.tokens for t in parsed.terms] == [("state",), ("antrag",)]


def test_unbalanced_quote_runs_to_the_end() -> None:
    assert ok('Antrag "auf Wohngeld').terms[1].tokens == ("auf", "wohngeld")


def test_overlong_queries_are_cut() -> None:
    parsed = ok("Wort " * 3000)
    assert len(parsed.terms) <= query.MAX_TERMS
    assert parsed.warnings
    parsed = ok("x" * 10_000)
    assert len(parsed.terms[0].tokens[0]) == query.MAX_CHARS
