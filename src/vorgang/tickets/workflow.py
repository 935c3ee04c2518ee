"""Which state kinds may follow which: the case workflow as data.

``merged`` is reached only through ``services.merge`` and never left; ``new`` is
only where a case starts.
"""

from __future__ import annotations

from .models import StateKind as K

ALLOWED: dict[str, frozenset[str]] = {
    K.NEW: frozenset({K.OPEN, K.PENDING_REMINDER, K.PENDING_CLOSE, K.CLOSED}),
    K.OPEN: frozenset({K.PENDING_REMINDER, K.PENDING_CLOSE, K.CLOSED}),
    K.PENDING_REMINDER: frozenset({K.OPEN, K.PENDING_REMINDER, K.PENDING_CLOSE, K.CLOSED}),
    K.PENDING_CLOSE: frozenset({K.OPEN, K.PENDING_REMINDER, K.PENDING_CLOSE, K.CLOSED}),
    K.CLOSED: frozenset({K.OPEN}),
    K.MERGED: frozenset(),
}

# States a case may be created in.
INITIAL: frozenset[str] = frozenset({K.NEW, K.OPEN, K.PENDING_REMINDER, K.CLOSED})

# States that need a pending date.
NEEDS_PENDING_DATE: frozenset[str] = frozenset({K.PENDING_REMINDER, K.PENDING_CLOSE})


def can_move(from_kind: str, to_kind: str) -> bool:
    return to_kind in ALLOWED.get(from_kind, frozenset())
