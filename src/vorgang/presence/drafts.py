"""Drafts of the reply and note forms: saved while the agent types, gone once sent.

Only agents who may change the case keep drafts (only they see the forms); a draft
belongs to one agent and is never shown to anyone else.
"""

from __future__ import annotations

from typing import Any

from vorgang.accounts import access
from vorgang.accounts.models import AccessLevel, User
from vorgang.core.errors import InvalidInput, PermissionDenied
from vorgang.tickets.models import Ticket

from .models import Draft, DraftKind

# The form fields a draft keeps, per form; anything else posted is ignored.
DRAFT_FIELDS: dict[str, tuple[str, ...]] = {
    DraftKind.REPLY: ("to", "cc", "text", "quote"),
    DraftKind.NOTE: ("body",),
}
MAX_FIELD = 100_000  # the longest reply text the desk accepts


def _check(user: User, ticket: Ticket, kind: str) -> None:
    if kind not in DRAFT_FIELDS:
        raise InvalidInput(f"unknown draft kind {kind!r}")
    if not (
        user.is_active
        and user.is_agent
        and user.tenant_id == ticket.tenant_id
        and access.has_level(user, ticket.department_id, AccessLevel.CHANGE)
    ):
        raise PermissionDenied("change access needed for drafts")


def clean_fields(kind: str, data: Any) -> dict[str, str]:
    """The known fields of ``data`` as strings; too long a value is refused."""
    cleaned: dict[str, str] = {}
    for name in DRAFT_FIELDS.get(kind, ()):
        value = data.get(name, "") if hasattr(data, "get") else ""
        value = value if isinstance(value, str) else ""
        if len(value) > MAX_FIELD:
            raise InvalidInput("draft field too long")
        cleaned[name] = value
    return cleaned


def save(user: User, ticket: Ticket, kind: str, data: Any) -> Draft | None:
    """Keep what the form holds; an empty form deletes the draft (returns None)."""
    _check(user, ticket, kind)
    fields = clean_fields(kind, data)
    if not any(v.strip() for k, v in fields.items() if k not in ("to", "quote")):
        delete(user, ticket.pk, kind)
        return None
    draft, _created = Draft.objects.update_or_create(
        user=user,
        ticket=ticket,
        kind=kind,
        defaults={"tenant_id": ticket.tenant_id, "fields": fields},
    )
    return draft


def get(user: User, ticket: Ticket, kind: str) -> Draft | None:
    if kind not in DRAFT_FIELDS:
        return None
    return Draft.objects.filter(
        user=user, ticket=ticket, kind=kind, tenant_id=user.tenant_id
    ).first()


def all_for(user: User, ticket: Ticket) -> dict[str, dict[str, str]]:
    """The user's drafts on the case by form: ``{"reply": {...}, "note": {...}}``."""
    if not (user.is_active and user.is_agent):
        return {}
    return {
        d.kind: {k: str(v) for k, v in d.fields.items()}
        for d in Draft.objects.filter(user=user, ticket=ticket, tenant_id=user.tenant_id)
    }


def delete(user: User | int, ticket_id: int, kind: str) -> None:
    user_id = user if isinstance(user, int) else user.pk
    Draft.objects.filter(user_id=user_id, ticket_id=ticket_id, kind=kind).delete()
