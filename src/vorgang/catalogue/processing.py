"""The expected processing time of an online service, in days.

``fixed``: the number of days the administrator entered. ``computed``: the median time
from receipt to closing of the service's cases closed in the last 90 days, rounded up
to whole days; with fewer than five such cases the entered number stands in.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable
from datetime import timedelta

from vorgang.core import clock
from vorgang.tickets.models import StateKind, Ticket

from .models import OnlineService, ProcessingTime

WINDOW_DAYS = 90
MIN_CASES = 5


def expected_days(service: OnlineService) -> int | None:
    return expected_days_for([service])[service.pk]


def expected_days_for(services: Iterable[OnlineService]) -> dict[int, int | None]:
    """Service id -> expected days, with one query for all computed services."""
    services = list(services)
    result: dict[int, int | None] = {s.pk: s.processing_days for s in services}
    computed = [s.pk for s in services if s.processing_time == ProcessingTime.COMPUTED]
    if not computed:
        return result
    since = clock.now() - timedelta(days=WINDOW_DAYS)
    durations: dict[int, list[float]] = {}
    rows = (
        Ticket.objects.filter(
            service_id__in=computed, closed_at__isnull=False, closed_at__gte=since
        )
        .exclude(state__kind=StateKind.MERGED)
        .values_list("service_id", "created_at", "closed_at")
    )
    for service_id, created_at, closed_at in rows:
        if closed_at is None:
            continue
        seconds = max((closed_at - created_at).total_seconds(), 0.0)
        durations.setdefault(service_id, []).append(seconds / 86400)
    for pk in computed:
        days = durations.get(pk, [])
        if len(days) >= MIN_CASES:
            result[pk] = max(1, math.ceil(round(statistics.median(days), 6)))
    return result
