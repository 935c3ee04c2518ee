"""Articles in Zammad's API: ``/ticket_articles``, the raw message, attachment downloads.

Reads go through the selectors (citizens never see internal notes), writes through
``tickets.services.add_article``; an e-mail article goes through the same outbound path
as the desk's reply (``channels.email.outbound.reply``: subject tag, Message-ID,
threading, signature), is queued, and sent by the worker after the commit.

Zammad's article types map onto Vorgang's kinds: email (type_id 1), phone (5), note (10)
and web (11); the citizen case page and the API intake appear as ``web`` (their own kind
is in ``preferences.kind``). Senders: Agent 1, Customer 2, System 3.
"""

from __future__ import annotations

import html
import logging
import re
from dataclasses import dataclass, field
from typing import Any

from django.core.files.storage import default_storage
from django.db import transaction
from django.http import FileResponse, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Router, Status

from vorgang.accounts.models import AccessLevel, User
from vorgang.channels.email import outbound
from vorgang.channels.email.parsing.html import sanitize_html
from vorgang.core.errors import InvalidInput, NotFound, PermissionDenied
from vorgang.tickets import selectors, services
from vorgang.tickets.models import (
    Article,
    ArticleKind,
    Attachment,
    SenderKind,
    Ticket,
)

from . import payload
from .common import mark_ignored, paginate, ts
from .schemas import ArticleOut, ErrorOut

log = logging.getLogger(__name__)

router = Router(tags=["ticket articles"])

TYPE_IDS = {"email": 1, "phone": 5, "note": 10, "web": 11}
TYPE_BY_ID = {v: k for k, v in TYPE_IDS.items()}
# Vorgang's own kinds as Zammad sees them.
KIND_AS_TYPE: dict[str, str] = {
    ArticleKind.EMAIL: "email",
    ArticleKind.PHONE: "phone",
    ArticleKind.NOTE: "note",
    ArticleKind.WEB: "web",
    ArticleKind.PORTAL: "web",
    ArticleKind.API: "web",
}
SENDERS: dict[str, tuple[int, str]] = {
    SenderKind.AGENT: (1, "Agent"),
    SenderKind.CITIZEN: (2, "Customer"),
    SenderKind.SYSTEM: (3, "System"),
}
SENDER_BY_NAME = {"agent": SenderKind.AGENT, "customer": SenderKind.CITIZEN}
SENDER_BY_ID = {1: SenderKind.AGENT, 2: SenderKind.CITIZEN}

MAX_BODY = 1_000_000
MAX_SUBJECT = 500
MAX_ADDRESSES = 2000

# Fields of an article the API reads, and read-only ones clients echo back (not "unknown").
ARTICLE_FIELDS = frozenset(
    {
        "ticket_id", "type", "type_id", "sender", "sender_id", "body", "subject", "internal",
        "content_type", "to", "cc", "attachments",
    }
)  # fmt: skip
ARTICLE_ECHOED = frozenset(
    {
        "id", "from", "reply_to", "message_id", "message_id_md5", "in_reply_to", "references",
        "created_at", "updated_at", "created_by_id", "updated_by_id", "created_by",
        "updated_by", "origin_by_id", "preferences", "time_unit", "form_id", "subtype",
    }
)  # fmt: skip

ERRORS: dict[int, Any] = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut}

ARTICLE_BODY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "ticket_id": {"type": "integer"},
        "body": {"type": "string"},
        "subject": {"type": "string"},
        "type": {"type": "string", "enum": ["note", "email", "phone", "web"]},
        "internal": {"type": "boolean"},
        "content_type": {"type": "string", "enum": ["text/plain", "text/html"]},
        "to": {"type": "string"},
        "cc": {"type": "string"},
        "sender": {"type": "string", "enum": ["Agent", "Customer"]},
        "attachments": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["filename", "data"],
                "properties": {
                    "filename": {"type": "string"},
                    "data": {"type": "string", "format": "byte"},
                    "mime-type": {"type": "string"},
                },
            },
        },
    },
}


def _user(request: HttpRequest) -> User:
    return request.auth  # type: ignore[attr-defined]


# --- reading a new article from a payload -----------------------------------------------------


@dataclass(frozen=True)
class ArticleRequest:
    """An article as asked for, checked for form; permissions are the services' business."""

    kind: str
    body: str
    subject: str = ""
    internal: bool = False
    content_type: str = "text/plain"
    to: str = ""
    cc: str = ""
    sender: str | None = None
    attachments: list[services.AttachmentInput] = field(default_factory=list)


