"""The index documents are the same whether a case is built alone (the plain-SQL read of
an event's few cases) or in a large batch (the ORM's server-side cursor of reindex_all)."""

from __future__ import annotations

from dataclasses import asdict

import pytest

from tests.factories import CitizenFactory, DepartmentFactory
from vorgang.search import documents
from vorgang.tickets import services

pytestmark = pytest.mark.django_db


def _case(number: int, department, citizen) -> int:
    ticket = services.create_ticket(
        None,
        department=department,
        title=f"Antrag {number}",
        citizen=citizen if number % 2 else None,
        article=services.ArticleInput(
            body=f"<p>Öffentlich {number}</p>",
            content_type="text/html",
            subject=f"Betreff {number}",
            attachments=[services.AttachmentInput(f"anlage-{number}.txt", b"Text", "text/plain")],
        ),
    )
    services.add_article(
        None,
        ticket,
        services.ArticleInput(body=f"Intern {number}", internal=True, kind="note"),
    )
    return ticket.pk


def test_a_large_batch_builds_the_documents_a_small_one_does() -> None:
    department = DepartmentFactory()
    citizen = CitizenFactory(first_name="Lena", last_name="Schulz", email="lena@example.org")
    ids = [_case(number, department, citizen) for number in range(documents.SMALL_BATCH + 5)]

    large = [asdict(doc) for doc in documents.build(ids)]
    small = [asdict(doc) for pk in ids for doc in documents.build([pk])]

    assert large == small
    first, second = large[0], large[1]
    assert first["citizen_id"] is None and first["citizen"] == ""
    assert second["citizen"].startswith("Lena Schulz lena@example.org")
    assert second["body"] == ["Betreff 1\nÖffentlich 1", "anlage-1.txt"]
    assert second["internal"] == ["Intern 1"]
    assert second["pending"] == [(second["pending"][0][0], "text/plain", "anlage-1.txt")]
    assert documents.build([ids[0], 10**9]) == documents.build([ids[0]])  # missing id: skipped
