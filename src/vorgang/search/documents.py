"""Build the index documents of a batch of cases (a few queries per batch, not per case).

The text is split by who may search it: citizens search only what they can see on
their case page (no internal notes and none of their attachments), agents search
everything. Text sizes are capped per case so one enormous message cannot make a
batch (or the index) balloon.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

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


def build(ticket_ids: Sequence[int]) -> list[Document]:
    """The documents of the given cases (missing ids are skipped)."""
    if not ticket_ids:
        return []
    rows = Ticket.objects.filter(pk__in=ticket_ids).values(
        "pk",
        "tenant_id",
        "department_id",
        "citizen_id",
        "owner_id",
        "state_id",
        "service_id",
        "number",
        "created_at",
        "title",
    )
    docs: dict[int, Document] = {}
    for row in rows:
        docs[row["pk"]] = Document(
            ticket_id=row["pk"],
            tenant_id=row["tenant_id"],
            department_id=row["department_id"],
            citizen_id=row["citizen_id"],
            owner_id=row["owner_id"],
            state_id=row["state_id"],
            service_id=row["service_id"],
            number=row["number"],
            created_at=row["created_at"],
            title=row["title"],
        )
    citizen_ids = {d.citizen_id for d in docs.values() if d.citizen_id}
    citizens = {
        u["pk"]: u
        for u in User.objects.filter(pk__in=citizen_ids).values(
            "pk", "first_name", "last_name", "email"
        )
    }
    for doc in docs.values():
        doc.citizen = citizen_text(citizens.get(doc.citizen_id) if doc.citizen_id else None)
        doc.name_key = text.name_key(doc.citizen)

    sizes: dict[int, int] = {}
    articles = (
        Article.objects.filter(ticket_id__in=docs)
        .order_by("ticket_id", "pk")
        .values_list("ticket_id", "internal", "subject", "body", "content_type")
    )
    # A server-side cursor bounds the memory of a large batch (reindex_all); for the few
    # cases of an event it costs three round trips more than a plain read on PostgreSQL.
    chunks = articles.iterator(chunk_size=2000) if len(docs) > SMALL_BATCH else articles
    for ticket_id, internal, subject, body, content_type in chunks:
        used = sizes.get(ticket_id, 0)
        if used >= MAX_BODY_CHARS:
            continue
        piece = article_text(subject, body, content_type)[: MAX_BODY_CHARS - used]
        sizes[ticket_id] = used + len(piece)
        doc = docs[ticket_id]
        (doc.internal if internal else doc.body).append(piece)

    attachments = list(
        Attachment.objects.filter(article__ticket_id__in=docs).values_list(
            "article__ticket_id", "article__internal", "filename", "content_type", "blob_id"
        )
    )
    blob_ids = {a[4] for a in attachments if extract.kind_of(a[3], a[2]) is not None}
    texts = dict(AttachmentText.objects.filter(blob_id__in=blob_ids).values_list("blob_id", "text"))
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
