"""PostgreSQL full-text search: the ``german`` configuration over folded text.

Documents are folded in Python (text.fold: umlaut transcriptions, separators) and
then parsed, stop-worded and stemmed by PostgreSQL's ``german`` configuration into
one weighted ``tsvector`` (A: number and title, B: citizen name and e-mail, C: article
text and attachment file names, D: attachment text) with a GIN index. Citizens
search ``public_vector`` (the same without internal notes), which needs no index of
its own: their handful of cases is found by ``citizen_id`` first.

Typo tolerance: a one-word term also matches the citizens' name words with trigram
word similarity >= FUZZY_THRESHOLD, looked up in the small table ``search_nameword``
(``<%`` with a pg_trgm GIN index) and then matched as ordinary words of the vector.

Counts are exact up to COUNT_LIMIT, then estimated; relevance ranks the newest
RANK_LIMIT matches (see docs/adr/0004-estimated-search-counts.md).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from django.db import connection

from .. import text
from ..documents import MAX_ATTACHMENT_CHARS, MAX_BODY_CHARS, Document
from ..query import Term
from .base import (
    COUNT_LIMIT,
    FUZZY_MIN_LENGTH,
    FUZZY_THRESHOLD,
    RANK_LIMIT,
    TABLE,
    Condition,
    Count,
    Plan,
    fuzzy_word,
    order_by_date,
    scope_conditions,
    where,
)

CONFIG = "german"
WORDS = "search_nameword"
# Close names a misspelt word stands for, at most (the closest first).
MAX_CLOSE_NAMES = 20


def _name_words(name_key: str) -> set[str]:
    """The words of a name key worth matching with typo tolerance (as fuzzy_word)."""
    return {w for w in name_key.split() if len(w) >= FUZZY_MIN_LENGTH and not w.isdigit()}


# OFFSET 0 keeps PostgreSQL from flattening the subquery, which would compute "pub" twice.
_UPSERT = f"""
INSERT INTO {TABLE} (ticket_id, tenant_id, department_id, citizen_id, owner_id, state_id,
    service_id, number, created_at, name_key, indexed_at, vector, public_vector)
SELECT v.ticket_id, v.tenant_id, v.department_id, v.citizen_id, v.owner_id, v.state_id,
    v.service_id, v.number, v.created_at, v.name_key, now(),
    v.pub || v.internal, CASE WHEN v.has_internal THEN v.pub END
FROM (SELECT %s::bigint AS ticket_id, %s::bigint AS tenant_id, %s::bigint AS department_id,
        %s::bigint AS citizen_id, %s::bigint AS owner_id, %s::bigint AS state_id,
        %s::bigint AS service_id, %s::text AS number, %s::timestamptz AS created_at,
        %s::text AS name_key,
        setweight(to_tsvector('{CONFIG}', %s), 'A')
            || setweight(to_tsvector('{CONFIG}', %s), 'B')
            || setweight(to_tsvector('{CONFIG}', %s), 'C')
            || setweight(to_tsvector('{CONFIG}', %s), 'D') AS pub,
        setweight(to_tsvector('{CONFIG}', %s), 'C')
            || setweight(to_tsvector('{CONFIG}', %s), 'D') AS internal,
        %s::boolean AS has_internal OFFSET 0) AS v
ON CONFLICT (ticket_id) DO UPDATE SET
    tenant_id = EXCLUDED.tenant_id, department_id = EXCLUDED.department_id,
    citizen_id = EXCLUDED.citizen_id, owner_id = EXCLUDED.owner_id,
    state_id = EXCLUDED.state_id, service_id = EXCLUDED.service_id,
    number = EXCLUDED.number, created_at = EXCLUDED.created_at,
    name_key = EXCLUDED.name_key, indexed_at = EXCLUDED.indexed_at,
    vector = EXCLUDED.vector, public_vector = EXCLUDED.public_vector
