"""Fixtures of these tests: service messages are checked in English."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.utils import translation


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    """Service errors are translated; the default language is German, the asserts are English."""
    with translation.override("en"):
        yield
