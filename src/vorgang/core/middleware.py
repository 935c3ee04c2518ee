from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse
from django.urls import get_script_prefix, set_script_prefix
from django.utils import translation

if TYPE_CHECKING:
    from vorgang.accounts.models import Tenant


API_PREFIX = "/api/"


class UserLanguageMiddleware:
    """Use the signed-in user's chosen language, else the browser's, else the default
    (English for API requests without Accept-Language).

    Runs after the session middleware and before authentication, so it reads the
    user lazily through the session; the language stays German unless someone asks.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.supported = {code for code, _ in settings.LANGUAGES}

    def __call__(self, request: HttpRequest) -> HttpResponse:
        language = request.session.get("language") if hasattr(request, "session") else None
        if language not in self.supported:
            if (
                request.path_info.startswith(API_PREFIX)
                and "accept-language" not in request.headers
            ):
                # API clients rarely send Accept-Language; like Zammad, answer them in English.
                language = "en"
            else:
                language = translation.get_language_from_request(request)
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", request.LANGUAGE_CODE)
        translation.deactivate()
        return response


# --- tenants on a path prefix: /t/<slug>/s/<service>/, /t/<slug>/c/<token>/ ----------------------

# "t" is accounts.models.CITIZEN_PATH_PREFIX (not imported: models load after middleware).
TENANT_PATH = re.compile(r"^/t/(?P<slug>[-a-zA-Z0-9_]{1,60})(?P<rest>/[sc]/.*)$")


class TenantPathMiddleware:
    """Serve a tenant's citizen pages (hosted forms ``s/``, case pages ``c/``) under ``/t/<slug>/``.

    Where one instance serves several tenants on one host name, each tenant without
    its own host name gets the prefix (``Tenant.citizen_prefix``). The middleware takes
    the prefix off ``path_info`` so the ordinary URL patterns match, notes the tenant as
    ``request.path_tenant`` (the views show that tenant's services, name, logo and legal
    notices, and refuse other tenants' case pages), and makes it the script prefix for
    the request, so every ``reverse()`` and ``{% url %}`` on the page (form posts,
    redirects, the language switch) stays under the prefix. ``request.path`` keeps the
    full address.

    An unknown slug, a path other than ``s/`` or ``c/``, or a prefix naming another
    tenant than the one whose own host name was asked for is left alone: no URL
    pattern matches, so the answer is 404. Absolute links in mails are built with
    :func:`unprefixed` and the tenant's ``citizen_base_url``, never from a request.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        match = TENANT_PATH.match(request.path_info)
        tenant = self._tenant(request, match["slug"]) if match else None
        if match is None or tenant is None:
            return self.get_response(request)
        before = get_script_prefix()
        request.path_tenant = tenant  # type: ignore[attr-defined]
        request.path_info = match["rest"]
        set_script_prefix(f"{before.rstrip('/')}/t/{tenant.slug}/")
        try:
            return self.get_response(request)
        finally:
            set_script_prefix(before)

    @staticmethod
    def _tenant(request: HttpRequest, slug: str) -> Tenant | None:
        from vorgang.accounts.models import Tenant

        tenant = Tenant.objects.filter(slug=slug).first()
        if tenant is None:
            return None
        try:
            host = request.get_host()
        except DisallowedHost:
            return None
        by_host = Tenant.for_host(host)
        if by_host is not None and by_host.pk != tenant.pk:
            return None  # tenant B's prefix on tenant A's own host name
        return tenant


def path_tenant(request: HttpRequest) -> Tenant | None:
    """The tenant named by the request's path prefix, if it had one."""
    from vorgang.accounts.models import Tenant

    found = getattr(request, "path_tenant", None)
    return found if isinstance(found, Tenant) else None


@contextmanager
def unprefixed() -> Iterator[None]:
    """``reverse()`` without a tenant's path prefix, for absolute links (e.g. in mails)
    that are built while a prefixed request is running and must not carry its prefix."""
    before = get_script_prefix()
    set_script_prefix("/")
    try:
        yield
    finally:
        set_script_prefix(before)
