"""Spam and replay guards of the hosted form, without a CAPTCHA.

- The **form token** is signed (``django.core.signing``) when the form is shown. It
  carries the service, the moment it was issued and an idempotency key (uuid4). A
  submission needs a valid token that is at least ``VORGANG_FORM_MIN_SECONDS`` old
  (people do not fill a form in three seconds, scripts do) and at most
  ``VORGANG_FORM_MAX_AGE`` old. The key goes to ``submit(idempotency_key=...)``, so
  sending the same form twice (double click, reload, back and send again) gives the
  first case back instead of a second one.
- The **honeypot** is a text field hidden from people and assistive technology;
  scripts that fill every field fill it too.
- The **rate limit** counts created cases per client address and service in the
  database (``vorgang.core.ratelimit``), so it holds across all web processes and
  restarts. The address is stored only as a keyed hash; rows go once their window
  is over. Invalid and repeated submissions create no case and do not count.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.http import HttpRequest

from vorgang.core import clock, ratelimit

TOKEN_SALT = "vorgang.forms.token"  # noqa: S105 (a salt, not a secret)
DONE_SALT = "vorgang.forms.done"
HONEYPOT_FIELD = "homepage"
TOKEN_FIELD = "form_token"  # noqa: S105 (a field name)

DEFAULT_MIN_SECONDS = 3
DEFAULT_MAX_AGE = 2 * 24 * 3600  # a long form may stay open over night
DEFAULT_RATE_LIMIT = 10  # created cases per client address and service ...
DEFAULT_RATE_WINDOW = 3600  # ... in this many seconds
DONE_MAX_AGE = 24 * 3600  # the page shows the entries: not for long


def _setting(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


# --- form token ----------------------------------------------------------------------------


@dataclass(frozen=True)
class FormToken:
    service_id: int
    key: str  # the idempotency key
    issued: float  # POSIX seconds

    def age(self) -> float:
        return clock.now().timestamp() - self.issued


class TokenProblem(Exception):
    """The token is missing, forged, for another service, too young or too old."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason  # "missing", "invalid", "too_fast", "expired"


def issue_token(service_id: int, *, key: str | None = None, issued: float | None = None) -> str:
    payload = {
        "s": service_id,
        "k": key or uuid.uuid4().hex,
        "t": clock.now().timestamp() if issued is None else issued,
    }
    return signing.dumps(payload, salt=TOKEN_SALT, compress=True)


def read_token(value: str, service_id: int) -> FormToken:
    if not value:
        raise TokenProblem("missing")
    try:
        payload = signing.loads(value, salt=TOKEN_SALT)
        token = FormToken(int(payload["s"]), str(payload["k"]), float(payload["t"]))
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise TokenProblem("invalid") from None
    if token.service_id != service_id or not token.key:
        raise TokenProblem("invalid")
    age = token.age()
    if age < _setting("VORGANG_FORM_MIN_SECONDS", DEFAULT_MIN_SECONDS):
        raise TokenProblem("too_fast")
    if age > _setting("VORGANG_FORM_MAX_AGE", DEFAULT_MAX_AGE):
        raise TokenProblem("expired")
    return token


# --- the confirmation page's address ---------------------------------------------------------


def done_token(ticket_id: int, service_id: int) -> str:
    return signing.dumps({"c": ticket_id, "s": service_id}, salt=DONE_SALT)


def read_done_token(value: str, service_id: int) -> int | None:
    """The case id, or None for a forged, foreign or outdated token."""
    try:
        payload = signing.loads(value, salt=DONE_SALT, max_age=DONE_MAX_AGE)
        if int(payload["s"]) != service_id:
            return None
        return int(payload["c"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None


# --- honeypot --------------------------------------------------------------------------------


def honeypot_filled(request: HttpRequest) -> bool:
    return bool(request.POST.get(HONEYPOT_FIELD, "").strip())


# --- rate limit ----------------------------------------------------------------------------


RATE_SCOPE = "forms.submission"


def _rate_limit(request: HttpRequest, service_id: int) -> ratelimit.Limit:
    return ratelimit.Limit(
        scope=RATE_SCOPE,
        key=f"{service_id}:{ratelimit.client_address(request)}",
        limit=_setting("VORGANG_FORM_RATE_LIMIT", DEFAULT_RATE_LIMIT),
        window=timedelta(seconds=_setting("VORGANG_FORM_RATE_WINDOW", DEFAULT_RATE_WINDOW)),
    )


def rate_limited(request: HttpRequest, service_id: int) -> bool:
    """True when this client created as many cases for the service as the window allows."""
    return ratelimit.exceeded(_rate_limit(request, service_id))


def count_submission(request: HttpRequest, service_id: int) -> None:
    """Count a created case (a sliding window: each case counts for the window after it)."""
    ratelimit.record(_rate_limit(request, service_id))
