"""One HTTP attempt: sign the body, POST it, and say what the outcome means.

Only the standard library (urllib). Redirects are not followed: a POST that is
redirected would arrive elsewhere, maybe as a GET without its body, so a 3xx is a
configuration error that the admin must fix, like a 4xx.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from importlib import metadata
from urllib.parse import urlsplit

from django.conf import settings

from vorgang.core import clock

SIGNATURE_HEADER = "X-Vorgang-Signature"
# Zammad's header (HMAC-SHA1), for receivers written for Zammad.
HUB_SIGNATURE_HEADER = "X-Hub-Signature"
EVENT_HEADER = "X-Vorgang-Event"
DELIVERY_HEADER = "X-Vorgang-Delivery"

DEFAULT_TIMEOUT = 10.0
# The response body is read only this far (to let the connection close cleanly); it is
# never stored or logged: a receiver may echo what it was sent.
MAX_RESPONSE_READ = 64 * 1024


def signature(secret: str, body: bytes) -> str:
    """``sha256=<hex HMAC-SHA256 of the raw body>``, the value of X-Vorgang-Signature."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def hub_signature(secret: str, body: bytes) -> str:
    """``sha1=<hex HMAC-SHA1>``, as Zammad sends in X-Hub-Signature."""
    return "sha1=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha1).hexdigest()


def timeout() -> float:
    return float(getattr(settings, "VORGANG_WEBHOOK_TIMEOUT", None) or DEFAULT_TIMEOUT)


def user_agent() -> str:
    try:
        version = metadata.version("vorgang")
    except metadata.PackageNotFoundError:
        version = "dev"
    return f"Vorgang-Webhook/{version}"


@dataclass(frozen=True)
class Outcome:
    """What one attempt gave: ``ok``, or whether trying again may help."""

    ok: bool
    status_code: int | None
    elapsed_ms: int
    error: str = ""
    temporary: bool = False
    retry_after: float | None = None  # seconds the receiver asked us to wait (429/503)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None  # the 3xx comes back as an HTTPError


def _opener() -> urllib.request.OpenerDirector:
    # Only http and https handlers; proxies from the environment as usual.
    return urllib.request.build_opener(_NoRedirect())


def post(url: str, body: bytes, headers: dict[str, str], *, timeout_s: float) -> Outcome:
    """POST ``body``; never raises for network or HTTP errors, only reports them."""
    if urlsplit(url).scheme.lower() not in ("http", "https"):
        return Outcome(False, None, 0, "the URL scheme must be http or https")
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310  (scheme checked above)
    started = time.monotonic()

    def elapsed() -> int:
        return round((time.monotonic() - started) * 1000)

    try:
        with _opener().open(request, timeout=timeout_s) as response:
            response.read(MAX_RESPONSE_READ)
            code = response.status
    except urllib.error.HTTPError as exc:
        code = exc.code
        try:
            exc.read(MAX_RESPONSE_READ)
        except Exception:  # noqa: S110  (the body is only drained, never used)
            pass
        finally:
            exc.close()
        took = elapsed()
        temporary = code == 429 or code >= 500
        return Outcome(
            False,
            code,
            took,
            f"HTTP {code} {exc.reason}".strip(),
            temporary=temporary,
            retry_after=_retry_after(exc.headers.get("Retry-After")) if temporary else None,
        )
    except TimeoutError:
        return Outcome(False, None, elapsed(), "timed out", temporary=True)
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, TimeoutError):
            return Outcome(False, None, elapsed(), "timed out", temporary=True)
        if isinstance(reason, str):  # e.g. "no host given": the URL itself is wrong
            return Outcome(False, None, elapsed(), f"bad URL: {reason}")
        return Outcome(False, None, elapsed(), f"connection failed: {reason}", temporary=True)
    except (OSError, http.client.HTTPException) as exc:  # reset connection, bad status line
        return Outcome(False, None, elapsed(), f"{type(exc).__name__}: {exc}", temporary=True)
    except ValueError as exc:  # a URL urllib cannot use: retrying cannot help
        return Outcome(False, None, elapsed(), f"bad URL: {exc}")
    took = elapsed()
    if 200 <= code < 300:
        return Outcome(True, code, took)
    return Outcome(False, code, took, f"HTTP {code}", temporary=False)


def _retry_after(value: str | None) -> float | None:
    """Retry-After as seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - clock.now()).total_seconds())
