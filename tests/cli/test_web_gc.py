"""The web server's worker processes freeze the objects made at start-up, so that a full
garbage collection no longer walks them (pauses of 40-55 ms in the middle of requests)."""

from __future__ import annotations

import gc
from typing import Any

import pytest
from django.core.management import call_command

from vorgang.core.management.commands import web


def test_gunicorn_calls_the_freeze_after_loading_the_app(monkeypatch: pytest.MonkeyPatch) -> None:
    options: dict[str, Any] = {}
    monkeypatch.setattr(web.WebServer, "run", lambda self: options.update(self.options))
    call_command("web", "--port", "8999")
    server = web.WebServer(options)  # gunicorn's own config, as the arbiter reads it
    assert server.cfg.post_worker_init is web.freeze_startup_objects


def test_the_freeze_keeps_the_objects_out_of_collections() -> None:
    gc.unfreeze()
    try:
        web.freeze_startup_objects(None)
        frozen = gc.get_freeze_count()
        assert frozen > 1000  # Django, Ninja and the app, loaded for the tests
        gc.collect()
        # A full collection walks the oldest generation only, no longer the frozen objects.
        assert len(gc.get_objects(generation=2)) < frozen / 10
    finally:
        gc.unfreeze()
