"""The bell in the desk header: ``{% notification_bell %}``."""

from __future__ import annotations

from typing import Any

from django import template

from vorgang.accounts.models import User

from .. import selectors

register = template.Library()


def bell_context(user: Any) -> dict[str, Any]:
    shown = isinstance(user, User) and user.is_authenticated and user.is_agent
    return {"shown": shown, "unread": selectors.unseen_count(user) if shown else 0}


@register.inclusion_tag("desk/_bell.html", takes_context=True)
def notification_bell(context: template.Context) -> dict[str, Any]:
    return bell_context(context.get("user"))
