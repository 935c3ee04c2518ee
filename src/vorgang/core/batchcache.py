"""Lookups of rarely changing rows, remembered for the length of one batch of work.

The mail worker processes journal entries in batches; every message of a batch
asks which department an address belongs to and which row the state ``new`` is.
Inside ``with batch():`` such lookups are answered from memory after the first
time. Outside a batch ``memo`` simply computes, so nothing can go stale between
requests, tests or processes.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

T = TypeVar("T")

_active: ContextVar[dict[Hashable, Any] | None] = ContextVar("vorgang_batch_cache", default=None)


@contextmanager
def batch() -> Iterator[None]:
    """Remember lookups made through ``memo`` until the block ends."""
    token = _active.set({})
    try:
        yield
    finally:
        _active.reset(token)


def active() -> bool:
    """Whether a batch is running (callers may then skip work a memo says is moot)."""
    return _active.get() is not None


def memo(key: Hashable, compute: Callable[[], T]) -> T:
    """``compute()``, remembered under ``key`` while a batch is active."""
    cache = _active.get()
    if cache is None:
        return compute()
    if key not in cache:
        cache[key] = compute()
    result: T = cache[key]
    return result
