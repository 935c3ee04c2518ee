from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture
def capture(django_capture_on_commit_callbacks: Any) -> Any:
    """Run the after-commit subscribers inside the test transaction."""
    return django_capture_on_commit_callbacks
