"""Zammad's field names (``state.name:``, ``group_id:``, ...), the access level and
pages without snippets: what the API's /tickets/search needs from the engine."""

from __future__ import annotations

import pytest

from tests.factories import AgentFactory, CitizenFactory, DepartmentFactory, TenantFactory
from vorgang.accounts.models import AccessLevel, Organisation
from vorgang.search.engine import MAX_PER_PAGE, MAX_PER_PAGE_WITHOUT_SNIPPETS, search
from vorgang.tickets import services
from vorgang.tickets.models import State, Ticket

pytestmark = pytest.mark.django_db


def ids(result) -> set[int]:
    assert result.error is None, result.error
    return {h.ticket_id for h in result.hits}


@pytest.fixture
def world(department, other_department, make_case, committed):
    agent = AgentFactory(departments={department: ["full"], other_department: ["full"]})
    firm = Organisation.objects.create(tenant=department.tenant, name="Musterfirma GmbH")
    erika = CitizenFactory(tenant=department.tenant, email="erika@example.org")
    a = make_case(
        department, "Ersatzführerschein beantragt", citizen=erika, organisation=firm, priority=3
    )
    b = make_case(other_department, "Umschreibung")
    c = make_case(department, "Wohngeld")
    with committed():
        services.assign(None, b, agent)
        services.change_state(None, c, "open")
        services.tag(None, a, "eilig")
    return {"agent": agent, "firm": firm, "erika": erika, "a": a, "b": b, "c": c}


def test_zammad_names_filter_like_the_desk_names(world, other_department) -> None:
    agent, a, b, c = world["agent"], world["a"].pk, world["b"].pk, world["c"].pk
    firm, erika = world["firm"], world["erika"]
    a_priority = Ticket.objects.get(pk=a).priority_id

    def found(query: str) -> set[int]:
        return ids(search(agent, query))

    assert found("state.name:open") == {c}
    assert found(f"state_id:{State.objects.get(name='open').pk}") == {c}
    assert found("group.name:Standesamt") == {b}
    assert found(f"group_id:{other_department.pk}") == {b}
    assert found(f"-group_id:{other_department.pk}") == {a, c}
    assert found("priority:high") == {a}
    assert found('priority.name:"3 high"') == {a}
    assert found(f"priority_id:{a_priority}") == {a}
    assert found("-priority:high") == {b, c}
    assert found(f"owner.login:{agent.username}") == {b}
    assert found(f"owner.email:{agent.email.upper()}") == {b}
    assert found(f"owner_id:{agent.pk}") == {b}
    assert found(f"-owner_id:{agent.pk}") == {a, c}  # unowned cases are "not Anna's"
    assert found("customer.email:ERIKA@example.org") == {a}
    assert found("customer.email:niemand@example.org") == set()  # no error: no hint
    assert found(f"customer_id:{erika.pk}") == {a}
    assert found('organization.name:"Musterfirma GmbH"') == {a}
    assert found('organization:"musterfirma gmbh"') == {a}
    assert found(f"organization_id:{firm.pk}") == {a}
    assert found(f"-organization_id:{firm.pk}") == {b, c}  # no organisation is "not that one"
    assert found("title:führerschein") == {a}
    assert found('title:"Ersatzführerschein beantragt"') == {a}
    assert found("-title:Umschreibung") == {a, c}
    assert found("title:50%") == set()  # LIKE wildcards are plain characters
    assert found("tags:eilig") == {a}
    assert found("state.name:new AND group.name:Bürgerbüro") == {a}
    assert found(f"group_id:{other_department.pk},{a_priority + 10_000}") == {b}


def test_title_priority_and_organisation_are_read_from_the_case(world) -> None:
    """Not in the index: a change is found at once, before any re-indexing."""
    agent, c = world["agent"], world["c"]
    Ticket.objects.filter(pk=c.pk).update(title="Wohngeld und Führerschein")
    assert ids(search(agent, "title:Führerschein")) == {world["a"].pk, c.pk}


@pytest.mark.parametrize(
    "query",
    [
        "state_id:open",
        "group_id:1.5",
        "owner_id:-1",
        "customer_id:²",
        "priority_id:1,x",
        "organization_id:" + "9" * 19,
    ],
)
def test_id_fields_take_whole_numbers(world, query) -> None:
    result = search(world["agent"], query)
    assert result.error is not None and result.error.code == "bad_value"
    assert query.split(":")[0] + ":" in result.error.message
    assert result.hits == [] and result.total == 0


@pytest.mark.parametrize("query", ["priority:dringend", "organization.name:Nirgendwo"])
def test_unknown_priority_and_organisation_are_explained(world, query) -> None:
    result = search(world["agent"], query)
    assert result.error is not None and result.error.code == "bad_value"
    assert "Nirgendwo" in result.error.message or "3 high" in result.error.message


def test_ids_of_another_tenant_find_nothing(world, make_case) -> None:
    elsewhere = DepartmentFactory(tenant=TenantFactory(), name="Bürgerbüro")
    theirs = make_case(elsewhere, "Führerschein")
    stranger = AgentFactory(tenant=elsewhere.tenant, departments={elsewhere: ["full"]})
    assert ids(search(stranger, f"customer_id:{world['erika'].pk}")) == set()
    assert ids(search(stranger, f"organization_id:{world['firm'].pk}")) == set()
    assert ids(search(stranger, "title:führerschein")) == {theirs.pk}
    assert search(stranger, 'organization.name:"Musterfirma GmbH"').error is not None


def test_level_read_leaves_out_cases_one_may_only_list(department, make_case) -> None:
    make_case(department, "Wohngeld")
    overview = AgentFactory(departments={department: ["overview"]})
    reader = AgentFactory(departments={department: ["read"]})
    assert search(overview, "Wohngeld").total == 1
    only_listed = search(overview, "Wohngeld", level=AccessLevel.READ)
    assert only_listed.total == 0 and only_listed.hits == []
    assert search(reader, "Wohngeld", level=AccessLevel.READ).total == 1


def test_pages_without_snippets_may_be_larger(agent, department, make_case) -> None:
    case = make_case(department, "Wohngeld", body="Der Bescheid zum Wohngeld fehlt.")
    bare = search(agent, "Wohngeld", per_page=10**6, with_snippets=False)
    assert bare.per_page == MAX_PER_PAGE_WITHOUT_SNIPPETS
    assert [(h.ticket_id, h.snippet_html) for h in bare.hits] == [(case.pk, "")]
    full = search(agent, "Wohngeld", per_page=10**6)
    assert full.per_page == MAX_PER_PAGE
    assert "<mark>" in full.hits[0].snippet_html
