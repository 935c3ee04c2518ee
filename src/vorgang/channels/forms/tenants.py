"""Which tenant a citizen-facing request belongs to."""

from __future__ import annotations

from django.core.exceptions import DisallowedHost
from django.http import HttpRequest

from vorgang.accounts.models import Tenant
from vorgang.core.middleware import path_tenant


def request_host(request: HttpRequest) -> str:
    """The host the citizen asked for, lower case, with the port if there is one."""
    try:
        return request.get_host().lower()
    except DisallowedHost:
        return ""


def explicit_tenant(request: HttpRequest) -> Tenant | None:
    """The tenant the address names: by its path prefix (``/t/<slug>/``, see
    ``core.middleware.TenantPathMiddleware``) or its own host name; None on the shared
    host name without a prefix."""
    return path_tenant(request) or Tenant.for_host(request_host(request))


def tenant_for_request(request: HttpRequest) -> Tenant:
    """The tenant of the path prefix or the host name, else the default tenant.

    A tenant's host may be written with or without a port (``formulare.stadt.example``
    or ``formulare.stadt.example:8443``); both match.
    """
    return explicit_tenant(request) or Tenant.default()
