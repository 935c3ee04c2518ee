"""How often someone may ask for a new case page link: per IP address and per case number.

Counted in the database (``LinkRequest``), so the limit holds across all web
processes. IP addresses and case numbers are stored only as keyed hashes
(HMAC with the secret key): the table says nothing without the key.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta

from django.conf import settings

from vorgang.core import clock

from .models import LinkRequest

WINDOW = timedelta(hours=1)
KEEP = timedelta(days=1)


def per_hour() -> int:
    return int(getattr(settings, "VORGANG_LINK_REQUESTS_PER_HOUR", 5))


def keyed_hash(kind: str, value: str) -> str:
    key = str(settings.SECRET_KEY).encode()
    return hmac.new(key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()


def normalise_number(number: str) -> str:
    return "".join(number.split()).lstrip("#").upper()


def allow(ip: str, number: str) -> bool:
    """Record the attempt and say whether it is within the limits; refused ones are not counted."""
    now = clock.now()
    since = now - WINDOW
    ip_hash = keyed_hash("ip", ip or "-")
    number_hash = keyed_hash("number", normalise_number(number))
    limit = per_hour()
    recent = LinkRequest.objects.filter(created_at__gt=since)
    if (
        recent.filter(ip_hash=ip_hash).count() >= limit
        or recent.filter(number_hash=number_hash).count() >= limit
    ):
        return False
    LinkRequest.objects.create(ip_hash=ip_hash, number_hash=number_hash, created_at=now)
    return True


def prune() -> int:
    """Forget attempts older than a day (run by the scheduler with the deadlines)."""
    deleted, _by_model = LinkRequest.objects.filter(created_at__lt=clock.now() - KEEP).delete()
    return deleted
