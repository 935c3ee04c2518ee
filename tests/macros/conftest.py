"""Fixtures of the macro tests: reuse the desk's world (departments, agents, a case)."""

from tests.desk.conftest import World, agent_client, compiled_locale, world  # noqa: F401

__all__ = ["World"]


import pytest
from django.utils import translation


@pytest.fixture(autouse=True)
def _english():
    """Messages are checked in English, the source language."""
    with translation.override("en"):
        yield
