"""Search tests: tasks run at once, and each write delivers its after-commit events.

The ``db`` fixture wraps every test in a transaction that never commits, so
``transaction.on_commit`` callbacks (the domain events that keep the index fresh)
would never run; ``committed()`` runs them as a real commit does. Rolling back also
removes the SQLite FTS5 rows a test wrote (unlike a flush, which knows only models).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import pytest

from tests.factories import AgentFactory, CitizenFactory, DepartmentFactory
from vorgang.tickets import services


@pytest.fixture(autouse=True)
def _immediate_tasks(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture
def committed(django_capture_on_commit_callbacks) -> Callable[[], AbstractContextManager[Any]]:
    @contextmanager
    def run() -> Iterator[None]:
        with django_capture_on_commit_callbacks(execute=True):
            yield

    return run


@pytest.fixture
def department(db):
    return DepartmentFactory(name="Bürgerbüro")


@pytest.fixture
def other_department(db):
    return DepartmentFactory(name="Standesamt")


@pytest.fixture
def agent(department):
    return AgentFactory(departments={department: ["full"]})


@pytest.fixture
def make_case(committed) -> Callable[..., Any]:
    """make_case(department, title, body="", citizen=None, **kwargs) -> Ticket, indexed."""

    def make(department, title, body="Bitte bearbeiten.", citizen=None, **kwargs):
        citizen = citizen or CitizenFactory(tenant=department.tenant)
        with committed():
            return services.create_ticket(
                None,
                department=department,
                title=title,
                citizen=citizen,
                article=services.ArticleInput(body=body, kind="email", sender="citizen"),
                **kwargs,
            )

    return make
