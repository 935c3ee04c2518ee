"""Every access level against every service, and the walls between departments and tenants."""

from __future__ import annotations

import pytest

from tests.factories import (
    AdminFactory,
    AgentFactory,
    CitizenFactory,
    DepartmentFactory,
    TenantFactory,
    TicketFactory,
)
from vorgang.core.errors import NotFound, PermissionDenied
from vorgang.tickets import selectors, services
from vorgang.tickets.models import History, Ticket

pytestmark = pytest.mark.django_db

LEVELS = ["read", "create", "change", "overview", "full"]

# What each single level permits (Zammad's group permissions).
CAN_LIST = {"read", "overview", "full"}
CAN_READ = {"read", "full"}
CAN_CHANGE = {"change", "full"}
CAN_CREATE = {"create", "full"}
CAN_OWN = {"full"}


def note(text: str = "Vermerk") -> services.ArticleInput:
    return services.ArticleInput(body=text, internal=True)


CHANGES = {
    "note": lambda actor, t: services.add_article(actor, t, note()),
    "state": lambda actor, t: services.change_state(actor, t, "open"),
    "priority": lambda actor, t: services.set_priority(actor, t, "3 high"),
    "title": lambda actor, t: services.set_title(actor, t, "Neuer Titel"),
    "tag": lambda actor, t: services.tag(actor, t, "eilig"),
}


@pytest.mark.parametrize("level", LEVELS)
def test_listing_and_reading_follow_the_level(level: str) -> None:
    ticket = TicketFactory()
    agent = AgentFactory(departments={ticket.department: [level]})
    listed = selectors.visible_tickets(agent).filter(pk=ticket.pk).exists()
    assert listed == (level in CAN_LIST)
    if level in CAN_READ:
        assert selectors.get_ticket(agent, ticket.pk) == ticket
    else:
        with pytest.raises(NotFound):
            selectors.get_ticket(agent, ticket.pk)


LEVEL_SETS = [[level] for level in LEVELS] + [["read", "change"], ["overview", "change"]]


@pytest.mark.parametrize("levels", LEVEL_SETS, ids="+".join)
@pytest.mark.parametrize("change", sorted(CHANGES))
def test_changes_need_change_or_full(levels: list[str], change: str) -> None:
    ticket = TicketFactory()
    agent = AgentFactory(departments={ticket.department: levels})
    before = History.objects.filter(ticket=ticket).count()
    sees = bool(CAN_LIST.intersection(levels))
    if sees and CAN_CHANGE.intersection(levels):
        CHANGES[change](agent, ticket)
        assert History.objects.filter(ticket=ticket).count() > before
    else:
        # Who cannot see the department's cases is told the case does not exist; else 403.
        expected = PermissionDenied if sees else NotFound
        with pytest.raises(expected):
            CHANGES[change](agent, ticket)
        assert History.objects.filter(ticket=ticket).count() == before


@pytest.mark.parametrize("level", LEVELS)
def test_creating_needs_create_or_full(level: str) -> None:
    department = DepartmentFactory()
    agent = AgentFactory(departments={department: [level]})
    if level in CAN_CREATE:
        ticket = services.create_ticket(agent, department=department, title="Anmeldung")
        assert ticket.created_by == agent
    else:
        with pytest.raises(PermissionDenied):
            services.create_ticket(agent, department=department, title="Anmeldung")
        assert not Ticket.objects.exists()


@pytest.mark.parametrize("level", LEVELS)
def test_only_full_access_may_own(level: str) -> None:
    ticket = TicketFactory()
    boss = AgentFactory(departments={ticket.department: ["full"]})
    candidate = AgentFactory(departments={ticket.department: [level]})
    if level in CAN_OWN:
        assert services.assign(boss, ticket, candidate).owner == candidate
    else:
        from vorgang.core.errors import InvalidInput

        with pytest.raises(InvalidInput, match="full access"):
            services.assign(boss, ticket, candidate)
        ticket.refresh_from_db()
        assert ticket.owner is None


def test_admin_role_alone_opens_no_case() -> None:
    ticket = TicketFactory()
    admin = AdminFactory()
    assert not selectors.visible_tickets(admin).exists()
    with pytest.raises(NotFound):
        selectors.get_ticket(admin, ticket.pk)
    with pytest.raises(NotFound):
        services.add_article(admin, ticket, note())


def test_agent_of_another_department_sees_nothing() -> None:
    ticket = TicketFactory()
    other = AgentFactory(departments={DepartmentFactory(): ["full"]})
    assert not selectors.visible_tickets(other).exists()
    with pytest.raises(NotFound):
        services.change_state(other, ticket, "open")
    with pytest.raises(NotFound):
        selectors.get_attachment(other, 1)


