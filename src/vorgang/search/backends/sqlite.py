"""SQLite FTS5 for the embedded default.

FTS5 has no German stemmer, so the stems are computed in Python (text.index_terms:
fold, drop stop words, Snowball German) when indexing and when querying, and the
FTS5 table ``search_fts`` (rowid = ticket id) stores and matches those stems. Every
query term is sent as a quoted FTS5 string of stems, so operators or quotes typed by
a person are never FTS5 syntax. (SQL text is built from constants and placeholders
only, hence the S608 exemptions; every value travels as a parameter.)

Columns and bm25 weights follow PostgreSQL's A-D weights; ``ibody``/``iattach`` hold
internal notes and are left out of a citizen's column filter.

Typo tolerance: FTS5 has no trigram similarity, so a one-word term is compared in
Python with the citizen-name words in the index vocabulary (``search_fts_vocab``)
that start with the same letter, using pg_trgm's word similarity; the close ones are
added as alternatives for the ``namekey`` column. Unlike PostgreSQL, a typo in the
first letter is not forgiven.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connection

from .. import text
from ..documents import MAX_ATTACHMENT_CHARS, MAX_BODY_CHARS, Document
from ..query import Term
from .base import (
    FUZZY_THRESHOLD,
    TABLE,
    Condition,
    Count,
    Plan,
    db_datetime,
    fuzzy_word,
    order_by_date,
    scope_conditions,
    where,
)

FTS = "search_fts"
VOCAB = "search_fts_vocab"
COLUMNS = ("number", "title", "citizen", "body", "attach", "ibody", "iattach", "namekey")
WEIGHTS = "10.0, 8.0, 4.0, 2.0, 1.0, 2.0, 1.0, 1.0"
AGENT_COLUMNS = "{number title citizen body attach ibody iattach}"
CITIZEN_COLUMNS = "{number title citizen body attach}"
MAX_FUZZY_CANDIDATES = 20

_UPSERT = f"""
INSERT INTO {TABLE} (ticket_id, tenant_id, department_id, citizen_id, owner_id, state_id,
    service_id, number, created_at, name_key, indexed_at)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (ticket_id) DO UPDATE SET
    tenant_id = excluded.tenant_id, department_id = excluded.department_id,
    citizen_id = excluded.citizen_id, owner_id = excluded.owner_id,
    state_id = excluded.state_id, service_id = excluded.service_id,
    number = excluded.number, created_at = excluded.created_at,
    name_key = excluded.name_key, indexed_at = excluded.indexed_at
