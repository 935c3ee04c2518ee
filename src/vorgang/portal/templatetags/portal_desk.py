"""The case view's box of requests for information (``{% information_requests ticket can_change %}``)."""

from __future__ import annotations

from typing import Any

from django import template

from vorgang.tickets.models import Ticket

from ..documents import service_documents
from ..models import InformationRequest

register = template.Library()


@register.inclusion_tag("portal/desk_requests.html")
def information_requests(ticket: Ticket, can_change: bool = False) -> dict[str, Any]:
    from ..information import document_status

    names = {d.key: d.name for d in service_documents(ticket.service)}
    requests = [
        {
            "request": r,
            "documents": [names.get(k, k) for k in r.documents or []],
        }
        for r in InformationRequest.objects.filter(ticket=ticket)
        .select_related("created_by")
        .order_by("-created_at", "-pk")
    ]
    return {
        "ticket": ticket,
        "can_change": can_change,
        "requests": requests,
        "documents": document_status(ticket),
        "has_citizen": ticket.citizen_id is not None,
    }


@register.inclusion_tag("portal/desk_links.html", takes_context=True)
def case_page_links(
    context: template.Context, ticket: Ticket, can_change: bool = False
) -> dict[str, Any]:
    """The case view's box of case page links: how many work, and the button to revoke them."""
    from vorgang.core import clock

    from ..links import cases_shown_as
    from ..models import CaseLink

    working = CaseLink.objects.filter(
        ticket_id__in=cases_shown_as(ticket.pk),
        revoked_at__isnull=True,
        expires_at__gt=clock.now(),
    )
    last_used = (
        working.exclude(last_used_at__isnull=True)
        .order_by("-last_used_at")
        .values_list("last_used_at", flat=True)
        .first()
    )
    return {
        "ticket": ticket,
        "can_change": can_change,
        "working": working.count(),
        "last_used": last_used,
        "has_citizen": ticket.citizen_id is not None,
        "csrf_token": context.get("csrf_token"),
    }