def parse_article(
    user: User, data: Any, where: str = "article"
) -> tuple[ArticleRequest, list[str]]:
    """The article in ``data`` and the names of the fields that were not understood."""
    if not isinstance(data, dict):
        raise InvalidInput(_("%(field)s must be an object.") % {"field": where})
    ignored = [
        f"{where}.{name}" if where != "" else name
        for name in data
        if name not in ARTICLE_FIELDS and name not in ARTICLE_ECHOED
    ]
    kind = _kind(user, data)
    internal = payload.flag(data, "internal", False)
    if user.is_citizen and (kind != ArticleKind.WEB or internal):
        raise PermissionDenied(_("Citizens may only add public messages of type web."))
    content_type = payload.text(data, "content_type", "text/plain") or "text/plain"
    content_type = content_type.split(";")[0].strip().lower()
    if content_type not in ("text/plain", "text/html"):
        raise InvalidInput(_("content_type must be text/plain or text/html."))
    body = payload.text(data, "body", max_len=MAX_BODY)
    if content_type == "text/html":
        body = sanitize_html(body)
    sender = _sender(user, data, kind)
    if kind == ArticleKind.EMAIL and internal:
        raise InvalidInput(_("An e-mail to the citizen cannot be internal; write a note."))
    request = ArticleRequest(
        kind=kind,
        body=body,
        subject=payload.text(data, "subject", max_len=MAX_SUBJECT),
        internal=internal,
        content_type=content_type,
        to=payload.text(data, "to", max_len=MAX_ADDRESSES),
        cc=payload.text(data, "cc", max_len=MAX_ADDRESSES),
        sender=sender,
        attachments=payload.attachments(
            data.get("attachments"), f"{where}.attachments" if where else "attachments"
        ),
    )
    return request, ignored


def _kind(user: User, data: dict[str, Any]) -> str:
    default = "web" if user.is_citizen else "note"
    if data.get("type") is not None:
        name = payload.text(data, "type").strip().lower()
    elif data.get("type_id") is not None:
        name = TYPE_BY_ID.get(payload.whole_number(data["type_id"], "type_id"), "")
        if not name:
            raise InvalidInput(_("Unknown article type_id; use 1, 5, 10 or 11."))
    else:
        name = default
    if name not in TYPE_IDS:
        raise InvalidInput(
            _("Unknown article type %(type)s; use note, email, phone or web.")
            % {"type": repr(name[:50])}
        )
    return name


def _sender(user: User, data: dict[str, Any], kind: str) -> str | None:
    """Agents may record a phone call or note as coming from the citizen (Zammad's sender)."""
    if user.is_citizen:
        return SenderKind.CITIZEN
    if data.get("sender") is not None:
        found = SENDER_BY_NAME.get(payload.text(data, "sender").strip().lower())
    elif data.get("sender_id") is not None:
        found = SENDER_BY_ID.get(payload.whole_number(data["sender_id"], "sender_id"))
    else:
        return None
    if found is None:
        raise InvalidInput(_("sender must be Agent or Customer."))
    if kind == ArticleKind.EMAIL and found != SenderKind.AGENT:
        raise InvalidInput(_("An e-mail written here is always sent by an agent."))
    return found


def as_input(user: User, request: ArticleRequest) -> services.ArticleInput:
    """The service's input for every kind but e-mail (which goes through outbound)."""
    return services.ArticleInput(
        body=request.body,
        kind=request.kind,
        internal=request.internal,
        content_type=request.content_type,
        subject=request.subject,
        from_addr=user.display_name,
        to=request.to,
        cc=request.cc,
        sender=request.sender,
        attachments=tuple(request.attachments),
    )


def write_article(user: User, ticket: Ticket, request: ArticleRequest) -> Article:
    """Add the article; an e-mail is written and queued like the desk's reply."""
    if request.kind != ArticleKind.EMAIL:
        return services.add_article(user, ticket, as_input(user, request))
    body = request.body
    if request.content_type == "text/html":
        body = html_to_text(body)  # our mail goes out as plain text, as the desk's replies
    return outbound.reply(
        user,
        ticket,
        body=body,
        to=request.to or None,
        cc=request.cc,
        attachments=request.attachments,
        subject=request.subject or None,
    )


_BLOCK_END = re.compile(r"(?i)<\s*(?:br|hr|/p|/div|/li|/tr|/h[1-6]|/blockquote)\b[^>]*>")
_TAG = re.compile(r"(?s)<[^>]*>")


