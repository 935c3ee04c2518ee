"""The live case view: presence heartbeats, "changed since" polling, drafts, nav counts.

All small endpoints polled by htmx (or live.js) every few seconds, so each answers
with a handful of indexed queries and no page render unless something changed.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from vorgang.accounts.models import User
from vorgang.notifications.models import OnlineNotification
from vorgang.presence import drafts
from vorgang.presence import services as presence
from vorgang.tickets import selectors
from vorgang.tickets.models import Article, History, SenderKind, Ticket

from .common import current_user, desk_view

MAX_ENTRIES = 200  # history entries summarised per answer; more just say "changed"


@desk_view
@require_POST
def heartbeat(request: HttpRequest, pk: int) -> HttpResponse:
    """The agent has the case open (and maybe writes): renew, answer who else is there."""
    user = current_user(request)
    ticket = selectors.get_ticket(user, pk)
    presence.heartbeat(user, ticket, request.POST.get("writing", ""))
    # Having the case open is reading its news: the bell stops counting them.
    OnlineNotification.objects.filter(user=user, ticket=ticket, seen=False).update(seen=True)
    return TemplateResponse(
        request,
        "desk/_presence_list.html",
        {"others": presence.others(user, ticket), "ticket": ticket},
    )


@desk_view
@require_POST
def leave(request: HttpRequest, pk: int) -> HttpResponse:
    """The tab closed (sent by navigator.sendBeacon); the others stop seeing the agent."""
    presence.leave(current_user(request), pk)
    return HttpResponse(status=204)


@desk_view
@require_GET
def changes(request: HttpRequest, pk: int) -> HttpResponse:
    """204 if nothing happened since history entry ``since``; else the new poller and a summary."""
    user = current_user(request)
    ticket = selectors.get_ticket(user, pk)
    try:
        since = int(request.GET.get("since", ""))
    except ValueError:
        return HttpResponseBadRequest(_("“since” must be a number."))
    entries = list(
        History.objects.filter(ticket=ticket, seq__gt=since)
        .select_related("actor")
        .order_by("seq")[:MAX_ENTRIES]
    )
    if not entries:
        return HttpResponse(status=204)
    version = (
        History.objects.filter(ticket=ticket).order_by("-seq").values_list("seq", flat=True)[0]
    )
    return TemplateResponse(
        request,
        "desk/_live_poller.html",
        {"ticket": ticket, "version": version, "summary": summarise(user, ticket, entries)},
    )


def summarise(user: User, ticket: Ticket, entries: list[History]) -> str:
    """One sentence or a few on what changed, for the screen reader and the status line."""
    article_ids = []
    for entry in entries:
        if entry.action == "article_added":
            _kind, _sep, pk = entry.new_value.partition(":")
            if pk.isdigit():
                article_ids.append(int(pk))
    articles = Article.objects.filter(ticket=ticket, pk__in=article_ids).select_related(
        "created_by"
    )
    from_citizen = sum(1 for a in articles if a.sender == SenderKind.CITIZEN)
    notes = sum(1 for a in articles if a.internal and a.sender != SenderKind.CITIZEN)
    others = len(article_ids) - from_citizen - notes
    parts: list[str] = []
    if from_citizen:
        parts.append(
            ngettext(
                "New message from the citizen.",
                "%(count)d new messages from the citizen.",
                from_citizen,
            )
            % {"count": from_citizen}
        )
    if notes:
        parts.append(
            ngettext("New internal note.", "%(count)d new internal notes.", notes)
            % {"count": notes}
        )
    if others > 0:
        parts.append(
            ngettext("New message.", "%(count)d new messages.", others) % {"count": others}
        )
    if any(e.action == "updated" and e.field == "state" for e in entries):
        parts.append(_("State changed to %(state)s.") % {"state": ticket.state})
    if any(e.action == "updated" and e.field == "owner" for e in entries):
        owner = ticket.owner.display_name if ticket.owner else _("nobody")
        parts.append(_("Owner changed to %(owner)s.") % {"owner": owner})
    if not parts:
        parts.append(_("The case was changed."))
    return " ".join(parts)


@desk_view
@require_POST
def save_draft(request: HttpRequest, pk: int, kind: str) -> HttpResponse:
    """Keep what the agent typed into the reply or note form (called as they type)."""
    user = current_user(request)
    ticket = selectors.get_ticket(user, pk)
    if kind not in drafts.DRAFT_FIELDS:
        return HttpResponseBadRequest(_("Unknown form."))
    draft = drafts.save(user, ticket, kind, request.POST)
    return HttpResponse(status=201 if draft is not None else 204)


NAV_TEMPLATE = "desk/_nav.html"


@desk_view
@require_GET
def nav_counts(request: HttpRequest) -> HttpResponse:
    """The overview navigation with fresh counts, for polling (live.js, ``[data-live-nav]``).

    The overviews own the navigation: this renders their ``desk/_nav.html`` with the
    context ``overviews.overview_nav`` builds; 204 (nothing to show) for an unknown one.
    """
    from .overviews import overview_nav

    nav = overview_nav(current_user(request), request.GET.get("current", ""))
    if nav is None:
        return HttpResponse(status=204)
    context = {"overview_nav": nav}
    return TemplateResponse(request, NAV_TEMPLATE, context)
