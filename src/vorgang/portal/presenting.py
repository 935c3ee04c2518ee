"""What the case page shows, in plain language: the state, the time, the timeline."""

from __future__ import annotations

import importlib
import logging
import re
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import get_language
from django.utils.translation import gettext as _

from vorgang.accounts.models import User
from vorgang.tickets import selectors
from vorgang.tickets.models import Article, Attachment, SenderKind, StateKind, Ticket

from .models import InformationRequest
from .text import html_to_text

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CitizenState:
    key: str  # received, in_progress, waiting, done
    label: str
    explanation: str


def citizen_state(ticket: Ticket) -> CitizenState:
    kind = ticket.state.kind
    if kind == StateKind.NEW:
        return CitizenState(
            "received",
            _("Received"),
            _("Your request has arrived. We will look at it soon."),
        )
    if kind in (StateKind.PENDING_REMINDER, StateKind.PENDING_CLOSE) and (
        InformationRequest.objects.filter(ticket=ticket).open().exists()
    ):
        return CitizenState(
            "waiting",
            _("Waiting for your reply"),
            _(
                "We need something from you before we can go on. "
                "Please read our question below and answer it on this page."
            ),
        )
    if kind in (StateKind.CLOSED, StateKind.MERGED):
        return CitizenState(
            "done",
            _("Done"),
            _("We have finished working on your request."),
        )
    return CitizenState(
        "in_progress",
        _("In progress"),
        _("We are working on your request. We will write to you if we need anything."),
    )


def expected_days(service: Any) -> int | None:
    """The catalogue's estimate (``catalogue.processing.expected_days``), else the fixed days."""
    if service is None:
        return None
    value: Any = None
    try:
        estimate = None
        for module in ("vorgang.catalogue", "vorgang.catalogue.processing"):
            try:
                estimate = getattr(importlib.import_module(module), "expected_days", None)
            except ImportError:
                continue
            if callable(estimate):
                break
        value = estimate(service) if callable(estimate) else service.processing_days
    except Exception as exc:  # an estimate must never break the case page
        log.warning("expected processing time unavailable: %s", type(exc).__name__)
        value = getattr(service, "processing_days", None)
    try:
        days = int(value) if value is not None else None
    except (TypeError, ValueError):
        return None
    return days if days and days > 0 else None


def service_name(ticket: Ticket) -> str:
    service = ticket.service
    if service is None:
        return ""
    if (get_language() or "de").startswith("en") and service.name_en:
        return service.name_en
    return service.name_de


@dataclass
class TimelineEntry:
    article: Article
    sender: str
    from_us: bool
    text: str
    attachments: list[Attachment] = field(default_factory=list)


# A case page link in a message we sent (``.../c/<token>/``, maybe under a tenant prefix).
CASE_LINK = re.compile(r"https?://[^\s<>\"]+/c/(?!new/|legal/|language/|logo/)[A-Za-z0-9_-]{16,}/?")


def hide_case_links(text: str) -> str:
    """The page does not repeat the secret links of our mails: whoever sees the page (or a
    screenshot of it) should not get another working link from it."""
    return CASE_LINK.sub(lambda _m: str(_("[link to your case page]")), text)


def timeline(citizen: User, ticket: Ticket) -> list[TimelineEntry]:
    """The case's public messages, oldest first; internal notes never appear."""
    entries = []
    department = ticket.department.name
    for article in selectors.articles(citizen, ticket):
        if article.internal:  # the selector already leaves them out; be sure
            continue
        if article.sender == SenderKind.CITIZEN:
            sender, from_us = _("You"), False
        elif article.sender == SenderKind.SYSTEM:
            sender, from_us = (
                _("%(department)s (automatic message)") % {"department": department},
                True,
            )
        else:
            sender, from_us = department, True
        body = article.body or ""
        text = html_to_text(body) if article.content_type == "text/html" else body
        text = hide_case_links(text)
        entries.append(
            TimelineEntry(
                article=article,
                sender=sender,
                from_us=from_us,
                text=text.strip(),
                attachments=list(article.attachments.all()),
            )
        )
    return entries
