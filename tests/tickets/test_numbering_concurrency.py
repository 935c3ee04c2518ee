"""Case numbers under concurrent creates: unique, none reused (PostgreSQL).

Each series has a sequence; its first draws race to make it, and parallel creates
never wait for each other's commit. With no create failing, there are no gaps either.
SQLite takes its write lock when a transaction starts, so it cannot race here.
"""

from __future__ import annotations

import pytest
from django.db import connection

from tests.concurrency import in_parallel
from tests.factories import DepartmentFactory
from vorgang.tickets import numbering, services
from vorgang.tickets.models import Ticket

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 4
EACH = 5


def test_parallel_creates_draw_distinct_consecutive_numbers() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writing transactions as a whole")
    with connection.cursor() as cursor:  # the threads race to make the series' sequence
        cursor.execute(f"DROP SEQUENCE IF EXISTS {numbering.sequence_name('increment')}")
    department = DepartmentFactory()

    def create() -> None:
        for i in range(EACH):
            services.create_ticket(
                None,
                department=department,
                title=f"Parallel {i}",
                article=services.ArticleInput(body="Text"),
            )

    in_parallel([create] * THREADS)
    numbers = sorted(int(n) for n in Ticket.objects.values_list("number", flat=True))
    assert len(numbers) == THREADS * EACH
    assert numbers == list(range(numbers[0], numbers[0] + THREADS * EACH))
