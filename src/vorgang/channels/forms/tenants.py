"""Which tenant a citizen-facing request belongs to."""

from __future__ import annotations

from django.core.exceptions import DisallowedHost
from django.db.models import Q
from django.http import HttpRequest

from vorgang.accounts.models import Tenant


def request_host(request: HttpRequest) -> str:
    """The host the citizen asked for, lower case, with the port if there is one."""
    try:
        return request.get_host().lower()
    except DisallowedHost:
        return ""


def tenant_for_request(request: HttpRequest) -> Tenant:
    """The tenant whose ``host`` matches the request's host name, else the default tenant.

    A tenant's host may be written with or without a port (``formulare.stadt.example``
    or ``formulare.stadt.example:8443``); both match.
    """
    host = request_host(request)
    if not host:
        return Tenant.default()
    name, colon, port = host.rpartition(":")
    if not (colon and port.isdigit() and not name.endswith(":")):
        name = host  # no port (or a bare IPv6 address)
    found = (
        Tenant.objects.exclude(host="")
        .filter(Q(host__iexact=host) | Q(host__iexact=name))
        .order_by("pk")
        .first()
    )
    return found or Tenant.default()
