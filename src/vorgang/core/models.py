"""Shared tables of small cross-cutting primitives (see the module that uses each)."""

from __future__ import annotations

from django.db import models


class RateLimitHit(models.Model):
    """One counted attempt for a rate limit (``vorgang.core.ratelimit``).

    The key (a client address, a case number) is kept only as a keyed hash: without
    the secret key the table says nothing about citizens. ``expires_at`` is when the
    row stops counting for any window of its scope, so clean-up needs no settings.
    """

    scope = models.CharField(max_length=40)
    key_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["scope", "key_hash", "created_at"]),
            models.Index(fields=["expires_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.scope} {self.created_at:%Y-%m-%d %H:%M}"


class PagingEpoch(models.Model):
    """A tenant's counter of moves and deletions of cases (``vorgang.core.paging``).

    Deep pages of the case list start from remembered ids; every change that moves a
    case out of or into a department, or deletes it, bumps this counter, which tells
    every process that its remembered ids may have shifted.
    """

    tenant_id = models.BigIntegerField(primary_key=True)
    epoch = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"tenant {self.tenant_id}: epoch {self.epoch}"
