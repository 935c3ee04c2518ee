"""What every browser test needs: Debian's Chromium through Playwright, screenshots, axe.

Each test module keeps two thin fixtures that delegate here:

    @pytest.fixture
    def browser(monkeypatch):
        yield from browser_session(monkeypatch)

    @pytest.fixture
    def screens(tmp_path):
        yield from screenshot_dir(tmp_path, Path("/tmp/<area>-screens"))
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connections

CHROMIUM = Path(os.environ.get("VORGANG_CHROMIUM", "/usr/bin/chromium"))
# Headless Chromium on these machines needs these (no sandbox as root, no network).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
BAD_IMPACTS = {"serious", "critical"}


def unavailable(reason: str) -> None:
    """Skip with the reason on a developer's machine; fail in CI, where it must run."""
    if os.environ.get("CI", "").lower() in ("true", "1"):
        pytest.fail(f"browser test cannot run in CI: {reason}")
    pytest.skip(reason)


def browser_session(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    if not CHROMIUM.exists():
        unavailable(f"{CHROMIUM} is missing (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("playwright is not installed (pip install -e '.[dev]')")
    # Playwright's sync API runs an event loop in this thread; the test still talks
    # to the database synchronously, which is safe here.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
            # Playwright runs greenlets: Django sees other connection objects in this
            # block; close them, or PostgreSQL cannot drop the test database.
            connections.close_all()


def screenshot_dir(tmp_path: Path, copy_to: Path) -> Iterator[Path]:
    """A folder for the test's screenshots, copied to ``copy_to`` for people to look at."""
    target = tmp_path / "screens"
    target.mkdir()
    yield target
    copy_to.mkdir(parents=True, exist_ok=True)
    for png in target.glob("*.png"):
        shutil.copy(png, copy_to / png.name)


def assert_accessible(page: Any, name: str) -> None:
    """axe-core finds no serious or critical violation on the page."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    bad = [v for v in results.response["violations"] if v.get("impact") in BAD_IMPACTS]
    report = "\n".join(
        f"{v['id']} ({v['impact']}): {v['help']} -> "
        + "; ".join(n["target"][0] if n.get("target") else "?" for n in v["nodes"][:5])
        for v in bad
    )
    assert not bad, f"axe on the {name} page:\n{report}"
