"""Error pages in plain language (German or English), for the whole site.

``conf/urls.py`` points Django's handler400/403/404/500 here; desk views use the
same pages for ServiceErrors (see ``common.service_error_page``).
"""

from __future__ import annotations

import logging
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template import loader
from django.utils import translation
from django.utils.functional import Promise
from django.utils.html import escape
from django.utils.translation import gettext_lazy as _

log = logging.getLogger(__name__)

_PAGES: dict[int, tuple[Promise, Promise]] = {
    400: (
        _("The request could not be understood"),
        _("Something was wrong with the request. Please go back and try again."),
    ),
    403: (
        _("Access denied"),
        _("You may not open this page. If you think you should, please ask your administrator."),
    ),
    404: (
        _("Page not found"),
        _(
            "This page does not exist, or you may not see it. "
            "Please check the address or go back to the overview."
        ),
    ),
    422: (
        _("This could not be done"),
        _("The request could not be carried out. Nothing was changed."),
    ),
    500: (
        _("Something went wrong on our side"),
        _(
            "The page could not be shown because of an error in the system. "
            "Everything that was saved before is kept. Please try again later."
        ),
    ),
}


def render_error(
    request: HttpRequest | None,
    status: int,
    *,
    title: str | None = None,
    message: str | None = None,
    extra: dict[str, Any] | None = None,
) -> HttpResponse:
    default_title, default_message = _PAGES.get(status, _PAGES[400])
    context: dict[str, Any] = {
        "status": status,
        "title": title or default_title,
        "message": message or default_message,
        "LANGUAGE_CODE": translation.get_language() or "de",
        **(extra or {}),
    }
    try:
        if request is not None and status != 500:
            return render(request, "desk/error.html", context, status=status)
        # A 500 may come from a broken database or session: render without the
        # request, so no context processor touches either.
        html = loader.get_template("desk/error.html").render(context)
        return HttpResponse(html, status=status)
    except Exception:  # the error page must never fail
        log.exception("could not render the error page for status %s", status)
        plain = f"<!doctype html><title>{status}</title><h1>{escape(str(context['title']))}</h1>"
        return HttpResponse(plain, status=status)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render_error(request, 400)


def forbidden(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render_error(request, 403)


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render_error(request, 404)


def server_error(request: HttpRequest) -> HttpResponse:
    return render_error(request, 500)
