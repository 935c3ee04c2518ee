"""Which background work the worker takes first when several tasks wait.

The database task backend hands out the waiting task with the highest priority, and
among equals the oldest. Under a flood of mail, that order decides what citizens and
agents wait for (docs/adr/0007-intake-before-automatic-mail.md):

- ``URGENT``: turning stored messages into cases (the mail drain) and sending what an
  agent wrote. Agents wait for both; an agent's reply must not queue behind a flood.
- everything else keeps the default: automatic confirmations, search indexing,
  notifications, webhooks, portal upkeep. They follow as soon as the flood is stored,
  in the order they were queued.
"""

from __future__ import annotations

from django_tasks.base import DEFAULT_TASK_PRIORITY

URGENT = 10
NORMAL = DEFAULT_TASK_PRIORITY
