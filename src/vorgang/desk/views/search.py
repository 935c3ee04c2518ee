"""The header search box's results: number, citizen e-mail or name, words in titles and texts.

The engine (vorgang.search) draws the permission wall inside its SQL; the cases it
returns are loaded again through ``tickets.selectors.visible_tickets``, so a page can
never show a case the agent may not list, whatever the index holds.
"""

from __future__ import annotations

from typing import Any

import nh3
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET

from vorgang.accounts.models import AccessLevel
from vorgang.search.engine import search as run_search  # the one line naming the engine
from vorgang.tickets import selectors

from .common import current_user, desk_view

PER_PAGE = 20
MAX_QUERY = 500


@desk_view
@require_GET
def search(request: HttpRequest) -> HttpResponse:
    user = current_user(request)
    query = request.GET.get("q", "").strip()[:MAX_QUERY]
    context: dict[str, Any] = {"q": query, "rows": [], "result": None, "nav": "search"}
    if not query:
        return TemplateResponse(request, "desk/search.html", context)
    # A case number typed exactly opens the case, as agents expect from a number.
    exact = (
        selectors.visible_tickets(user, AccessLevel.READ)
        .filter(number=query)
        .values_list("pk", flat=True)
        .first()
    )
    if exact is not None and request.GET.get("list") != "1":
        return HttpResponseRedirect(reverse("desk:case", args=[exact]))
    result = run_search(user, query, page=_page(request), per_page=PER_PAGE)
    ids = [hit.ticket_id for hit in result.hits]
    tickets = (
        selectors.visible_tickets(user)
        .filter(pk__in=ids)
        .select_related("state", "department", "citizen")
        .in_bulk()
    )
    context["rows"] = [
        {"ticket": tickets[hit.ticket_id], "snippet": _safe_snippet(hit.snippet_html)}
        for hit in result.hits
        if hit.ticket_id in tickets
    ]
    context["result"] = result
    pages = max(1, -(-result.total // PER_PAGE))
    context["pages"] = pages
    links: dict[str, str] = {}
    if result.page > 1:
        links["previous"] = _link(query, result.page - 1)
    # An estimated total ("about N") cannot say where the last page is: go on while
    # pages come back full.
    more = len(result.hits) == PER_PAGE if not result.total_exact else result.page < pages
    if more:
        links["next"] = _link(query, result.page + 1)
    context["page_links"] = links
    status = 422 if result.error is not None and result.error.code != "empty" else 200
    return TemplateResponse(request, "desk/search.html", context, status=status)


def _page(request: HttpRequest) -> int:
    value = request.GET.get("page", "1")
    return int(value) if value.isdigit() and int(value) > 0 else 1


def _link(query: str, page: int) -> str:
    return "?" + urlencode({"q": query, "page": str(page)})


def _safe_snippet(snippet_html: str) -> str:
    """The engine promises escaped text with <mark> only; keep exactly that, nothing more."""
    return mark_safe(nh3.clean(snippet_html or "", tags={"mark"}, attributes={}))  # noqa: S308
