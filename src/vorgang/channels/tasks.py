"""Background tasks of the channels; each takes ids and is safe to run twice."""

from __future__ import annotations

from django_tasks import task


@task()
def process_inbound(inbound_id: int) -> str:
    from .email.intake import process

    return process(inbound_id)
