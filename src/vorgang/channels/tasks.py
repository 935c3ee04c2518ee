"""Background tasks of the channels; each takes ids and is safe to run twice."""

from __future__ import annotations

from django_tasks import task


@task()
def process_inbound(inbound_id: int) -> str:
    from .email.intake import process

    return process(inbound_id)


@task()
def drain_inbound() -> int:
    """Process what the listener stored (see ``intake.drain``); queues itself again if
    entries are left over after its share."""
    from .email.intake import drain
    from .journal import request_drain

    done, more = drain()
    if more:
        request_drain(force=True)
    return done
