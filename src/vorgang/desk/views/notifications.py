"""The bell's page: the agent's notifications, each linking to its case; mark read."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from vorgang.notifications import selectors
from vorgang.notifications import services as notifications
from vorgang.notifications.templatetags.notifications_desk import bell_context

from .common import current_user, desk_view

PAGE_SIZE = 25


@desk_view
@require_GET
def notification_list(request: HttpRequest) -> HttpResponse:
    user = current_user(request)
    paginator = Paginator(selectors.for_user(user), PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    return TemplateResponse(
        request,
        "desk/notifications.html",
        {
            "page": page,
            "paginator": paginator,
            "unread": selectors.unseen_count(user),
            "nav": "notifications",
        },
    )


@desk_view
@require_GET
def bell(request: HttpRequest) -> HttpResponse:
    """The bell alone, polled by htmx so the count stays current."""
    return TemplateResponse(request, "desk/_bell.html", bell_context(current_user(request)))


@desk_view
@require_POST
def mark_read(request: HttpRequest, pk: int) -> HttpResponse:
    user = current_user(request)
    seen = request.POST.get("seen", "1") != "0"
    notifications.mark_seen(user, pk, seen)  # NotFound (not the user's): the 404 page
    messages.success(request, _("Marked as read.") if seen else _("Marked as unread."))
    return _back(request)


@desk_view
@require_POST
def mark_all_read(request: HttpRequest) -> HttpResponse:
    changed = notifications.mark_all_seen(current_user(request))
    messages.success(
        request,
        ngettext(
            "%(count)d notification marked as read.",
            "%(count)d notifications marked as read.",
            changed,
        )
        % {"count": changed},
    )
    return _back(request)


def _back(request: HttpRequest) -> HttpResponse:
    page = request.POST.get("page", "")
    target = reverse("desk:notifications")
    if page.isdigit() and page != "1":
        target += f"?page={page}"
    return HttpResponseRedirect(target)
