"""The worker takes intake and agents' mail before automatic mail and upkeep."""

from __future__ import annotations

import pytest
from django_tasks_db.models import DBTaskResult

from vorgang.channels.tasks import drain_inbound, process_inbound, send_confirmations
from vorgang.core import task_priority
from vorgang.search.tasks import reindex_ticket
from vorgang.tickets.tasks import deliver_article

pytestmark = pytest.mark.django_db


def test_urgent_tasks_are_handed_out_first_then_the_oldest() -> None:
    # Queued in this order: automatic work first, intake and an agent's reply later.
    send_confirmations.enqueue()
    reindex_ticket.enqueue(1)
    drain_inbound.enqueue()
    deliver_article.enqueue(1)

    order = []
    while (task := DBTaskResult.objects.ready().get_locked()) is not None:
        order.append(task.task_path.rsplit(".", 1)[-1])
        task.delete()

    assert order == ["drain_inbound", "deliver_article", "send_confirmations", "reindex_ticket"]


def test_priorities_are_the_documented_ones() -> None:
    assert drain_inbound.priority == process_inbound.priority == task_priority.URGENT
    assert deliver_article.priority == task_priority.URGENT
    assert send_confirmations.priority == reindex_ticket.priority == task_priority.NORMAL
    assert task_priority.URGENT > task_priority.NORMAL
