"""Jobs for the scheduler tests (the scheduler imports them by dotted path)."""

from __future__ import annotations

import threading

calls: dict[str, int] = {}
_lock = threading.Lock()


def _count(name: str) -> None:
    with _lock:
        calls[name] = calls.get(name, 0) + 1


def tick() -> int:
    _count("tick")
    return 0


def tock() -> list[str]:
    _count("tock")
    return ["did", "something"]


def broken() -> None:
    _count("broken")
    raise RuntimeError("this job always fails")
