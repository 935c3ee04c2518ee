"""Background task of the webhooks app; takes a delivery id and is safe to run twice."""

from __future__ import annotations

from django_tasks import task


@task()
def deliver_webhook(delivery_id: int) -> str:
    """One attempt of a delivery (see dispatch.attempt); a retry defers a new task."""
    from .dispatch import attempt

    return attempt(delivery_id)