def html_to_text(markup: str) -> str:
    text = _BLOCK_END.sub("\n", markup)
    text = html.unescape(_TAG.sub("", text))
    lines = [line.rstrip() for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


# --- output -----------------------------------------------------------------------------------


def attachment_out(attachment: Attachment) -> dict[str, Any]:
    preferences = {"Content-Type": attachment.content_type or "application/octet-stream"}
    if attachment.content_id:
        preferences["Content-ID"] = attachment.content_id
    return {
        "id": attachment.pk,
        "filename": attachment.filename,
        "size": str(attachment.blob.size),
        "preferences": preferences,
    }


def article_out(article: Article, user: User) -> dict[str, Any]:
    sender_id, sender = SENDERS.get(article.sender, (3, "System"))
    kind = KIND_AS_TYPE.get(article.kind, "note")
    author = article.created_by
    preferences: dict[str, Any] = {"kind": article.kind}
    if article.delivery_status:
        preferences["delivery_status"] = article.delivery_status
        if article.delivery_error and not user.is_citizen:
            preferences["delivery_status_message"] = article.delivery_error
    if article.notice and not user.is_citizen:
        preferences["notice"] = article.notice
    return {
        "id": article.pk,
        "ticket_id": article.ticket_id,
        "type_id": TYPE_IDS[kind],
        "type": kind,
        "sender_id": sender_id,
        "sender": sender,
        "from": article.from_addr or (author.display_name if author is not None else ""),
        "to": article.to,
        "cc": article.cc,
        "subject": article.subject,
        "body": article.body,
        "content_type": article.content_type,
        "internal": article.internal,
        "message_id": article.message_id or None,
        "in_reply_to": article.in_reply_to or None,
        "created_at": ts(article.created_at),
        "updated_at": ts(article.created_at),
        "created_by_id": article.created_by_id,
        "updated_by_id": article.created_by_id,
        "attachments": [attachment_out(a) for a in article.attachments.all()],
        "preferences": preferences,
    }


# --- endpoints --------------------------------------------------------------------------------


@router.get(
    "/ticket_articles/by_ticket/{int:ticket_id}",
    response={200: list[ArticleOut], **ERRORS},
    by_alias=True,
    summary="The articles of a case (citizens: public ones only)",
)
def by_ticket(request: HttpRequest, ticket_id: int) -> Any:
    user = _user(request)
    ticket = selectors.get_ticket(user, ticket_id, AccessLevel.READ)
    found = selectors.articles(user, ticket)
    if "page" in request.GET or "per_page" in request.GET:
        found = paginate(request, found)  # type: ignore[assignment]
    return [article_out(a, user) for a in found]


@router.get(
    "/ticket_articles/{int:article_id}",
    response={200: ArticleOut, **ERRORS},
    by_alias=True,
    summary="One article",
)
def show(request: HttpRequest, article_id: int) -> Any:
    user = _user(request)
    return article_out(selectors.get_article(user, article_id), user)


@router.post(
    "/ticket_articles",
    response={201: ArticleOut, 413: ErrorOut, **ERRORS},
    by_alias=True,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {**ARTICLE_BODY_SCHEMA, "required": ["ticket_id", "body"]}
                }
            },
        }
    },
    summary="Add an article to a case (type email sends it to the citizen)",
)
def create(request: HttpRequest, response: HttpResponse) -> Any:
    user = _user(request)
    data = payload.read_json(request)
    if data.get("ticket_id") is None:
        raise InvalidInput(_("ticket_id is missing."))
    ticket_id = payload.whole_number(data["ticket_id"], "ticket_id")
    ticket = selectors.get_ticket(user, ticket_id, AccessLevel.READ)
    parsed, ignored = parse_article(user, data, where="")
    with transaction.atomic():
        article = write_article(user, ticket, parsed)
    mark_ignored(response, ignored)
    return Status(201, article_out(selectors.get_article(user, article.pk), user))


@router.get(
    "/ticket_article_plain/{int:article_id}",
    response={200: None, **ERRORS},
    summary="The raw message of an article as received or sent (message/rfc822)",
)
def plain(request: HttpRequest, article_id: int) -> Any:
    user = _user(request)
    article = selectors.get_article(user, article_id)
    if article.raw is None:
        raise NotFound(_("This message has no raw form (it was not received as e-mail)."))
    try:
        content = article.raw.read()
    except FileNotFoundError:
        log.error("article %s: raw blob %s is missing from storage", article.pk, article.raw_id)
        raise NotFound(_("The raw message is missing from storage.")) from None
    response = HttpResponse(content, content_type="message/rfc822")
    response["Content-Disposition"] = (
        f'attachment; filename="ticket-{article.ticket_id}-{article.pk}.eml"'
    )
    _download_headers(response)
    return response


@router.get(
    "/ticket_attachment/{int:ticket_id}/{int:article_id}/{int:attachment_id}",
    response={200: None, **ERRORS},
    summary="Download an attachment (also by the case it was in before a merge)",
)
def attachment(request: HttpRequest, ticket_id: int, article_id: int, attachment_id: int) -> Any:
    user = _user(request)
    found = selectors.get_attachment(user, attachment_id)
    article = found.article
    if article.pk != article_id or not _same_case(ticket_id, article.ticket_id):
        raise NotFound(_("Unknown attachment."))
    try:
        handle = default_storage.open(found.blob.path, "rb")
    except FileNotFoundError:
        log.error("attachment %s: blob %s is missing from storage", found.pk, found.blob.sha256)
        raise NotFound(_("The file is missing from storage.")) from None
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=found.filename,
        content_type=found.content_type or "application/octet-stream",
    )
    _download_headers(response)
    return response


def _same_case(named: int, actual: int) -> bool:
    """True if ``named`` is the article's case or a case merged (maybe in steps) into it."""
    if named == actual:
        return True
    seen: set[int] = set()
    current: int | None = named
    while current is not None and current not in seen and len(seen) < 50:
        seen.add(current)
        current = Ticket.objects.filter(pk=current).values_list("merged_into_id", flat=True).first()
        if current == actual:
            return True
    return False


def _download_headers(response: HttpResponse | FileResponse) -> None:
    # Always a download, never rendered by a browser in our origin.
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
