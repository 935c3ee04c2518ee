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
