"""Fixtures of these tests: service messages are checked in English."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from django.utils import translation


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    """Service errors are translated; the default language is German, the asserts are English."""
    with translation.override("en"):
        yield


@pytest.fixture
def search_index() -> Callable[[], None]:
    """Fill the search index from the cases made so far; call it after creating them.

    These tests run inside a transaction that never commits, so the after-commit
    subscribers that keep the index fresh never run here.
    """
    from vorgang.search.indexing import reindex_all

    def fill() -> None:
        reindex_all()

    return fill
