"""PostgreSQL full-text search: the ``german`` configuration over folded text.

Documents are folded in Python (text.fold: umlaut transcriptions, separators) and
then parsed, stop-worded and stemmed by PostgreSQL's ``german`` configuration into
one weighted ``tsvector`` (A: number and title, B: citizen name and e-mail, C: article
text and attachment file names, D: attachment text) with a GIN index. Citizens
search ``public_vector`` (the same without internal notes), which needs no index of
its own: their handful of cases is found by ``citizen_id`` first.

Typo tolerance: a one-word term also matches citizens whose ``name_key`` contains a
word with trigram word similarity >= FUZZY_THRESHOLD (``<%`` with a pg_trgm GIN index).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connection

from .. import text
from ..documents import MAX_ATTACHMENT_CHARS, MAX_BODY_CHARS, Document
from .base import (
    FUZZY_THRESHOLD,
    RANK_LIMIT,
    TABLE,
    Condition,
    Plan,
    fuzzy_word,
    order_by_date,
    scope_conditions,
    where,
)

CONFIG = "german"

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
        text.fold(f"{doc.number} {doc.title}"),
        text.fold(doc.citizen),
        text.fold(body),
        text.fold(attach),
        text.fold(internal),
        text.fold(internal_attach),
        doc.has_internal,
    )


class PostgresBackend:
    vendor = "postgresql"

    def write(self, docs: Sequence[Document]) -> None:
        if not docs:
            return
        with connection.cursor() as cursor:
            cursor.executemany(_UPSERT, [_row(d) for d in docs])

    def delete(self, ticket_ids: Sequence[int]) -> None:
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {TABLE} WHERE ticket_id = ANY(%s)", [list(ticket_ids)])  # noqa: S608

    def prune(self) -> int:
        with connection.cursor() as cursor:
            cursor.execute(
                f"DELETE FROM {TABLE} d WHERE NOT EXISTS "  # noqa: S608
                "(SELECT 1 FROM tickets_ticket t WHERE t.id = d.ticket_id)"
            )
            return int(cursor.rowcount)

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

    def _text_conditions(self, plan: Plan) -> list[Condition]:
        vector = self._vector(plan)
        conditions = []
        for term in plan.terms:
            match = Condition(
                f"{vector} @@ phraseto_tsquery('{CONFIG}', %s)", [" ".join(term.tokens)]
            )
            key = fuzzy_word(term) if plan.fuzzy else None
            if key is not None:
                match = Condition(f"{match.sql} OR %s <%% d.name_key", [*match.params, key])
            conditions.append(match)
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

    def count(self, plan: Plan) -> int:
        sql, params = self._where(plan)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM {TABLE} d WHERE {sql}", params)  # noqa: S608
            return int(cursor.fetchone()[0])

    def _score(self, plan: Plan) -> tuple[str, list[Any]]:
        """ts_rank over all positive terms, plus the similarity of typo-matched names."""
        vector = self._vector(plan)
        queries = " && ".join([f"phraseto_tsquery('{CONFIG}', %s)"] * len(plan.terms))
        params: list[Any] = [" ".join(t.tokens) for t in plan.terms]
        sql = f"ts_rank({vector}, {queries})"
        for term in plan.terms:
            key = fuzzy_word(term) if plan.fuzzy else None
            if key is not None:
                sql += " + 0.1 * word_similarity(%s, d.name_key)"
                params.append(key)
        return sql, params

    def page(self, plan: Plan) -> list[tuple[int, float]]:
        where_sql, params = self._where(plan)
        if plan.sort != "relevance" or not plan.terms:
            sql = (
                f"SELECT d.ticket_id, 0.0 FROM {TABLE} d WHERE {where_sql} "  # noqa: S608
                f"ORDER BY {order_by_date(plan.sort)} LIMIT %s OFFSET %s"
            )
            params = [*params, plan.limit, plan.offset]
        else:
            score_sql, score_params = self._score(plan)
            sql = (
                f"WITH candidates AS (SELECT d.ticket_id FROM {TABLE} d WHERE {where_sql} "  # noqa: S608
                f"ORDER BY d.created_at DESC LIMIT {RANK_LIMIT}) "
                f"SELECT d.ticket_id, {score_sql} AS score FROM {TABLE} d "
                "JOIN candidates c ON c.ticket_id = d.ticket_id "
                "ORDER BY score DESC, d.created_at DESC, d.ticket_id DESC LIMIT %s OFFSET %s"
            )
            params = [*params, *score_params, plan.limit, plan.offset]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return [(int(pk), float(score)) for pk, score in cursor.fetchall()]

    def fuzzy_names(self, term: str) -> list[str]:
        """Not needed here: the database matches names by trigrams itself."""
        return []
