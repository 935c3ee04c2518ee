"""The states and priorities every installation has.

Created by migration 0002 and ensured again after every ``migrate`` or ``flush``
(post_migrate), so a database emptied by a test or an operator is never left
without the workflow's states.
"""

from __future__ import annotations

from typing import Any

STATES = [
    ("new", "new"),
    ("open", "open"),
    ("pending reminder", "pending_reminder"),
    ("pending close", "pending_close"),
    ("closed", "closed"),
    ("merged", "merged"),
]
PRIORITIES = [("1 low", 1, False), ("2 normal", 2, True), ("3 high", 3, False)]


def ensure(state_model: Any, priority_model: Any) -> None:
    for name, kind in STATES:
        state_model.objects.get_or_create(name=name, defaults={"kind": kind})
    closed = state_model.objects.get(name="closed")
    state_model.objects.filter(name="pending close", next_state__isnull=True).update(
        next_state=closed
    )
    for name, level, default in PRIORITIES:
        priority_model.objects.get_or_create(
            name=name, defaults={"level": level, "is_default": default}
        )


def ensure_after_migrate(sender: Any, **kwargs: Any) -> None:
    from .models import Priority, State

    ensure(State, Priority)
