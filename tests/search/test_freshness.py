"""The index follows every kind of change through the write path's events."""

from __future__ import annotations

import pytest

from tests.factories import AgentFactory, CitizenFactory
from vorgang.search.engine import search
from vorgang.search.models import SearchDocument
from vorgang.tickets import services

pytestmark = pytest.mark.django_db


def found(user, query: str) -> set[int]:
    result = search(user, query)
    assert result.error is None, result.error
    return {h.ticket_id for h in result.hits}


def test_new_case_is_findable_at_once(agent, department, make_case) -> None:
    case = make_case(department, "Gewerbeanmeldung Imbiss")
    assert found(agent, "Gewerbeanmeldung") == {case.pk}
    assert SearchDocument.objects.filter(ticket_id=case.pk).exists()


def test_nothing_is_indexed_before_the_commit(
    agent, department, django_capture_on_commit_callbacks
):
    from vorgang.tickets.models import Ticket

    with django_capture_on_commit_callbacks(execute=False):
        services.create_ticket(None, department=department, title="Fischereischein")
    assert Ticket.objects.filter(title="Fischereischein").exists()
    assert found(agent, "Fischereischein") == set()


def test_new_article(agent, department, make_case, committed) -> None:
    case = make_case(department, "Anfrage")
    with committed():
        services.add_article(agent, case, services.ArticleInput(body="Hundesteuer abmelden"))
    assert found(agent, "Hundesteuer") == {case.pk}


def test_title_change(agent, department, make_case, committed) -> None:
    case = make_case(department, "Anfrage")
    with committed():
        services.set_title(agent, case, "Sondernutzung Gehweg")
    assert found(agent, "Sondernutzung") == {case.pk}
    assert found(agent, "Anfrage") == set()


def test_state_change(agent, department, make_case, committed) -> None:
    case = make_case(department, "Anfrage")
    with committed():
        services.change_state(agent, case, "open")
    assert found(agent, "state:open") == {case.pk}
    assert found(agent, "state:new") == set()


def test_department_move(agent, department, other_department, make_case, committed) -> None:
    agent.department_access.all().delete()
    from vorgang.accounts import access

    access.grant(agent, department.pk, ["full"])
    access.grant(agent, other_department.pk, ["create"])
    there = AgentFactory(departments={other_department: ["full"]})
    case = make_case(department, "Eheschließung")
    assert found(there, "Eheschliessung") == set()
    with committed():
        services.move(agent, case, other_department)
    assert found(there, "Eheschließung") == {case.pk}
    assert found(agent, "Eheschließung") == set()  # create access only: no overview


def test_merge_moves_the_words_to_the_target(agent, department, make_case, committed) -> None:
    source = make_case(department, "Erste Mail", body="Baugenehmigung Carport")
    target = make_case(department, "Zweite Mail", body="Nachfrage")
    with committed():
        services.merge(agent, source, target)
    assert found(agent, "Baugenehmigung") == {target.pk}
    assert found(agent, "state:merged") == {source.pk}


def test_tag_and_untag(agent, department, make_case, committed) -> None:
    case = make_case(department, "Anfrage")
    with committed():
        services.tag(agent, case, "Widerspruch")
    assert found(agent, "tag:widerspruch") == {case.pk}
    with committed():
        services.untag(agent, case, "Widerspruch")
    assert found(agent, "tag:widerspruch") == set()


def test_assign(agent, department, make_case, committed) -> None:
    case = make_case(department, "Anfrage")
    with committed():
        services.assign(agent, case, agent)
    assert found(agent, "owner:me") == {case.pk}


def test_citizen_rename(agent, department, make_case, committed) -> None:
    citizen = CitizenFactory(tenant=department.tenant, last_name="Altname")
    case = make_case(department, "Anfrage", citizen=citizen)
    with committed():
        citizen.last_name = "Neuname"
        citizen.save()
    assert found(agent, "Neuname") == {case.pk}
    assert found(agent, 'citizen:"Altname"') == set()


def test_deleted_case_leaves_no_trace(agent, department, make_case, committed) -> None:
    from vorgang.tickets.models import Article, History, Ticket

    case = make_case(department, "Löschkandidat")
    with committed():
        Article.objects.filter(ticket=case).delete()
        # History is append-only by design; retention deletes it with raw SQL.
        History.objects.filter(ticket=case)._raw_delete(History.objects.db)
        Ticket.objects.filter(pk=case.pk).delete()
    assert found(agent, "Löschkandidat") == set()
    assert not SearchDocument.objects.filter(ticket_id=case.pk).exists()


def test_the_worker_path_indexes_too(agent, department, make_case, settings) -> None:
    """With synchronous indexing off (the PostgreSQL default) a task does the work."""
    settings.VORGANG_SEARCH_SYNC = False
    case = make_case(department, "Parkausweis Anwohner")
    assert found(agent, "Parkausweis") == {case.pk}
