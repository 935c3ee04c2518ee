"""Filling in a text module's placeholders for one case, without a template engine.

Text modules are written by administrators and may be pasted from anywhere, so they
are treated as data: ``{{ name }}`` is replaced when ``name`` is one of the fixed
placeholders below and left exactly as written otherwise. Nothing else in the text
has a meaning (``{% load %}``, ``{{ settings.SECRET_KEY }}``, filters stay literal),
and replaced values are never scanned again, so a citizen called ``{{ agent.email }}``
stays that name.
"""

from __future__ import annotations

import re

from django.utils import formats, timezone

from vorgang.accounts.models import User
from vorgang.tickets.models import Ticket

# ``{{ citizen.name }}``; the name is a dotted word, optional blanks inside the braces.
PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)?)\s*\}\}")

NAMES = (
    "citizen.name",
    "citizen.first_name",
    "citizen.last_name",
    "citizen.email",
    "case.number",
    "case.title",
    "service.name",
    "agent.name",
    "agent.first_name",
    "agent.last_name",
    "agent.email",
    "department.name",
    "department.email",
    "today",
)


def citizen_language(ticket: Ticket) -> str:
    citizen = ticket.citizen
    return "en" if citizen is not None and citizen.language == "en" else "de"


def values_for(ticket: Ticket, agent: User) -> dict[str, str]:
    """The placeholder values for ``ticket`` as ``agent`` writes (empty where unknown)."""
    citizen = ticket.citizen
    service = ticket.service
    language = citizen_language(ticket)
    service_name = ""
    if service is not None:
        service_name = (service.name_en if language == "en" else "") or service.name_de
    department = ticket.department
    return {
        "citizen.name": citizen.get_full_name().strip() or citizen.email if citizen else "",
        "citizen.first_name": citizen.first_name if citizen else "",
        "citizen.last_name": citizen.last_name if citizen else "",
        "citizen.email": citizen.email if citizen else "",
        "case.number": ticket.number,
        "case.title": ticket.title,
        "service.name": service_name,
        "agent.name": agent.get_full_name().strip() or agent.username,
        "agent.first_name": agent.first_name,
        "agent.last_name": agent.last_name,
        "agent.email": agent.email,
        "department.name": department.name,
        "department.email": department.email_address,
        "today": formats.date_format(timezone.localdate(), "SHORT_DATE_FORMAT"),
    }


def render(text: str, values: dict[str, str]) -> str:
    """``text`` with the known placeholders replaced in one pass; the rest unchanged."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        return values[name] if name in values else match.group(0)

    return PLACEHOLDER.sub(replace, text or "")
