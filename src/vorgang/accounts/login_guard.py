"""A brake on password guessing, for every place that checks a password.

The desk's sign-in form and the API's HTTP Basic authentication both count failed
attempts here (``core.ratelimit``: rows shared by all processes, keys stored only as
a keyed hash). Two limits, each within ``VORGANG_LOGIN_FAILURE_WINDOW`` seconds:

- per login name *and* client address (``VORGANG_LOGIN_FAILURES``, default 10): an
  attacker cannot lock an agent out from another address, only themselves;
- per client address (``VORGANG_LOGIN_FAILURES_PER_CLIENT``, default 50): one
  address cannot try many login names.

While a limit is reached every attempt from there is refused before the password is
checked, even a right one, so guessing gains nothing. Successful sign-ins are not
counted.
"""

from __future__ import annotations

import os
from datetime import timedelta

from django.conf import settings
from django.http import HttpRequest

from vorgang.core import ratelimit

DEFAULT_FAILURES = 10
DEFAULT_FAILURES_PER_CLIENT = 50
DEFAULT_WINDOW_SECONDS = 15 * 60


def _setting(name: str, default: int) -> int:
    """A Django setting, else the environment variable of that name, else ``default``."""
    value = getattr(settings, name, None)
    if value is None:
        value = os.environ.get(name) or default
    return int(value)


def window() -> timedelta:
    return timedelta(seconds=_setting("VORGANG_LOGIN_FAILURE_WINDOW", DEFAULT_WINDOW_SECONDS))


def _limits(login: str, request: HttpRequest) -> tuple[ratelimit.Limit, ratelimit.Limit]:
    address = ratelimit.client_address(request)
    return (
        ratelimit.Limit(
            scope="login.failed",
            key=f"{login.strip().lower()}:{address}",
            limit=_setting("VORGANG_LOGIN_FAILURES", DEFAULT_FAILURES),
            window=window(),
        ),
        ratelimit.Limit(
            scope="login.failed.client",
            key=address,
            limit=_setting("VORGANG_LOGIN_FAILURES_PER_CLIENT", DEFAULT_FAILURES_PER_CLIENT),
            window=window(),
        ),
    )


def locked(login: str, request: HttpRequest) -> bool:
    """True while too many attempts failed for this login from here, or from here at all."""
    return any(ratelimit.exceeded(limit) for limit in _limits(login, request))


def failed(login: str, request: HttpRequest) -> None:
    """Count a failed attempt."""
    ratelimit.record(*_limits(login, request))


def minutes() -> int:
    """The window in whole minutes, for messages."""
    return max(1, round(window().total_seconds() / 60))
