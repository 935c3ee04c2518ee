"""API authentication: the schemes Zammad clients use, and acting on behalf of another user.

- ``Authorization: Token token=<secret>`` (and ``Token <secret>``): API tokens from
  ``vorgang api-token`` or the settings page; expired, revoked or inactive -> 401.
- ``Authorization: Basic ...``: login name or e-mail address and password. On by
  default as in Zammad; ``VORGANG_API_BASIC_AUTH=0`` switches it off (then 401 with a
  message saying so, so nobody hunts for a wrong password).
- ``Authorization: Bearer <access token>``: an OAuth2/OIDC access token, only where
  ``VORGANG_OIDC_USERINFO_URL`` is set. The token is checked by asking the identity
  provider's userinfo endpoint (short timeout, answer cached briefly by the token's hash);
  its ``email`` claim must belong to exactly one active agent or administrator. Citizens
  never sign in this way: their identity comes from the case page link or BundID.
- ``From`` / ``X-On-Behalf-Of: <user id, login or e-mail>``: an administrator acts as
  another user of the same tenant (Zammad's feature for integrations). Others get 403;
  an unknown user 422 (Zammad answers with an error too; 422 says "your value is wrong"
  rather than "your credentials are wrong", which is what happened).

Every scheme ends in ``_signed_in``, so on-behalf-of applies to all of them alike.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import os
import urllib.error
import urllib.request
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models import Q
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja.errors import AuthenticationError, HttpError
from ninja.security import APIKeyHeader, HttpBasicAuth, HttpBearer

from vorgang.accounts import login_guard
from vorgang.accounts.models import ApiToken, Role, User
from vorgang.core.errors import InvalidInput, PermissionDenied

log = logging.getLogger(__name__)

ON_BEHALF_HEADERS = ("From", "X-On-Behalf-Of")
OIDC_CACHE_PREFIX = "vorgang:api:oidc:"


def _flag(name: str, default: bool) -> bool:
    """A boolean setting, else the environment variable of the same name, else ``default``."""
    value = getattr(settings, name, None)
    if value is None:
        value = os.environ.get(name)
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() not in {"0", "false", "no", "off", ""}


def _setting(name: str, default: str = "") -> str:
    value = getattr(settings, name, None)
    if value is None:
        value = os.environ.get(name, default)
    return str(value or "")


def basic_auth_enabled() -> bool:
    return _flag("VORGANG_API_BASIC_AUTH", True)


def oidc_userinfo_url() -> str:
    return _setting("VORGANG_OIDC_USERINFO_URL").strip()


def _scheme(request: HttpRequest) -> tuple[str, str]:
    scheme, _sep, rest = request.headers.get("Authorization", "").strip().partition(" ")
    return scheme.lower(), rest.strip()


def _signed_in(request: HttpRequest, user: User) -> User:
    """The user the request acts as: the signed-in one, or the one named by ``From``."""
    request.api_user = user  # type: ignore[attr-defined]  # who really authenticated
    target = acting_user(user, _on_behalf_value(request))
    request.user = target
    return target


def _on_behalf_value(request: HttpRequest) -> str:
    for header in ON_BEHALF_HEADERS:
        value = request.headers.get(header, "").strip()
        if value:
            return value
    return ""


def acting_user(user: User, value: str) -> User:
    """``user`` itself, or the active user of its tenant named by ``value`` (admins only)."""
    if not value:
        return user
    if user.role != Role.ADMIN:
        raise PermissionDenied(
            _("Only administrators may act on behalf of another user (From header).")
        )
    query = Q(username=value) | Q(email__iexact=value)
    if value.isdigit():
        query |= Q(pk=int(value))
    found = list(User.objects.filter(query, tenant_id=user.tenant_id, is_active=True)[:2])
    if len(found) != 1:
        raise InvalidInput(
            _("The user %(user)s named in the From header is unknown or not unique.")
            % {"user": repr(value[:200])}
        )
    return found[0]


class TokenAuth(APIKeyHeader):
    """Accepts ``Token token=<secret>`` and, as Zammad does, ``Token <secret>``."""

    param_name = "Authorization"
    openapi_description = "Authorization: Token token=<API token from `vorgang api-token`>"

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        scheme, rest = _scheme(request)
        if scheme != "token" or not rest:
            return None
        secret = rest[len("token=") :] if rest.lower().startswith("token=") else rest
        secret = secret.strip().strip('"')
        if not secret:
            return None
        user = ApiToken.authenticate(secret)
        if user is None:
            raise AuthenticationError(message=_("The API token is unknown, expired or revoked."))
        return _signed_in(request, user)


# A password hash to check against when no user matches, so that a wrong login costs
# the same time as a wrong password and does not tell which logins exist.
_DUMMY = User(username="-")


class BasicAuth(HttpBasicAuth):
    """Login name or e-mail address and password, as Zammad accepts them."""

    openapi_description = "HTTP Basic with login name or e-mail address and password"

    def __call__(self, request: HttpRequest) -> Any:
        scheme, rest = _scheme(request)
        if scheme != "basic":
            return None
        if not basic_auth_enabled():
            raise AuthenticationError(
                message=_("HTTP Basic authentication is switched off; use an API token.")
            )
        try:
            login, password = base64.b64decode(rest, validate=True).decode().split(":", 1)
        except (binascii.Error, ValueError, UnicodeDecodeError):
            raise AuthenticationError(
                message=_("The Basic authorization header is malformed.")
            ) from None
        return self.authenticate(request, login, password)

    def authenticate(self, request: HttpRequest, username: str, password: str) -> Any:
        if login_guard.locked(username, request):
            raise AuthenticationError(
                message=_("Too many failed sign-ins from here; try again later.")
            )
        user = check_password(username, password)
        if user is None:
            login_guard.failed(username, request)
            raise AuthenticationError(message=_("Wrong login, e-mail address or password."))
        return _signed_in(request, user)


def check_password(login: str, password: str) -> User | None:
    """The active user with this login (or e-mail address) and password, if exactly one."""
    login = login.strip()
    if not login or not password:
        return None
    candidates = list(User.objects.filter(username=login, is_active=True)[:1])
    if not candidates:
        candidates = list(User.objects.filter(email__iexact=login, is_active=True)[:5])
    matching = [u for u in candidates if u.has_usable_password() and u.check_password(password)]
    if not candidates:
        _DUMMY.set_password(password)  # same work as a real check
    return matching[0] if len(matching) == 1 else None


class BearerAuth(HttpBearer):
    """OAuth2/OIDC access tokens, checked at the identity provider's userinfo endpoint."""

    openapi_description = "OAuth2/OIDC access token (only where VORGANG_OIDC_USERINFO_URL is set)"

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        url = oidc_userinfo_url()
        if not url:
            raise AuthenticationError(
                message=_("Bearer tokens are not accepted here: no OpenID Connect provider.")
            )
        token = token.strip()
        if not token:
            raise AuthenticationError(message=_("The bearer token is empty."))
        email = userinfo_email(url, token)
        if not email:
            raise AuthenticationError(
                message=_("The identity provider did not accept the bearer token.")
            )
        users = list(
            User.objects.filter(
                email__iexact=email, is_active=True, role__in=[Role.AGENT, Role.ADMIN]
            )[:2]
        )
        if len(users) != 1:
            raise AuthenticationError(
                message=_("No single active agent has the e-mail address of this token.")
            )
        return _signed_in(request, users[0])


