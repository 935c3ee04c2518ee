"""Fixtures for the intake filter tests."""

from __future__ import annotations

import pytest

from tests.channels.filters.helpers import ADDRESS
from tests.factories import DepartmentFactory
from vorgang.accounts.models import Department


@pytest.fixture
def department(db) -> Department:
    """The Bürgerbüro of the default tenant, at ADDRESS."""
    return DepartmentFactory(name="Bürgerbüro", email_address=ADDRESS)
