"""Build the index documents of a batch of cases (a few queries per batch, not per case).

The text is split by who may search it: citizens search only what they can see on
their case page (no internal notes and none of their attachments), agents search
everything. Text sizes are capped per case so one enormous message cannot make a
batch (or the index) balloon.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import connection

from vorgang.accounts.models import User
from vorgang.tickets.models import Article, Attachment, Ticket

from . import extract, text
from .models import AttachmentText

MAX_BODY_CHARS = 1_000_000  # article text per case
MAX_ATTACHMENT_CHARS = 2_000_000  # extracted attachment text per case


@dataclass
class Document:
    ticket_id: int
    tenant_id: int
    department_id: int
    citizen_id: int | None
    owner_id: int | None
    state_id: int
    service_id: int | None
    number: str
    created_at: datetime
    title: str = ""
    citizen: str = ""
    body: list[str] = field(default_factory=list)
    internal: list[str] = field(default_factory=list)
    attach: list[str] = field(default_factory=list)
    internal_attach: list[str] = field(default_factory=list)
    name_key: str = ""
    # Attachments whose text has not been extracted yet: (blob id, content type, name).
    pending: list[tuple[int, str, str]] = field(default_factory=list)

    @property
    def has_internal(self) -> bool:
        return bool(self.internal or self.internal_attach)

    @staticmethod
    def joined(parts: list[str], limit: int) -> str:
        out = "\n".join(parts)
        return out[:limit]


def citizen_text(user: Mapping[str, Any] | None) -> str:
    """The citizen as searched: name and e-mail, plus the address split into words."""
    if not user:
        return ""
    email = user.get("email") or ""
    name = f"{user.get('first_name') or ''} {user.get('last_name') or ''}".strip()
    return f"{name} {email}".strip()


def article_text(subject: str, body: str, content_type: str) -> str:
    if content_type == "text/html":
        body = text.html_to_text(body)
    return f"{subject}\n{body}" if subject else body


SMALL_BATCH = 20


def _sql_in(ids: Sequence[int]) -> str:
    return ", ".join(["%s"] * len(ids))


def _cases_with_citizens(ticket_ids: Sequence[int]) -> list[Ticket]:
    """The cases with their citizen's name and address, in one plain-SQL query.

    Every new case and every message re-indexes its case: the ORM spent more Python
    compiling the four queries of a small batch than the database needed to answer
    them. ``raw`` converts the values as the ORM does (dates on SQLite).
    """
    quote = connection.ops.quote_name
    cases, users = quote(Ticket._meta.db_table), quote(User._meta.db_table)
    sql = (
        f"SELECT t.id, t.tenant_id, t.department_id, t.citizen_id, t.owner_id, t.state_id, "  # noqa: S608
        f"t.service_id, t.number, t.created_at, t.title, u.first_name AS citizen_first_name, "
        f"u.last_name AS citizen_last_name, u.email AS citizen_email "
        f"FROM {cases} AS t LEFT JOIN {users} AS u ON u.id = t.citizen_id "
        f"WHERE t.id IN ({_sql_in(ticket_ids)})"
    )
    return list(Ticket.objects.raw(sql, list(ticket_ids)))


def build(ticket_ids: Sequence[int]) -> list[Document]:
    """The documents of the given cases (missing ids are skipped)."""
    if not ticket_ids:
        return []
    docs: dict[int, Document] = {}
    for row in _cases_with_citizens(ticket_ids):
        citizen = None
        if row.citizen_id:
            citizen = {
                "first_name": getattr(row, "citizen_first_name"),  # noqa: B009 - raw's columns
                "last_name": getattr(row, "citizen_last_name"),  # noqa: B009
                "email": getattr(row, "citizen_email"),  # noqa: B009
            }
        doc = Document(
            ticket_id=row.pk,
            tenant_id=row.tenant_id,
            department_id=row.department_id,
            citizen_id=row.citizen_id,
            owner_id=row.owner_id,
            state_id=row.state_id,
            service_id=row.service_id,
            number=row.number,
            created_at=row.created_at,
            title=row.title,
        )
        doc.citizen = citizen_text(citizen)
        doc.name_key = text.name_key(doc.citizen)
        docs[row.pk] = doc

    sizes: dict[int, int] = {}
    for ticket_id, internal, subject, body, content_type in _articles(list(docs)):
        used = sizes.get(ticket_id, 0)
        if used >= MAX_BODY_CHARS:
            continue
        piece = article_text(subject, body, content_type)[: MAX_BODY_CHARS - used]
        sizes[ticket_id] = used + len(piece)
        doc = docs[ticket_id]
        (doc.internal if internal else doc.body).append(piece)

    attachments = _attachments(list(docs))
    blob_ids = {a[4] for a in attachments if extract.kind_of(a[3], a[2]) is not None}
    texts: dict[int, str] = {}
    if blob_ids:
        found = AttachmentText.objects.filter(blob_id__in=blob_ids).values_list("blob_id", "text")
        texts = dict(found)
    attach_sizes: dict[int, int] = {}
    for ticket_id, internal, filename, content_type, blob_id in attachments:
        doc = docs[ticket_id]
        (doc.internal if internal else doc.body).append(filename)
        if blob_id not in blob_ids:
            continue
        if blob_id not in texts:
            doc.pending.append((blob_id, content_type, filename))
            continue
        used = attach_sizes.get(ticket_id, 0)
        piece = texts[blob_id][: max(0, MAX_ATTACHMENT_CHARS - used)]
        if piece:
            attach_sizes[ticket_id] = used + len(piece)
            (doc.internal_attach if internal else doc.attach).append(piece)
    return [docs[pk] for pk in sorted(docs)]


def _articles(ticket_ids: list[int]) -> Iterable[tuple[int, Any, str, str, str]]:
    """(case id, internal, subject, body, content type) of every article, in order."""
    if not ticket_ids:
        return []
    if len(ticket_ids) > SMALL_BATCH:
        # A server-side cursor bounds the memory of a large batch (reindex_all).
        return (
            Article.objects.filter(ticket_id__in=ticket_ids)
            .order_by("ticket_id", "pk")
            .values_list("ticket_id", "internal", "subject", "body", "content_type")
            .iterator(chunk_size=2000)
        )
    table = connection.ops.quote_name(Article._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT ticket_id, internal, subject, body, content_type FROM {table} "  # noqa: S608
            f"WHERE ticket_id IN ({_sql_in(ticket_ids)}) ORDER BY ticket_id, id",
            ticket_ids,
        )
        return cursor.fetchall()


def _attachments(ticket_ids: list[int]) -> list[tuple[int, Any, str, str, int]]:
    """(case id, internal, file name, content type, blob id) of every attachment."""
    if not ticket_ids:
        return []
    quote = connection.ops.quote_name
    files, articles = quote(Attachment._meta.db_table), quote(Article._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT a.ticket_id, a.internal, f.filename, f.content_type, f.blob_id "  # noqa: S608
            f"FROM {files} AS f INNER JOIN {articles} AS a ON a.id = f.article_id "
            f"WHERE a.ticket_id IN ({_sql_in(ticket_ids)}) ORDER BY f.id",
            ticket_ids,
        )
        return cursor.fetchall()
