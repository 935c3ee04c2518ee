"""Template helpers of the case view's working tools: ``{% load case_tools %}``.

The case view (``views/cases.render_case``) builds the articles and the history;
these tags add what the timeline, the citizen panel, the reply form and the tools
in the side bar need, each read through the selectors (so the walls hold).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django import template
from django.utils.html import json_script
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy

from vorgang.accounts import access
from vorgang.accounts.models import AccessLevel, Department, User
from vorgang.channels.email import outbound
from vorgang.core.errors import NotFound
from vorgang.macros import rendering
from vorgang.macros import selectors as macro_selectors
from vorgang.tickets import selectors
from vorgang.tickets.models import Article, Attachment, LinkKind, Ticket

from ..quoting import Segment, split_quotes
from ..views.case_tools import preview_kind

register = template.Library()

# History entries that the timeline leaves out: the articles show themselves, and the
# delivery steps are on the article (full history on demand keeps them all).
QUIET_ACTIONS = {"article_added", "delivery"}
SPLIT_ACTIONS = {
    "split_to": gettext_lazy("message split off into case"),
    "split_from": gettext_lazy("opened with a message of case"),
}
OTHER_CASES = 10


@dataclass
class TimelineEntry:
    at: datetime
    view: Any = None  # cases.ArticleView for an article
    event: dict[str, Any] | None = None  # a row of cases.history_rows for a system event
    segments: list[Segment] = field(default_factory=list)
    files: list[tuple[Attachment, str]] = field(default_factory=list)  # (file, preview kind)

    @property
    def is_article(self) -> bool:
        return self.view is not None


def _user(context: template.Context) -> User | None:
    request = context.get("request")
    user = getattr(request, "user", None)
    return user if isinstance(user, User) else None


@register.simple_tag(takes_context=True)
def case_timeline(context: template.Context) -> list[TimelineEntry]:
    """Articles and system events of the case in one list, oldest first."""
    entries: list[TimelineEntry] = []
    for view in context.get("articles") or []:
        article: Article = view.article
        entries.append(
            TimelineEntry(
                at=article.created_at,
                view=view,
                segments=split_quotes(view.text),
                files=[(a, preview_kind(a)) for a in view.attachments],
            )
        )
    for row in context.get("history") or []:
        if row["entry"].action in QUIET_ACTIONS:
            continue
        if row["entry"].action in SPLIT_ACTIONS:
            row = {**row, "action": SPLIT_ACTIONS[row["entry"].action], "field": ""}
        entries.append(TimelineEntry(at=row["entry"].created_at, event=row))
    # Stable: at the same instant an event follows the article (it usually describes it).
    entries.sort(key=lambda e: (e.at, 0 if e.is_article else 1))
    return entries


@register.simple_tag(takes_context=True)
def citizen_panel(context: template.Context) -> dict[str, Any]:
    """The case's citizen and their other cases that the agent may see."""
    ticket: Ticket = context["ticket"]
    user = _user(context)
    citizen = ticket.citizen
    if citizen is None or user is None:
        return {"citizen": None, "other_cases": [], "more": 0}
    others = (
        selectors.visible_tickets(user, AccessLevel.READ)
        .filter(citizen=citizen)
        .exclude(pk=ticket.pk)
        .select_related("state", "department")
        .order_by("-created_at", "-pk")
    )
    shown = list(others[: OTHER_CASES + 1])
    return {
        "citizen": citizen,
        "trust": citizen.get_trust_level_display(),
        "other_cases": shown[:OTHER_CASES],
        "more": len(shown) > OTHER_CASES,
    }


@register.simple_tag(takes_context=True)
def case_tools(context: template.Context) -> dict[str, Any]:
    """Choices for the side bar's tools: departments to hand over to, macros, link kinds."""
    ticket: Ticket = context["ticket"]
    user = _user(context)
    if user is None:
        return {}
    departments = Department.objects.filter(
        tenant_id=ticket.tenant_id,
        active=True,
        pk__in=access.departments_with(user, AccessLevel.CREATE),
    ).exclude(pk=ticket.department_id)
    return {
        "departments": list(departments.order_by("name")),
        "macros": list(macro_selectors.macros(user, ticket)),
        "link_kinds": [(k.value, k.label) for k in LinkKind],
    }


@register.simple_tag(takes_context=True)
def text_module_data(context: template.Context) -> SafeString:
    """The text modules offered on this case, filled in for it, as a JSON script element."""
    ticket: Ticket = context["ticket"]
    user = _user(context)
    modules: list[dict[str, Any]] = []
    if user is not None:
        language = rendering.citizen_language(ticket)
        values = rendering.values_for(ticket, user)
        modules = [
            {
                "id": m.pk,
                "name": m.name,
                "keywords": m.keywords,
                "text": rendering.render(m.body_for(language), values),
            }
            for m in macro_selectors.text_modules(user, ticket)
        ]
    return json_script(modules, "desk-text-modules")


@register.simple_tag(takes_context=True)
def reply_target(context: template.Context) -> dict[str, Any] | None:
    """The article a reply answers (``?reply_to=`` or the refilled form) and its quote."""
    ticket: Ticket = context["ticket"]
    user = _user(context)
    request = context.get("request")
    posted = context.get("posted") or {}
    wanted = posted.get("reply_to") or (request.GET.get("reply_to") if request else None)
    if not wanted or user is None:
        return None
    try:
        article = selectors.get_article(user, wanted)
    except NotFound:
        return None
    if article.ticket_id != ticket.pk or article.internal:
        return None
    return {
        "article": article,
        "quote": outbound.quote(article, rendering.citizen_language(ticket)),
    }
