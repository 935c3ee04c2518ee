"""Background tasks of the channels; each takes ids and is safe to run twice."""

from __future__ import annotations

from django_tasks import task

from vorgang.core import task_priority


@task(priority=task_priority.URGENT)
def process_inbound(inbound_id: int) -> str:
    from .email import confirmations
    from .email.intake import process

    # Its confirmation as a pending row, committed with the case (see confirmations).
    with confirmations.batched():
        return process(inbound_id)


@task()
def send_confirmations() -> int:
    """Send the confirmations that drain batches left (see ``email.confirmations``)."""
    from .email.confirmations import send_pending

    return send_pending()


@task(priority=task_priority.URGENT)
def drain_inbound() -> int:
    """Process what the listener stored (see ``intake.drain``); queues itself again if
    entries are left over after its share."""
    from .email.intake import drain
    from .journal import request_drain

    done, more = drain()
    if more:
        request_drain(force=True)
    return done
