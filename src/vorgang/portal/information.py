"""Requests for information ("Rückfrage") and the citizen's answers through the case page.

The case itself changes only through ``tickets.services``: the request mail is an
e-mail article, the waiting is the state "pending reminder" with the deadline as
its date, the answer is a ``portal`` article written as the citizen.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from vorgang.accounts.models import AccessLevel, User
from vorgang.core import clock
from vorgang.core.errors import InvalidInput
from vorgang.tickets import services
from vorgang.tickets.models import ArticleKind, SenderKind, StateKind, Ticket

from . import links, mail
from .documents import Document, Upload, service_documents
from .models import InformationRequest, OnDeadline

log = logging.getLogger(__name__)

DEFAULT_DAYS = 14
MAX_DAYS = 365
MAX_QUESTIONS = 10_000
MAX_MESSAGE = 20_000
PENDING_KINDS = (StateKind.PENDING_REMINDER, StateKind.PENDING_CLOSE)


def default_deadline() -> date:
    return timezone.localdate(clock.now()) + timedelta(days=DEFAULT_DAYS)


def end_of_day(day: date) -> datetime:
    """The last minute of ``day`` in the local time zone: a deadline lasts the whole day."""
    return timezone.make_aware(datetime.combine(day, time(23, 59)))


def requested_documents(ticket: Ticket, keys: Sequence[str], language: str) -> list[Document]:
    by_key = {d.key: d for d in service_documents(ticket.service, language)}
    return [by_key[k] for k in keys if k in by_key]


def create_request(
    agent: User,
    ticket: Ticket,
    *,
    documents: Sequence[str],
    questions: str,
    deadline: date,
    on_deadline: str,
) -> InformationRequest:
    """Ask the citizen for documents and/or answers; the case then waits for them.

    Raises PermissionDenied/NotFound like every service (change access needed),
    InvalidInput for a request without content, a bad deadline or a case without a
    citizen address, and the e-mail channel's Undeliverable for a bounced address.
    """
    services.require(agent, ticket, AccessLevel.CHANGE)
    questions = (questions or "").replace("\r\n", "\n").strip()
    keys = list(dict.fromkeys(documents))
    known = {d.key for d in service_documents(ticket.service)}
    if any(k not in known for k in keys):
        raise InvalidInput(_("Please choose the documents from the list."))
    if not keys and not questions:
        raise InvalidInput(_("Please choose at least one document or write a question."))
    if len(questions) > MAX_QUESTIONS:
        raise InvalidInput(_("The questions are too long."))
    today = timezone.localdate(clock.now())
    if deadline <= today:
        raise InvalidInput(_("The deadline must lie in the future."))
    if deadline > today + timedelta(days=MAX_DAYS):
        raise InvalidInput(_("The deadline may be at most one year away."))
    if on_deadline not in OnDeadline.values:
        raise InvalidInput(_("Please choose what happens when the deadline passes."))
    citizen = ticket.citizen
    if citizen is None or not citizen.email:
        raise InvalidInput(
            _("This case has no citizen e-mail address, so we cannot send a request.")
        )
    from vorgang.channels.email import outbound

    due = end_of_day(deadline)
    language = mail.language_of(citizen)
    with transaction.atomic():
        request = InformationRequest.objects.create(
            ticket=ticket,
            documents=keys,
            questions=questions,
            deadline=due,
            on_deadline=on_deadline,
            created_by=agent,
            created_at=clock.now(),
        )
        url = links.issue_link(ticket)
        links.refresh(ticket)
        outbound.reply(
            agent,
            ticket,
            body=mail.request_body(
                ticket,
                documents=requested_documents(ticket, keys, language),
                questions=questions,
                deadline=due,
                url=url,
            ),
            subject=mail.request_subject(ticket),
        )
        current = Ticket.objects.select_related("state").get(pk=ticket.pk)
        if current.state.kind == StateKind.CLOSED:
            services.change_state(agent, ticket, StateKind.OPEN)
        services.change_state(agent, ticket, StateKind.PENDING_REMINDER, pending_until=due)
    return request


def open_requests(ticket: Ticket) -> list[InformationRequest]:
    return list(InformationRequest.objects.filter(ticket=ticket).open())


@dataclass(frozen=True)
class RequestedDocument:
    document: Document
    received: bool
    requested: bool  # asked for in a request for information (not only by the service)


def document_status(ticket: Ticket, language: str | None = None) -> list[RequestedDocument]:
    """The service's required documents and those the requests asked for, and which came."""
    from vorgang.catalogue.models import ProvidedDocument

    service_docs = service_documents(ticket.service, language)
    by_key = {d.key: d for d in service_docs}
    raw = ticket.service.documents if ticket.service is not None else []
    required = {
        str(d.get("key")) for d in raw if isinstance(d, dict) and d.get("required") and d.get("key")
    }
    asked: list[str] = []
    for keys in InformationRequest.objects.filter(ticket=ticket).values_list(
        "documents", flat=True
    ):
        for key in keys or []:
            if key not in asked:
                asked.append(key)
    wanted = [d.key for d in service_docs if d.key in required or d.key in asked]
    wanted += [k for k in asked if k not in wanted]
    if not wanted:
        return []
    received = set(
        ProvidedDocument.objects.filter(ticket=ticket, document_key__in=wanted).values_list(
            "document_key", flat=True
        )
    )
    return [
        RequestedDocument(
            by_key.get(key) or Document(key=key, name=key), key in received, key in asked
        )
        for key in wanted
    ]


def answer(
    citizen: User,
    ticket: Ticket,
    *,
    body: str,
    files: Sequence[tuple[str, Upload]] = (),
) -> int:
    """The citizen writes through the case page: one ``portal`` article as the citizen.

    ``files`` pairs each upload with the key of the requested document it is ("" for
    other files). Open requests count as answered; a case that waited for the
    citizen is open again; the owner hears of it once the change is committed.
    Returns the article's id.
    """
    body = (body or "").replace("\r\n", "\n").strip()
    if len(body) > MAX_MESSAGE:
        raise InvalidInput(_("The message is too long."))
    with transaction.atomic():
        article = services.add_article(
            citizen,
            ticket,
            services.ArticleInput(
                body=body,
                kind=ArticleKind.PORTAL,
                sender=SenderKind.CITIZEN,
                attachments=[
                    services.AttachmentInput(u.filename, u.content, u.content_type)
                    for _key, u in files
                ],
            ),
        )
        from vorgang.catalogue.submissions import record_document

        stored = list(article.attachments.order_by("pk"))
        for (key, _upload), attachment in zip(files, stored, strict=True):
            if key:
                record_document(ticket, key, attachment.pk)
        settle_requests(ticket, clock.now())
        ticket_id = ticket.pk
        transaction.on_commit(lambda: _notify_owner_later(ticket_id, "message"))
    return article.pk


def settle_requests(ticket: Ticket, now: datetime) -> bool:
    """Mark the open requests answered and reopen the case if it waited for the citizen."""
    answered = InformationRequest.objects.filter(ticket=ticket).open().update(answered_at=now)
    if not answered:
        return False
    current = Ticket.objects.select_related("state").get(pk=ticket.pk)
    if current.state.kind in PENDING_KINDS:
        services.change_state(None, current, StateKind.OPEN)
    return True


def _notify_owner_later(ticket_id: int, reason: str) -> None:
    from .tasks import notify_owner

    notify_owner.enqueue(ticket_id, reason)
