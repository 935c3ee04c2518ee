"""Running test code in several threads at once, as parallel workers or requests would.

Each thread has its own database connection (Django's are per thread) and closes it at
the end, so that a transactional test can flush the tables afterwards.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

from django.db import connections

T = TypeVar("T")


def in_parallel(jobs: list[Callable[[], T]], timeout: float = 120) -> list[T]:
    """Run the jobs in threads started together; their results, in order. An exception
    of any job is raised here, in the test's thread."""
    start = threading.Barrier(len(jobs))
    results: list[T | None] = [None] * len(jobs)
    errors: list[BaseException] = []

    def run(k: int) -> None:
        try:
            start.wait(timeout=timeout)
            results[k] = jobs[k]()
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(k,)) for k in range(len(jobs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    if errors:
        raise errors[0]
    assert not any(thread.is_alive() for thread in threads), "a job did not finish in time"
    return results  # type: ignore[return-value]
