"""Deadlines of requests for information, run by the scheduler (``run_due``).

Two days before the deadline the citizen gets one reminder (if the request gave
more than two days). When the deadline passes, the department's choice for that
request applies: remind again (the deadline moves on by a week, at most
``MAX_EXTENSIONS`` times, then the owner is told), notify the owner (the case is
open again, with an internal note), or close the case with a message to the
citizen. A request whose case no longer waits (an agent reopened or closed it) is
closed without doing anything. Safe to run any number of times; reads the time
only through ``vorgang.core.clock``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from vorgang.core import clock
from vorgang.tickets import services
from vorgang.tickets.models import ArticleKind, StateKind, Ticket

from . import links, mail, ratelimit
from .information import PENDING_KINDS, _notify_owner_later, end_of_day, requested_documents
from .models import InformationRequest, OnDeadline

log = logging.getLogger(__name__)

REMIND_BEFORE = timedelta(days=2)
REMIND_AGAIN_DAYS = 7
MAX_EXTENSIONS = 3


def run_due() -> int:
    """Send due reminders and apply passed deadlines; returns how many requests were handled."""
    now = clock.now()
    handled = 0
    ratelimit.prune()
    reminders = (
        InformationRequest.objects.open()
        .filter(reminded_at__isnull=True, deadline__gt=now, deadline__lte=now + REMIND_BEFORE)
        .values_list("pk", flat=True)
    )
    for pk in list(reminders):
        handled += _guarded(_remind_before, pk, now)
    passed = (
        InformationRequest.objects.open().filter(deadline__lte=now).values_list("pk", flat=True)
    )
    for pk in list(passed):
        handled += _guarded(_apply_deadline, pk, now)
    return handled


def _guarded(step: Callable[[InformationRequest, datetime], None], pk: int, now: datetime) -> int:
    """One request per transaction; one failing request never stops the others."""
    try:
        with transaction.atomic():
            request = (
                InformationRequest.objects.select_for_update(of=("self",))
                .select_related("ticket__state", "ticket__citizen", "ticket__department")
                .filter(pk=pk)
                .first()
            )
            if request is None or not request.is_open:
                return 0
            if request.ticket.state.kind not in PENDING_KINDS:
                request.closed = True
                request.save(update_fields=["closed"])
                return 1
            step(request, now)
            return 1
    except Exception as exc:
        log.error("request for information %s: %s", pk, type(exc).__name__)
        log.debug("request for information %s failed", pk, exc_info=True)
        return 0


def _send_reminder(request: InformationRequest) -> None:
    ticket = request.ticket
    language = mail.language_of(ticket.citizen)
    url = links.issue_link(ticket)
    mail.queue_system_mail(
        ticket,
        mail.request_subject(ticket, reminder=True),
        mail.request_body(
            ticket,
            documents=requested_documents(ticket, request.documents or [], language),
            questions=request.questions,
            deadline=request.deadline,
            url=url,
            reminder=True,
        ),
    )
    links.refresh(ticket)


def _remind_before(request: InformationRequest, now: datetime) -> None:
    if request.deadline - REMIND_BEFORE <= request.created_at:
        # The request itself was sent less than two days before its deadline.
        request.reminded_at = now
        request.save(update_fields=["reminded_at"])
        return
    _send_reminder(request)
    request.reminded_at = now
    request.reminders += 1
    request.save(update_fields=["reminded_at", "reminders"])


def _apply_deadline(request: InformationRequest, now: datetime) -> None:
    choice = request.on_deadline
    if choice == OnDeadline.REMIND and request.extensions >= MAX_EXTENSIONS:
        choice = OnDeadline.NOTIFY_OWNER
    if choice == OnDeadline.REMIND:
        request.deadline = end_of_day(timezone.localdate(now) + timedelta(days=REMIND_AGAIN_DAYS))
        _send_reminder(request)
        services.change_state(
            None, request.ticket, StateKind.PENDING_REMINDER, pending_until=request.deadline
        )
        request.reminded_at = now
        request.reminders += 1
        request.extensions += 1
        request.save(update_fields=["deadline", "reminded_at", "reminders", "extensions"])
        return
    ticket: Ticket = request.ticket
    if choice == OnDeadline.CLOSE:
        mail.queue_system_mail(
            ticket,
            mail.close_subject(ticket),
            mail.close_body(ticket, request.deadline, links.issue_link(ticket)),
        )
        links.refresh(ticket)
        services.change_state(None, ticket, StateKind.CLOSED)
    else:
        with translation.override(settings.LANGUAGE_CODE):
            note = _(
                "The deadline of the request for information passed without an answer "
                "from the citizen."
            )
        services.add_article(
            None, ticket, services.ArticleInput(body=note, kind=ArticleKind.NOTE, internal=True)
        )
        services.change_state(None, ticket, StateKind.OPEN)
        ticket_id = ticket.pk
        transaction.on_commit(lambda: _notify_owner_later(ticket_id, "deadline"))
    request.closed = True
    request.deadline_handled_at = now
    request.save(update_fields=["closed", "deadline_handled_at"])
