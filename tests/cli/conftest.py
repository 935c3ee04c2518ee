"""Fixtures for running the real ``vorgang`` command in a subprocess.

Each subprocess test gets its own data directory. On SQLite that is all it needs; with
DATABASE_URL set (PostgreSQL) it also gets its own scratch database on the same server,
dropped afterwards, so a test never writes into the database DATABASE_URL names.
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Generator, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.cli.helpers import run_vorgang


def _scratch_postgres(url: str) -> Generator[str, None, None]:
    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    base = parts.path.lstrip("/") or "vorgang"
    name = f"{base}_cli_{secrets.token_hex(4)}"
    admin = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield parts._replace(path=f"/{name}").geturl()
    finally:
        drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        # FORCE ends our role's sessions, but not an autovacuum worker that happens to be
        # in the new database (a superuser's process): that one finishes within moments.
        for attempt in range(20):
            try:
                with psycopg.connect(admin, autocommit=True) as conn:
                    conn.execute(drop)
                break
            except (psycopg.errors.InsufficientPrivilege, psycopg.errors.ObjectInUse):
                if attempt == 19:
                    raise
                time.sleep(0.5)


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    """Commands run in the caller's language; these tests read the English messages."""
    from django.utils import translation

    with translation.override("en"):
        yield


@pytest.fixture
def cli_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    """Environment for a ``vorgang`` subprocess with its own, empty data dir and database."""
    data_dir = tmp_path / "var"
    env = {
        **os.environ,
        "VORGANG_DATA_DIR": str(data_dir),
        "VORGANG_LOG_LEVEL": "INFO",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("VORGANG_PORT", None)
    url = os.environ.get("DATABASE_URL")
    if url:
        scratch = _scratch_postgres(url)
        env["DATABASE_URL"] = next(scratch)
        yield env
        scratch.close()
    else:
        yield env


@pytest.fixture
def migrated_env(cli_env: dict[str, str]) -> dict[str, str]:
    result = run_vorgang(cli_env, "migrate", "--noinput", "-v", "0")
    assert result.returncode == 0, result.stderr
    return cli_env
