"""How many task workers ``vorgang serve`` runs ($VORGANG_WORKERS, default 1)."""

from __future__ import annotations

import pytest
from django.core.management.base import CommandError
from django.db import connection

from vorgang.core.management.commands.serve import children


def names(monkeypatch: pytest.MonkeyPatch, value: str | None) -> list[str]:
    if value is None:
        monkeypatch.delenv("VORGANG_WORKERS", raising=False)
    else:
        monkeypatch.setenv("VORGANG_WORKERS", value)
    return [spec.name for spec in children("127.0.0.1", 8000, 8024)]


def test_by_default_one_worker_on_sqlite_two_on_postgresql(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if connection.vendor == "postgresql":
        assert names(monkeypatch, None) == ["web", "worker", "worker-2", "lmtp", "scheduler"]
    else:
        assert names(monkeypatch, None) == ["web", "worker", "lmtp", "scheduler"]


def test_more_workers_each_run_the_worker_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VORGANG_WORKERS", "3")
    specs = children("127.0.0.1", 8000, None)

    assert [s.name for s in specs] == ["web", "worker", "worker-2", "worker-3", "scheduler"]
    workers = [s for s in specs if s.name.startswith("worker")]
    assert all(list(s.argv[-1:]) == ["worker"] for s in workers)


@pytest.mark.parametrize("value", ["0", "-1", "zwei", ""])
def test_a_bad_worker_count_is_refused(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    with pytest.raises(CommandError, match="VORGANG_WORKERS"):
        names(monkeypatch, value)