def userinfo_email(url: str, token: str) -> str:
    """The verified ``email`` claim for ``token``, or "" when the provider refuses it.

    Answers (also refusals) are cached by the token's SHA-256 for
    ``VORGANG_OIDC_CACHE_SECONDS`` (60), so a busy client does not ask the provider on
    every request; the token itself is never stored or logged.
    """
    key = OIDC_CACHE_PREFIX + hashlib.sha256(token.encode()).hexdigest()
    cached = cache.get(key)
    if cached is not None:
        return str(cached)
    email = _ask_userinfo(url, token)
    if email is None:
        # Unreachable is not a refusal: not cached, and the client hears it can retry.
        raise HttpError(503, _("The identity provider could not be reached; please retry."))
    seconds = int(_setting("VORGANG_OIDC_CACHE_SECONDS", "60") or 60)
    cache.set(key, email, seconds if email else min(seconds, 10))
    return email


def _ask_userinfo(url: str, token: str) -> str | None:
    timeout = float(_setting("VORGANG_OIDC_TIMEOUT", "5") or 5)
    if not url.lower().startswith(("https://", "http://")):
        log.error("VORGANG_OIDC_USERINFO_URL must be an http(s) URL")
        return None
    request = urllib.request.Request(  # noqa: S310  # scheme checked above
        url, headers={"Authorization": f"Bearer {token}", "Accept": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            claims = json.loads(response.read(64 * 1024))
    except urllib.error.HTTPError as exc:
        log.info("OIDC userinfo answered HTTP %s", exc.code)
        return None if exc.code >= 500 else ""
    except ValueError:
        log.warning("OIDC userinfo endpoint answered something other than JSON")
        return ""
    except OSError as exc:
        log.warning("OIDC userinfo endpoint failed: %s", type(exc).__name__)
        return None
    if not isinstance(claims, dict):
        return ""
    email = claims.get("email")
    if not isinstance(email, str) or claims.get("email_verified") is False:
        return ""
    return email.strip()


# Tried in this order; each passes (returns None) on a scheme it does not handle.
API_AUTH = [TokenAuth(), BasicAuth(), BearerAuth()]