"""  # noqa: S608


def _stems(term: Term) -> str:
    return " ".join(text.stem(t) for t in term.content_tokens)


class SQLiteBackend:
    vendor = "sqlite"

    def write(self, docs: Sequence[Document]) -> None:
        if not docs:
            return
        from django.utils import timezone

        now = db_datetime(timezone.now())
        rows = []
        fts_rows = []
        for doc in docs:
            rows.append(
                (
                    doc.ticket_id,
                    doc.tenant_id,
                    doc.department_id,
                    doc.citizen_id,
                    doc.owner_id,
                    doc.state_id,
                    doc.service_id,
                    doc.number,
                    db_datetime(doc.created_at),
                    doc.name_key,
                    now,
                )
            )
            fts_rows.append(
                (
                    doc.ticket_id,
                    text.index_terms(doc.number),
                    text.index_terms(doc.title),
                    text.index_terms(doc.citizen),
                    text.index_terms(Document.joined(doc.body, MAX_BODY_CHARS)),
                    text.index_terms(Document.joined(doc.attach, MAX_ATTACHMENT_CHARS)),
                    text.index_terms(Document.joined(doc.internal, MAX_BODY_CHARS)),
                    text.index_terms(Document.joined(doc.internal_attach, MAX_ATTACHMENT_CHARS)),
                    doc.name_key,
                )
            )
        with connection.cursor() as cursor:
            cursor.executemany(_UPSERT, rows)
            self._delete_fts(cursor, [d.ticket_id for d in docs])
            marks = ", ".join(["%s"] * (len(COLUMNS) + 1))
            cursor.executemany(
                f"INSERT INTO {FTS} (rowid, {', '.join(COLUMNS)}) VALUES ({marks})",  # noqa: S608
                fts_rows,
            )

    def _delete_fts(self, cursor: Any, ticket_ids: Sequence[int]) -> None:
        for start in range(0, len(ticket_ids), 500):
            chunk = list(ticket_ids[start : start + 500])
            marks = ", ".join(["%s"] * len(chunk))
            cursor.execute(f"DELETE FROM {FTS} WHERE rowid IN ({marks})", chunk)  # noqa: S608

    def delete(self, ticket_ids: Sequence[int]) -> None:
        with connection.cursor() as cursor:
            self._delete_fts(cursor, ticket_ids)
            for start in range(0, len(ticket_ids), 500):
                chunk = list(ticket_ids[start : start + 500])
                marks = ", ".join(["%s"] * len(chunk))
                cursor.execute(f"DELETE FROM {TABLE} WHERE ticket_id IN ({marks})", chunk)  # noqa: S608

    def prune(self) -> int:
        with connection.cursor() as cursor:
            cursor.execute(
                f"DELETE FROM {TABLE} WHERE ticket_id NOT IN (SELECT id FROM tickets_ticket)"  # noqa: S608
            )
            removed = int(cursor.rowcount)
            cursor.execute(f"DELETE FROM {FTS} WHERE rowid NOT IN (SELECT ticket_id FROM {TABLE})")  # noqa: S608
        return removed

    # --- searching ---------------------------------------------------------------------

    def prepare(self, timeout_ms: int) -> None:
        """Nothing per transaction; the engine bounds the time with a progress handler."""

    def fuzzy_names(self, key: str) -> list[str]:
        """Name words in the index close to ``key`` (same first letter), best first."""
        upper = key[0] + "\U0010ffff"
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT term FROM {VOCAB} WHERE col = 'namekey' AND term >= %s AND term < %s",  # noqa: S608
                [key[0], upper],
            )
            terms = [row[0] for row in cursor.fetchall()]
        scored = []
        for term in terms:
            if abs(len(term) - len(key)) > 3 or term.isdigit():
                continue
            score = text.word_similarity(key, term)
            if score >= FUZZY_THRESHOLD:
                scored.append((score, term))
        scored.sort(reverse=True)
        return [term for _score, term in scored[:MAX_FUZZY_CANDIDATES]]

    def _match(self, plan: Plan) -> str | None:
        """The FTS5 expression of the positive terms (None if there are none)."""
        columns = CITIZEN_COLUMNS if plan.scope.public_only else AGENT_COLUMNS
        parts = []
        for term in plan.terms:
            expr = f'{columns} : "{_stems(term)}"'
            key = fuzzy_word(term) if plan.fuzzy else None
            names = self.fuzzy_names(key) if key is not None else []
            if names:
                alternatives = " OR ".join(f'"{n}"' for n in names)
                expr = f"{expr} OR namekey : ({alternatives})"
            parts.append(f"({expr})")
        if not parts:
            return None
        expression = " AND ".join(parts)
        for term in plan.excluded:
            expression += f' NOT ({columns} : "{_stems(term)}")'
        return expression

    def _excluded_only(self, plan: Plan) -> Condition | None:
        if plan.terms or not plan.excluded:
            return None
        columns = CITIZEN_COLUMNS if plan.scope.public_only else AGENT_COLUMNS
        expression = " OR ".join(f'({columns} : "{_stems(t)}")' for t in plan.excluded)
        return Condition(
            f"d.ticket_id NOT IN (SELECT rowid FROM {FTS} WHERE {FTS} MATCH %s)",  # noqa: S608
            [expression],
        )

    def _from_where(self, plan: Plan) -> tuple[str, list[Any], bool]:
        conditions = [*scope_conditions(plan.scope), *plan.conditions]
        excluded = self._excluded_only(plan)
        if excluded is not None:
            conditions.append(excluded)
        match = self._match(plan)
        if match is None:
            sql, params = where(conditions)
            return f"{TABLE} d WHERE {sql}", params, False
        sql, params = where(conditions)
        return (
            f"{FTS} JOIN {TABLE} d ON d.ticket_id = {FTS}.rowid WHERE {FTS} MATCH %s AND {sql}",
            [match, *params],
            True,
        )

    def count(self, plan: Plan) -> Count:
        """Always exact: the embedded default serves small installations, and SQLite has
        no planner estimate worth showing."""
        from_where, params, _ranked = self._from_where(plan)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM {from_where}", params)  # noqa: S608
            return Count(int(cursor.fetchone()[0]))

    def page(self, plan: Plan) -> list[tuple[int, float]]:
        from_where, params, ranked = self._from_where(plan)
        if ranked and plan.sort == "relevance":
            score = f"-bm25({FTS}, {WEIGHTS})"
            order = "score DESC, d.created_at DESC, d.ticket_id DESC"
        else:
            score, order = "0.0", order_by_date(plan.sort)
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT d.ticket_id, {score} AS score FROM {from_where} "  # noqa: S608
                f"ORDER BY {order} LIMIT %s OFFSET %s",
                [*params, plan.limit, plan.offset],
            )
            return [(int(pk), float(s)) for pk, s in cursor.fetchall()]
