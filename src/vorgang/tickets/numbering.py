"""Case numbers: unique, never reused, from a locked counter row.

``increment``: prefix + a running counter (10001, 10002, ...).
``date``: YYYYMMDD + a counter that starts again each day (20261128001, ...).
"""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from vorgang.core import clock
from vorgang.core.errors import InvalidInput

from .models import NumberCounter


def next_number() -> str:
    generator = settings.TICKET_NUMBER_GENERATOR
    prefix = settings.TICKET_NUMBER_PREFIX
    if generator == "increment":
        value = _draw("increment", start=settings.TICKET_NUMBER_START)
        return f"{prefix}{value}"
    if generator == "date":
        day = timezone.localtime(clock.now()).strftime("%Y%m%d")
        value = _draw(f"date:{day}", start=1)
        return f"{prefix}{day}{value:03d}"
    raise InvalidInput(
        _("unknown ticket number generator %(generator)s (use increment or date)")
        % {"generator": repr(generator)}
    )


def _draw(series: str, start: int) -> int:
    with transaction.atomic():
        counter, _created = NumberCounter.objects.select_for_update().get_or_create(
            series=series, defaults={"value": start - 1}
        )
        counter.value += 1
        counter.save(update_fields=["value"])
        return counter.value
