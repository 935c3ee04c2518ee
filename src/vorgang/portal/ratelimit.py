"""How often someone may ask for a new case page link: per client address and per case number.

Counted with the shared database rate limit (``vorgang.core.ratelimit``), so the limit
holds across all web processes. Addresses and case numbers are stored only as keyed
hashes (HMAC with the secret key): the table says nothing without the key.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings

from vorgang.core import ratelimit

WINDOW = timedelta(hours=1)
SCOPE_ADDRESS = "portal.link.address"
SCOPE_NUMBER = "portal.link.number"


def per_hour() -> int:
    return int(getattr(settings, "VORGANG_LINK_REQUESTS_PER_HOUR", 5))


def normalise_number(number: str) -> str:
    return "".join(number.split()).lstrip("#").upper()


def allow(ip: str, number: str) -> bool:
    """Record the attempt and say whether it is within the limits; refused ones are not counted."""
    limit = per_hour()
    return ratelimit.allow(
        [
            ratelimit.Limit(SCOPE_ADDRESS, ip or "-", limit, WINDOW),
            ratelimit.Limit(SCOPE_NUMBER, normalise_number(number), limit, WINDOW),
        ]
    )


def prune() -> int:
    """Forget attempts whose window is over, of every scope (run with the deadlines)."""
    return ratelimit.prune()
