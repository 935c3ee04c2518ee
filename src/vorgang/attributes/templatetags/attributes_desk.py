"""The case view's attribute section (``{% case_attributes %}``): set values and edit form."""

from __future__ import annotations

from typing import Any

from django import template

from ..desk import case_context

register = template.Library()


@register.inclusion_tag("attributes/desk_case.html", takes_context=True)
def case_attributes(context: template.Context) -> dict[str, Any]:
    ticket = context["ticket"]
    section = case_context(
        ticket,
        errors=context.get("attribute_errors"),
        posted=context.get("attribute_posted"),
    )
    return {
        **section,
        "ticket": ticket,
        "can_change": bool(context.get("can_change")),
        "csrf_token": context.get("csrf_token"),
    }
