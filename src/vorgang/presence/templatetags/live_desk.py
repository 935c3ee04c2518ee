"""The live parts of the case view: ``{% case_live ticket can_change %}``.

Renders who else is on the case, the poller that notices changes, the status region
that announces them, and the agent's saved drafts for live.js to put back.
"""

from __future__ import annotations

from typing import Any

from django import template

from vorgang.accounts.models import User
from vorgang.tickets.models import History, Ticket

from .. import drafts

register = template.Library()


def version_of(ticket: Ticket) -> int:
    """The case's newest history entry number: it grows with every change to the case."""
    seq = (
        History.objects.filter(ticket_id=ticket.pk)
        .order_by("-seq")
        .values_list("seq", flat=True)
        .first()
    )
    return int(seq or 0)


@register.inclusion_tag("desk/_presence.html", takes_context=True)
def case_live(
    context: template.Context, ticket: Ticket, can_change: bool = False
) -> dict[str, Any]:
    user = context.get("user")
    own_drafts = drafts.all_for(user, ticket) if isinstance(user, User) and can_change else {}
    return {
        "ticket": ticket,
        "version": version_of(ticket),
        "drafts": own_drafts,
        "can_change": can_change,
        "csrf_token": context.get("csrf_token"),
        "user": user,
    }
