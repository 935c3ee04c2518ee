"""REST API v1, mounted at /api/v1 (Zammad-compatible paths and shapes).

Endpoints stay thin: they call tickets.services and the selectors, as the UI does.
Every answer that is not a success has Zammad's error body ``{"error", "error_human"}``:
service errors (404/403/422), authentication (401), unknown paths (404), a method a
path does not have (405), a body over ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (413).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.exceptions import (
    RequestDataTooBig,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.urls import URLPattern, URLResolver
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Router
from ninja.errors import AuthenticationError, HttpError, ValidationError

from vorgang.core.errors import ServiceError

from .auth import API_AUTH, basic_auth_enabled


class VorgangAPI(NinjaAPI):
    """Ninja, with JSON instead of Ninja's plain-text 405 answer."""

    def _get_urls(self) -> list[URLResolver | URLPattern]:
        patterns = super()._get_urls()
        for pattern in patterns:
            if isinstance(pattern, URLPattern):
                pattern.callback = _json_405(pattern.callback)
        return patterns


def _json_405(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        response = view(request, *args, **kwargs)
        if response.status_code != 405 or "json" in response.get("Content-Type", ""):
            return response
        allowed = response.get("Allow", "")
        answer = error_body(
            405,
            "method not allowed",
            _("This path does not take %(method)s; it takes %(allowed)s.")
            % {"method": request.method, "allowed": allowed or "-"},
        )
        answer["Allow"] = allowed
        return answer

    wrapped.csrf_exempt = True  # type: ignore[attr-defined]  # as Ninja's own views
    return wrapped


api = VorgangAPI(
    title="Vorgang API",
    version="1",
    description="Case API for citizen services; paths and shapes follow Zammad's REST API.",
    auth=API_AUTH,
    urls_namespace="api-v1",
    docs_url=None,
)


def error_body(status: int, error: str, human: str) -> HttpResponse:
    import json

    return HttpResponse(
        json.dumps({"error": error, "error_human": human}),
        status=status,
        content_type="application/json; charset=utf-8",
    )


def _error(request: HttpRequest, status: int, error: str, human: str) -> HttpResponse:
    return api.create_response(request, {"error": error, "error_human": human}, status=status)


@api.exception_handler(AuthenticationError)
def _unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    human = exc.message if exc.message != "Unauthorized" else ""
    response = _error(
        request,
        401,
        "authentication failed",
        human or _("Missing or invalid credentials (API token, password or bearer token)."),
    )
    if basic_auth_enabled():
        response["WWW-Authenticate"] = 'Basic realm="Vorgang API", charset="UTF-8"'
    return response


@api.exception_handler(ServiceError)
def _service_error(request: HttpRequest, exc: ServiceError) -> HttpResponse:
    return _error(request, exc.status, _ERRORS.get(exc.status, "error"), exc.message)


_ERRORS = {403: "forbidden", 404: "not found", 413: "too large", 422: "invalid request"}


@api.exception_handler(ValidationError)
def _invalid(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    details = "; ".join(
        f"{'.'.join(str(p) for p in e.get('loc', []))}: {e.get('msg', '')}" for e in exc.errors
    )
    return _error(request, 422, "invalid request", details or _("The request is not valid."))


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return _error(request, exc.status_code, str(exc), str(exc))


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return _error(request, 404, "not found", _("Not found."))


@api.exception_handler(RequestDataTooBig)
def _too_big(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
    return _error(request, 413, "too large", _("The request body is too large."))


@api.exception_handler(TooManyFieldsSent)
@api.exception_handler(TooManyFilesSent)
def _too_many(request: HttpRequest, exc: Exception) -> HttpResponse:
    return _error(request, 413, "too large", _("The request has too many fields or files."))


api.add_router("/services", "vorgang.api.services.router")
# Zammad's paths have no common prefix (/tickets, /ticket_articles, /ticket_merge, ...),
# so each module mounts at the root of /api/v1 and names its full paths.
for _module in (
    "tickets",  # /tickets, /tickets/search, /ticket_merge, /ticket_history
    "articles",  # /ticket_articles, /ticket_article_plain, /ticket_attachment
    "directory",  # /users, /organizations, /groups, /roles
    "reference",  # /ticket_states, /ticket_priorities
    "tags",  # /tags, /tags/add, /tags/remove, /tag_search
    "links",  # /links, /links/add, /links/remove
    "notifications",  # /online_notifications
    "attributes",  # /object_manager_attributes
    "webhooks",  # /webhooks (Vorgang's own)
):
    api.add_router("", f"vorgang.api.{_module}.router")


# Last of all: any other path under /api/v1 is a JSON 404 (not the desk's HTML page).
# No authentication, so that a wrong path is told apart from wrong credentials.
_unknown = Router()

ALL_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


@_unknown.api_operation(ALL_METHODS, "/{path:path}", auth=None, include_in_schema=False)
def unknown_path(request: HttpRequest, path: str) -> HttpResponse:
    return _error(request, 404, "not found", _("There is no API endpoint at this path."))


api.add_router("", _unknown)