def test_tenant_wall_holds_for_services_and_selectors() -> None:
    ticket = TicketFactory()
    foreign_tenant = TenantFactory()
    foreign_department = DepartmentFactory(tenant=foreign_tenant)
    foreign_agent = AgentFactory(tenant=foreign_tenant, departments={foreign_department: ["full"]})
    # Even a grant on a department of another tenant gives nothing.
    from vorgang.accounts.models import DepartmentAccess

    DepartmentAccess.objects.create(user=foreign_agent, department=ticket.department, level="full")
    from vorgang.accounts import access

    access.forget(foreign_agent)
    assert not selectors.visible_tickets(foreign_agent).filter(pk=ticket.pk).exists()
    with pytest.raises(NotFound):
        services.tag(foreign_agent, ticket, "x")
    with pytest.raises(NotFound):
        services.create_ticket(foreign_agent, department=ticket.department, title="x")
    with pytest.raises(NotFound):
        services.merge(None, ticket, TicketFactory(department=foreign_department))


def test_citizen_reads_and_writes_only_their_own_case() -> None:
    ticket = TicketFactory()
    owner_citizen = ticket.citizen
    stranger = CitizenFactory()
    assert list(selectors.visible_tickets(owner_citizen)) == [ticket]
    article = services.add_article(
        owner_citizen, ticket, services.ArticleInput(body="Hier mein Nachweis", internal=True)
    )
    # Citizens never write internal notes, and always as citizen.
    assert article.internal is False
    assert article.sender == "citizen"
    with pytest.raises(NotFound):
        services.add_article(stranger, ticket, services.ArticleInput(body="hallo"))
    with pytest.raises(NotFound):
        services.change_state(owner_citizen, ticket, "closed")


def test_citizens_do_not_see_internal_notes() -> None:
    ticket = TicketFactory()
    services.add_article(None, ticket, note("nur intern"))
    bodies = [a.body for a in selectors.articles(ticket.citizen, ticket)]
    assert "nur intern" not in bodies
    assert len(bodies) == 1


def test_inactive_agent_can_do_nothing() -> None:
    ticket = TicketFactory()
    agent = AgentFactory(departments={ticket.department: ["full"]}, is_active=False)
    assert not selectors.visible_tickets(agent).exists()
    with pytest.raises(NotFound):
        services.add_article(agent, ticket, note())


def test_moving_needs_create_in_the_receiving_department() -> None:
    ticket = TicketFactory()
    target = DepartmentFactory()
    agent = AgentFactory(departments={ticket.department: ["full"], target: ["read"]})
    with pytest.raises(PermissionDenied):
        services.move(agent, ticket, target)
    access_agent = AgentFactory(departments={ticket.department: ["full"], target: ["create"]})
    services.assign(access_agent, ticket, access_agent)
    moved = services.move(access_agent, ticket, target)
    assert moved.department == target
    # The owner had no full access in the new department, so the case is unassigned.
    assert moved.owner is None


def test_may_see_draws_the_same_wall_as_visible_tickets() -> None:
    """may_see (one case read by id in plain SQL) and visible_tickets (the query) agree
    for every kind of person, every level and every case, across departments and tenants."""
    department, other = DepartmentFactory(), DepartmentFactory()
    citizen = CitizenFactory()
    elsewhere = TenantFactory()
    cases = [
        TicketFactory(department=department, citizen=citizen),
        TicketFactory(department=department),
        TicketFactory(department=other, citizen=citizen),
        TicketFactory(department=DepartmentFactory(tenant=elsewhere)),
    ]
    people = [AdminFactory(), citizen, CitizenFactory(), CitizenFactory(tenant=elsewhere)]
    people += [AgentFactory(departments={department: [level]}) for level in LEVELS]
    people += [AgentFactory(departments={other: ["full"], department: ["overview"]})]
    people += [AgentFactory(departments={department: ["full"]}, is_active=False)]
    for person in people:
        for level in ("read", "overview"):
            visible = set(selectors.visible_tickets(person, level).values_list("pk", flat=True))
            for case in cases:
                row = Ticket.objects.values("tenant_id", "department_id", "citizen_id").get(
                    pk=case.pk
                )
                assert selectors.may_see(person, row, level) == (case.pk in visible)
                assert selectors.may_see(person, case, level) == (case.pk in visible)
    assert any(selectors.may_see(person, cases[0]) for person in people)  # not all walls
