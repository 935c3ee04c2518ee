"""API authentication: ``Authorization: Token token=<secret>`` (Zammad's scheme)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.security import APIKeyHeader

from vorgang.accounts.models import ApiToken


class TokenAuth(APIKeyHeader):
    """Accepts ``Token token=<secret>`` and, as Zammad does, ``Token <secret>``."""

    param_name = "Authorization"
    openapi_description = "Authorization: Token token=<API token from `vorgang api-token`>"

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        if not key:
            return None
        scheme, _sep, rest = key.strip().partition(" ")
        if scheme.lower() != "token" or not rest:
            return None
        rest = rest.strip()
        secret = rest[len("token=") :] if rest.lower().startswith("token=") else rest
        secret = secret.strip().strip('"')
        if not secret:
            return None
        user = ApiToken.authenticate(secret)
        if user is None:
            return None
        request.user = user
        return user
