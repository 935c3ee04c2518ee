"""The intake filters, in the order they run.

Each module has one job and an ``apply(ctx)`` function; see base.IntakeContext.

The order, and why:

1. ``recipient``: which department (and reply token) the message is for. Every
   later filter needs the tenant.
2. ``postmaster``: the tenant's admin rules. Early, so that a rule can route the
   message to another department before anything depends on the department,
   set priority and tags, or ignore it (then the later filters do nothing).
3. ``loop_guard``: marks automatic mail (auto-submitted, bulk, lists, X-Loop,
   system senders, our own addresses) and out-of-office replies. Reads headers
   only; before ``bounce`` and ``sender`` so both can rely on the marks.
4. ``bounce``: a delivery status notification is threaded to the case of the
   message that bounced (or tagged ``unzustellbar``); it sets ``ctx.ticket``
   itself, so ``sender`` and ``follow_up`` leave it alone.
5. ``sender``: the citizen record (known or new) for the From address; never
   for our own addresses, staff addresses or mail servers.
6. ``follow_up``: token, then Message-ID, then subject tag, inside the tenant.

``intake.deliver`` then writes the result through tickets.services: it
applies the follow-up policy (not for auto-replies and bounces), flags an
unexpected sender, and records a permanent bounce (``bounce.record``).
"""

from __future__ import annotations

from collections.abc import Callable

from . import bounce, follow_up, loop_guard, postmaster, recipient, sender
from .base import IntakeContext

Filter = Callable[[IntakeContext], None]

FILTERS: list[tuple[str, Filter]] = [
    ("recipient", recipient.apply),
    ("postmaster", postmaster.apply),
    ("loop_guard", loop_guard.apply),
    ("bounce", bounce.apply),
    ("sender", sender.apply),
    ("follow_up", follow_up.apply),
]


def run(ctx: IntakeContext) -> IntakeContext:
    for _name, apply in FILTERS:
        apply(ctx)
    return ctx