"""  # noqa: S608


def _row(doc: Document) -> tuple[Any, ...]:
    body = Document.joined(doc.body, MAX_BODY_CHARS)
    internal = Document.joined(doc.internal, MAX_BODY_CHARS)
    attach = Document.joined(doc.attach, MAX_ATTACHMENT_CHARS)
    internal_attach = Document.joined(doc.internal_attach, MAX_ATTACHMENT_CHARS)
    return (
        doc.ticket_id,
        doc.tenant_id,
        doc.department_id,
        doc.citizen_id,
        doc.owner_id,
        doc.state_id,
        doc.service_id,
        doc.number,
        doc.created_at,
        doc.name_key,
        text.with_date_keys(text.fold(f"{doc.number} {doc.title}")),
        text.fold(doc.citizen),
        text.with_date_keys(text.fold(body)),
        text.with_date_keys(text.fold(attach)),
        text.with_date_keys(text.fold(internal)),
        text.with_date_keys(text.fold(internal_attach)),
        doc.has_internal,
    )


class PostgresBackend:
    """One instance per search (``backends.current()``): count() and page() share the
    relevance candidates and the typo-tolerance decisions of that search."""

    vendor = "postgresql"

    def __init__(self) -> None:
        self._close: list[list[str]] | None = None
        self._matches: int | None = None
        self._ranked: list[tuple[int, float]] | None = None

    def write(self, docs: Sequence[Document]) -> None:
        if not docs:
            return
        words = sorted({w for d in docs for w in _name_words(d.name_key)})
        with connection.cursor() as cursor:
            cursor.executemany(_UPSERT, [_row(d) for d in docs])
            if words:
                # Sorted: concurrent batches take the words' index locks in one order.
                cursor.execute(
                    f"INSERT INTO {WORDS} (word) SELECT w FROM unnest(%s::text[]) AS w "  # noqa: S608
                    "ORDER BY w ON CONFLICT DO NOTHING",
                    [words],
                )

    def delete(self, ticket_ids: Sequence[int]) -> None:
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {TABLE} WHERE ticket_id = ANY(%s)", [list(ticket_ids)])  # noqa: S608

    def prune(self) -> int:
        with connection.cursor() as cursor:
            cursor.execute(
                f"DELETE FROM {TABLE} d WHERE NOT EXISTS "  # noqa: S608
                "(SELECT 1 FROM tickets_ticket t WHERE t.id = d.ticket_id)"
            )
            removed = int(cursor.rowcount)
            # Names no longer on any case go too (a deleted citizen's name is not kept).
            cursor.execute(
                f"DELETE FROM {WORDS} n WHERE NOT EXISTS (SELECT 1 FROM "  # noqa: S608
                f"(SELECT DISTINCT w FROM {TABLE}, regexp_split_to_table(name_key, ' ') AS w) k "
                "WHERE k.w = n.word)"
            )
            return removed

    # --- searching ---------------------------------------------------------------------

    def prepare(self, timeout_ms: int) -> None:
        """Per-transaction limits: a statement timeout and the trigram threshold."""
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT set_config('statement_timeout', %s, true), "
                "set_config('pg_trgm.word_similarity_threshold', %s, true)",
                [str(timeout_ms), str(FUZZY_THRESHOLD)],
            )

    def _vector(self, plan: Plan) -> str:
        return "coalesce(d.public_vector, d.vector)" if plan.scope.public_only else "d.vector"

    def _names(self, plan: Plan) -> list[list[str]]:
        """Per positive term, the citizens' name words close to it (typo tolerance).

        Looked up in the small word table by trigrams; the search then matches those
        words as ordinary full-text words, through the GIN index like any other word.
        """
        if self._close is not None:
            return self._close
        self._close = []
        with connection.cursor() as cursor:
            for term in plan.terms:
                key = fuzzy_word(term) if plan.fuzzy else None
                if key is None:
                    self._close.append([])
                    continue
                cursor.execute(
                    f"SELECT word FROM {WORDS} WHERE %s <%% word "  # noqa: S608
                    "ORDER BY %s <<-> word, word LIMIT %s",
                    [key, key, MAX_CLOSE_NAMES],
                )
                self._close.append([row[0] for row in cursor.fetchall()])
        return self._close

    def _tsquery(self, term: Term, names: list[str]) -> tuple[str, list[Any]]:
        """The term as a tsquery, or'ed with the close names (websearch syntax: "a or b")."""
        sql, params = f"phraseto_tsquery('{CONFIG}', %s)", [" ".join(term.tokens)]
        if names:
            sql = f"({sql} || websearch_to_tsquery('{CONFIG}', %s))"
            params.append(" or ".join(names))
        return sql, params

    def _text_conditions(self, plan: Plan) -> list[Condition]:
        vector = self._vector(plan)
        conditions = []
        for term, names in zip(plan.terms, self._names(plan), strict=True):
            sql, params = self._tsquery(term, names)
            conditions.append(Condition(f"{vector} @@ {sql}", params))
            # Dates in a phrase: their date words let the index narrow (text.date_keys).
            for key in text.date_keys(list(term.tokens)):
                conditions.append(Condition(f"{vector} @@ phraseto_tsquery('{CONFIG}', %s)", [key]))
        for term in plan.excluded:
            conditions.append(
                Condition(
                    f"NOT ({vector} @@ phraseto_tsquery('{CONFIG}', %s))", [" ".join(term.tokens)]
                )
            )
        return conditions

    def _where(self, plan: Plan) -> tuple[str, list[Any]]:
        conditions = [*scope_conditions(plan.scope), *plan.conditions]
        conditions += self._text_conditions(plan)
        return where(conditions)

    @staticmethod
    def _estimate(cursor: Any, where_sql: str, params: list[Any]) -> int:
        """The planner's estimate of the rows matching ``where_sql`` (no scan)."""
        cursor.execute(f"EXPLAIN (FORMAT JSON) SELECT 1 FROM {TABLE} d WHERE {where_sql}", params)  # noqa: S608
        explained = cursor.fetchone()[0]
        if isinstance(explained, str):
            explained = json.loads(explained)
        return int(explained[0]["Plan"]["Plan Rows"])

    def _matches_estimate(self, cursor: Any, plan: Plan) -> int:
        if self._matches is None:
            sql, params = self._where(plan)
            self._matches = self._estimate(cursor, sql, params)
        return self._matches

    def _past_limit(self, cursor: Any, plan: Plan, seen: int) -> Count:
        """More than COUNT_LIMIT matches: the estimate, two significant digits."""
        estimate = max(self._matches_estimate(cursor, plan), seen)
        return Count(round(estimate, 2 - len(str(estimate))), exact=False)

    def count(self, plan: Plan) -> Count:
        """Exact up to COUNT_LIMIT (the scan stops there), else the planner's estimate.

        A relevance search gets its count from its candidates (one scan for both);
        otherwise a capped count lets PostgreSQL pick a plan that stops early (walking
        the date index for a common word finds COUNT_LIMIT matches in a few thousand
        rows), where an exact count of a word found in most cases would read them all.
        """
        with connection.cursor() as cursor:
            found = len(self._candidates(plan)) if self._ranks(plan) else None
            if found is None or (found > RANK_LIMIT and COUNT_LIMIT > RANK_LIMIT):
                sql, params = self._where(plan)
                cursor.execute(
                    f"SELECT count(*) FROM (SELECT 1 FROM {TABLE} d WHERE {sql} "  # noqa: S608
                    f"LIMIT {COUNT_LIMIT + 1}) AS capped",
                    params,
                )
                found = int(cursor.fetchone()[0])
            if found <= COUNT_LIMIT:
                return Count(found)
            return self._past_limit(cursor, plan, found)

    @staticmethod
    def _ranks(plan: Plan) -> bool:
        return plan.sort == "relevance" and bool(plan.terms)

    def _score(self, plan: Plan) -> tuple[str, list[Any]]:
        """ts_rank over all positive terms (with their close names), plus ts_rank of the
        terms as typed, so an exact name ranks before a close one (on candidates ``c``)."""
        names = self._names(plan)
        parts = [self._tsquery(t, n) for t, n in zip(plan.terms, names, strict=True)]
        sql = "ts_rank(c.vector, " + " && ".join(p[0] for p in parts) + ")"
        params: list[Any] = [v for p in parts for v in p[1]]
        if any(names):
            exact = " && ".join([f"phraseto_tsquery('{CONFIG}', %s)"] * len(plan.terms))
            sql += f" + ts_rank(c.vector, {exact})"
            params += [" ".join(t.tokens) for t in plan.terms]
        return sql, params

    def page(self, plan: Plan) -> list[tuple[int, float]]:
        """One page. By relevance: the newest RANK_LIMIT matches ranked, then the older
        ones newest first (the same date order, so the two parts never overlap)."""
        if not self._ranks(plan):
            return self._by_date(plan, plan.offset, plan.limit)
        ranked = self._candidates(plan)[:RANK_LIMIT]
        rows = ranked[plan.offset : plan.offset + plan.limit]
        if len(ranked) < RANK_LIMIT:
            return rows  # every match was a candidate: nothing older is left
        start = max(plan.offset, RANK_LIMIT)
        stop = plan.offset + plan.limit
        if stop > start:
            rows += self._by_date(replace(plan, sort="newest"), start, stop - start)
        return rows

    def _by_date(self, plan: Plan, offset: int, limit: int) -> list[tuple[int, float]]:
        where_sql, params = self._where(plan)
        sql = (
            f"SELECT d.ticket_id, 0.0 FROM {TABLE} d WHERE {where_sql} "  # noqa: S608
            f"ORDER BY {order_by_date(plan.sort)} LIMIT %s OFFSET %s"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [*params, limit, offset])
            return [(int(pk), float(score)) for pk, score in cursor.fetchall()]

    def _candidates(self, plan: Plan) -> list[tuple[int, float]]:
        """The newest RANK_LIMIT + 1 matches (one more tells whether there are more),
        best first; the last one is dropped by page() when it is the extra one.

        ``OFFSET 0`` keeps the candidates a subquery, so ts_rank runs on those rows
        only, after the date walk has stopped. Read once per search (count and page).
        """
        if self._ranked is not None:
            return self._ranked
        where_sql, params = self._where(plan)
        score_sql, score_params = self._score(plan)
        sql = (
            f"SELECT c.ticket_id, {score_sql} AS score FROM ("  # noqa: S608
            f"SELECT d.ticket_id, d.created_at, {self._vector(plan)} AS vector "
            f"FROM {TABLE} d WHERE {where_sql} "
            f"ORDER BY {order_by_date('newest')} LIMIT {RANK_LIMIT + 1} OFFSET 0) AS c "
            "ORDER BY c.created_at DESC, c.ticket_id DESC"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [*score_params, *params])
            rows = [(int(pk), float(score)) for pk, score in cursor.fetchall()]
        # The oldest candidate beyond RANK_LIMIT only says "there are more": not ranked.
        ranked = sorted(rows[:RANK_LIMIT], key=lambda r: -r[1])  # stable: newest first on ties
        self._ranked = ranked + rows[RANK_LIMIT:]
        return self._ranked

    def fuzzy_names(self, term: str) -> list[str]:
        """Not needed here: the database matches names by trigrams itself."""
        return []
