"""Case numbers: unique, never reused, from a locked counter row.

``increment``: prefix + a running counter (10001, 10002, ...).
``date``: YYYYMMDD + a counter that starts again each day (20261128001, ...).
"""

from __future__ import annotations

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from vorgang.core import clock
from vorgang.core.errors import InvalidInput

from .models import NumberCounter


def check_generator() -> None:
    """Refuse an unknown generator setting (the write path asks before it writes)."""
    generator = settings.TICKET_NUMBER_GENERATOR
    if generator not in ("increment", "date"):
        raise InvalidInput(
            _("unknown ticket number generator %(generator)s (use increment or date)")
            % {"generator": repr(generator)}
        )


def next_number() -> str:
    check_generator()
    prefix = settings.TICKET_NUMBER_PREFIX
    if settings.TICKET_NUMBER_GENERATOR == "increment":
        value = _draw("increment", start=settings.TICKET_NUMBER_START)
        return f"{prefix}{value}"
    day = timezone.localtime(clock.now()).strftime("%Y%m%d")
    value = _draw(f"date:{day}", start=1)
    return f"{prefix}{day}{value:03d}"


def _draw(series: str, start: int) -> int:
    """The series' next value; the counter row stays locked until the transaction ends.

    One ``UPDATE ... RETURNING`` takes the row lock and the value in a single round
    trip (no savepoint, no ``SELECT ... FOR UPDATE`` first): while the lock is held,
    every other create waits, so the fewer statements between here and the commit, the
    better. Only a series' first draw creates its row.
    """
    table = connection.ops.quote_name(NumberCounter._meta.db_table)
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET value = value + 1 WHERE series = %s RETURNING value",  # noqa: S608
            [series],
        )
        row = cursor.fetchone()
    if row is not None:
        return int(row[0])
    with transaction.atomic():
        counter, _created = NumberCounter.objects.select_for_update().get_or_create(
            series=series, defaults={"value": start - 1}
        )
        counter.value += 1
        counter.save(update_fields=["value"])
        return counter.value
