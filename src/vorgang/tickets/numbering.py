"""Case numbers: unique, increasing, never reused.

``increment``: prefix + a running counter (10001, 10002, ...).
``date``: YYYYMMDD + a counter that starts again each day (20261128001, ...).

Each series counts in a sequence of its own on PostgreSQL and in a counter row on
SQLite (docs/adr/0006-case-numbers-from-sequences.md). A sequence hands out values
without a lock that lasts until the commit, so parallel creates do not queue on it;
the price is a gap where a create fails after its draw (rare: every input check
comes before it). SQLite runs one writing transaction at a time anyway, so its
counter row costs no waiting and leaves no gaps.
"""

from __future__ import annotations

from django.conf import settings
from django.db import IntegrityError, ProgrammingError, connection, transaction
from django.db.backends.utils import CursorWrapper
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
    """The series' next value (``start`` for the first)."""
    if connection.vendor == "postgresql":
        return _draw_from_sequence(series, start)
    return _draw_from_row(series, start)


SEQUENCE_PREFIX = "case_number_series_"


def sequence_name(series: str) -> str:
    """The PostgreSQL sequence of a series (``date:20261128`` -> ``..._date_20261128``)."""
    return SEQUENCE_PREFIX + "".join(c if c.isalnum() else "_" for c in series)


def _draw_from_sequence(series: str, start: int) -> int:
    """``nextval`` of the series' sequence, made the first time the series is drawn.

    ``to_regclass`` gives NULL for a missing sequence, and so does ``nextval(NULL)``:
    one statement, and no error that would abort the caller's transaction.
    """
    name = sequence_name(series)
    with connection.cursor() as cursor:
        for _attempt in range(3):
            cursor.execute("SELECT nextval(to_regclass(%s))", [name])
            value = cursor.fetchone()[0]
            if value is not None:
                return int(value)
            _create_sequence(cursor, name, series, start)
    raise InvalidInput(_("Could not find a free case number; check the number settings."))


def _create_sequence(cursor: CursorWrapper, name: str, series: str, start: int) -> None:
    """Make the series' sequence, going on from its counter row where there is one
    (numbers drawn before this installation moved to sequences).

    The creating transaction owns the new sequence until it commits; a parallel one
    that tries to make it too fails on the catalog's unique name and draws again.
    """
    last = NumberCounter.objects.filter(series=series).values_list("value", flat=True).first()
    first = max(start, (last or 0) + 1)
    try:
        with transaction.atomic():
            cursor.execute(
                # The name is made of letters, digits and "_" (sequence_name); the
                # start value is an integer: nothing here comes from a request.
                f"CREATE SEQUENCE IF NOT EXISTS {connection.ops.quote_name(name)} "
                f"AS bigint START WITH {int(first)}"
            )
    except (IntegrityError, ProgrammingError):
        pass  # made by a parallel transaction meanwhile: the next nextval finds it


def _draw_from_row(series: str, start: int) -> int:
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
