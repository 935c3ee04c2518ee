"""The search syntax shared by the desk's header box and the API.

    Antrag Wohngeld                 both words (German stems: "Anträge" finds "Antrag")
    "Antrag auf Wohngeld"           the phrase
    -Widerspruch                    without this word (or "-phrase")
    state:open  state:new,open      field filters; several values of one field: any of them
    department:Meldewesen  service:wohngeld  owner:me  owner:none  tag:eilig
    citizen:"Erika Mustermann"  number:10042  created:>=2026-01-01
    created:2026-01-01..2026-03-31  created:<15.03.2026
    priority:high  organization:"Musterfirma GmbH"  title:Führerschein
    -tag:erledigt                   a filter can be negated too
    sort:date  sort:oldest  sort:relevance

Zammad's field names work too (its API clients send them): ``group.name:``,
``state.name:``, ``priority.name:``, ``owner.login:``, ``owner.email:``,
``customer.email:``, ``organization.name:``, ``tags:`` and the id fields
``state_id:``, ``priority_id:``, ``group_id:``, ``owner_id:``, ``customer_id:``,
``organization_id:`` (whole numbers only). A bare upper-case ``AND`` is skipped (every
word must match anyway).

Parsing never raises: bad input gives a ``QueryError`` (a code and a message for the
person), overlong input is cut to ``MAX_CHARS`` / ``MAX_TERMS`` with a warning. Field
values are only parsed here; names are resolved against the database in filters.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.utils import timezone
from django.utils.translation import gettext as _

from . import text

MAX_CHARS = 1000
MAX_TERMS = 12  # words and phrases together, excluded ones included
MAX_TOKENS_PER_TERM = 10
MAX_VALUES = 20  # values of one field filter ("state:a,b,c")

ID_FIELDS = (
    "state_id",
    "department_id",
    "priority_id",
    "owner_id",
    "citizen_id",
    "organization_id",
)
FIELDS = (
    "state",
    "department",
    "service",
    "owner",
    "tag",
    "citizen",
    "number",
    "created",
    "priority",
    "organization",
    "title",
    "citizen.email",
    *ID_FIELDS,
)
ALIASES = {
    "group": "department",
    "customer": "citizen",
    "status": "state",
    "organisation": "organization",
    "tags": "tag",
    # Zammad's names, as its API clients send them.
    "state.name": "state",
    "group.name": "department",
    "priority.name": "priority",
    "owner.login": "owner",
    "owner.email": "owner",
    "customer.email": "citizen.email",
    "organization.name": "organization",
    "group_id": "department_id",
    "customer_id": "citizen_id",
    "organisation_id": "organization_id",
}
SORTS = {"relevance": "relevance", "date": "newest", "newest": "newest", "oldest": "oldest"}
# Filters whose value is one piece of text: a comma in it is not a list separator.
SINGLE_VALUE = frozenset({"citizen", "title", "citizen.email"})
# Ids are bigints; more digits cannot name anything (and would overflow the column).
MAX_ID_DIGITS = 18

_FIELD = re.compile(r"([A-Za-z_]+(?:\.[A-Za-z_]+)?):(?=[^\s/])")
# A dotted name is a field only if it starts like a known one ("state.name:"); other
# dotted words with a colon are text, e.g. an Aktenzeichen like "Az.Nr:5".
_DOTTED_PREFIXES = frozenset(n.split(".")[0] for n in (*FIELDS, *ALIASES) if "." in n)
_ID = re.compile(rf"[0-9]{{1,{MAX_ID_DIGITS}}}")


@dataclass(frozen=True)
class QueryError:
    """Why a query cannot run, for the person who typed it (``code`` is for programs)."""

    code: str
    message: str


@dataclass(frozen=True)
class Term:
    """A word or phrase: its folded tokens (stop words kept, for phrase distances)."""

    raw: str
    tokens: tuple[str, ...]

    @property
    def content_tokens(self) -> tuple[str, ...]:
        return tuple(t for t in self.tokens if not text.is_stop_word(t))


@dataclass(frozen=True)
class DateRange:
    """A half-open interval [start, end) of aware datetimes; either end may be open."""

    start: datetime | None
    end: datetime | None


@dataclass(frozen=True)
class FieldFilter:
    name: str
    values: tuple[str, ...]
    negate: bool = False
    dates: DateRange | None = None


@dataclass
class ParsedQuery:
    terms: list[Term] = field(default_factory=list)
    excluded: list[Term] = field(default_factory=list)
    filters: list[FieldFilter] = field(default_factory=list)
    sort: str | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def has_text(self) -> bool:
        return bool(self.terms)


def parse(query: str | None) -> ParsedQuery | QueryError:
    """Parse ``query``; a ``QueryError`` when there is nothing sensible to search for."""
    raw = (query or "").replace("\x00", " ")
    parsed = ParsedQuery()
    if len(raw) > MAX_CHARS:
        raw = raw[:MAX_CHARS]
        parsed.warnings.append(
            _("The search was shortened to its first %(n)d characters.") % {"n": MAX_CHARS}
        )
    if not raw.strip():
        return QueryError("empty", _("Enter a word, a case number or a filter to search for."))
    stop_words_only = 0
    dropped = 0
    for negate, name, value, quoted in _chunks(raw):
        if name is not None:
            result = _field_filter(name, value, negate, quoted)
            if isinstance(result, QueryError):
                return result
            if isinstance(result, str):
                parsed.sort = result
            else:
                parsed.filters.append(result)
            continue
        if value == "AND" and not quoted and not negate:
            continue  # Zammad's explicit AND: every word must match anyway
        tokens = tuple(text.words(value))
        if not tokens:
            continue  # only punctuation or operators: nothing to look for
        if len(tokens) > MAX_TOKENS_PER_TERM:
            tokens = tokens[:MAX_TOKENS_PER_TERM]
            dropped += 1
        term = Term(value, tokens)
        if not term.content_tokens:
            stop_words_only += 1
            continue
        if len(parsed.terms) + len(parsed.excluded) >= MAX_TERMS:
            dropped += 1
            continue
        (parsed.excluded if negate else parsed.terms).append(term)
    if dropped:
        parsed.warnings.append(
            _("Only the first %(n)d words and phrases were searched for.") % {"n": MAX_TERMS}
        )
    if not parsed.terms and not parsed.filters:
        if parsed.excluded:
            return QueryError(
                "only_exclusions",
                _("Add a word or a filter: a search cannot consist of exclusions only."),
            )
        if stop_words_only:
            return QueryError(
                "stop_words_only",
                _("The search contains only very common words; add a more specific word."),
            )
        return QueryError("empty", _("Enter a word, a case number or a filter to search for."))
    return parsed


def _chunks(raw: str) -> list[tuple[bool, str | None, str, bool]]:
    """Split into (negated, field name or None, value, value was quoted)."""
    out: list[tuple[bool, str | None, str, bool]] = []
    pos, end = 0, len(raw)
    while pos < end:
        if raw[pos].isspace():
            pos += 1
            continue
        negate = raw[pos] == "-" and pos + 1 < end and not raw[pos + 1].isspace()
        if negate:
            pos += 1
        name = None
        match = _FIELD.match(raw, pos)
        if match:
            found = match.group(1).lower()
            if "." not in found or found.split(".")[0] in _DOTTED_PREFIXES:
                name = found
                pos = match.end()
        if raw[pos] == '"':
            close = raw.find('"', pos + 1)
            close = end if close == -1 else close  # an unbalanced quote runs to the end
            value, quoted = raw[pos + 1 : close], True
            pos = close + 1
        else:
            stop = pos
            while stop < end and not raw[stop].isspace():
                stop += 1
            value, quoted = raw[pos:stop], False
            pos = stop
        out.append((negate, name, value, quoted))
    return out


def _field_filter(
    name: str, value: str, negate: bool, quoted: bool
) -> FieldFilter | str | QueryError:
    canonical = ALIASES.get(name, name)
    if canonical == "sort":
        sort = SORTS.get(value.strip().lower())
        if sort is None:
            return QueryError(
                "unknown_sort",
                _("Unknown sort order %(value)s; use one of: %(known)s.")
                % {"value": repr(value), "known": ", ".join(SORTS)},
            )
        return sort
    if canonical not in FIELDS:
        return QueryError(
            "unknown_field",
            _("Unknown search field %(name)s; known fields: %(known)s.")
            % {"name": repr(name), "known": ", ".join((*FIELDS, "sort", *ALIASES))},
        )
    value = value.strip()
    if not value:
        return QueryError(
            "bad_value", _("The filter %(name)s needs a value.") % {"name": f"{canonical}:"}
        )
    if canonical == "created":
        dates = parse_dates(value)
        if dates is None:
            return QueryError(
                "bad_value",
                _(
                    "Cannot read the date in %(value)s; write e.g. created:>=2026-01-01, "
                    "created:<15.03.2026 or created:2026-01-01..2026-03-31."
                )
                % {"value": repr(f"created:{value}")},
            )
        return FieldFilter("created", (value,), negate, dates)
    if canonical in SINGLE_VALUE or quoted:
        values: tuple[str, ...] = (value,)
    else:
        values = tuple(v for v in (p.strip() for p in value.split(",")) if v)
    if len(values) > MAX_VALUES:
        return QueryError(
            "bad_value",
            _("A filter takes at most %(n)d values.") % {"n": MAX_VALUES},
        )
    if canonical in ID_FIELDS and not all(_ID.fullmatch(v) for v in values):
        return QueryError(
            "bad_value",
            _("%(name)s takes whole numbers (ids), e.g. %(example)s.")
            % {"name": f"{name}:", "example": f"{name}:2"},
        )
    return FieldFilter(canonical, values, negate)


def _parse_day(value: str) -> date | None:
    for fmt in ("%Y-%m-%d", "%d.%m.%Y"):
        try:
            return datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    return None


def _start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def parse_dates(value: str) -> DateRange | None:
    """``>d``, ``>=d``, ``<d``, ``<=d``, ``d`` (that day) or ``a..b`` (both days included)."""
    if ".." in value and not value.startswith((">", "<")):
        first, _sep, last = value.partition("..")
        start, stop = _parse_day(first.strip()), _parse_day(last.strip())
        if start is None or stop is None or stop < start:
            return None
        return DateRange(_start_of(start), _start_of(stop + timedelta(days=1)))
    for op in (">=", "<=", ">", "<", "="):
        if value.startswith(op):
            day = _parse_day(value[len(op) :].strip())
            if day is None:
                return None
            if op == ">=":
                return DateRange(_start_of(day), None)
            if op == ">":
                return DateRange(_start_of(day + timedelta(days=1)), None)
            if op == "<":
                return DateRange(None, _start_of(day))
            if op == "<=":
                return DateRange(None, _start_of(day + timedelta(days=1)))
            return DateRange(_start_of(day), _start_of(day + timedelta(days=1)))
    day = _parse_day(value)
    if day is None:
        return None
    return DateRange(_start_of(day), _start_of(day + timedelta(days=1)))
