"""Every state transition, allowed or refused, through services.change_state."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.factories import AgentFactory, TicketFactory
from vorgang.core import clock
from vorgang.core.errors import InvalidInput, InvalidTransition
from vorgang.tickets import services, workflow
from vorgang.tickets.models import History, State, StateKind

pytestmark = pytest.mark.django_db

KINDS = [k for k in StateKind.values if k != StateKind.MERGED]


def state_name(kind: str) -> str:
    return State.objects.get(kind=kind).name


def ticket_in(kind: str):
    trait = {
        StateKind.NEW: {},
        StateKind.OPEN: {"open": True},
        StateKind.PENDING_REMINDER: {"pending_reminder": True},
        StateKind.PENDING_CLOSE: {"pending_close": True},
        StateKind.CLOSED: {"closed": True},
    }[kind]
    return TicketFactory(**trait)


@pytest.mark.parametrize("from_kind", KINDS)
@pytest.mark.parametrize("to_kind", KINDS)
def test_transition_follows_the_workflow(from_kind: str, to_kind: str) -> None:
    ticket = ticket_in(from_kind)
    agent = AgentFactory(departments={ticket.department: ["full"]})
    entries_before = History.objects.filter(ticket=ticket).count()
    pending = clock.now() + timedelta(days=1) if to_kind in workflow.NEEDS_PENDING_DATE else None
    allowed = from_kind == to_kind or workflow.can_move(from_kind, to_kind)

    if allowed:
        changed = services.change_state(agent, ticket, state_name(to_kind), pending_until=pending)
        assert changed.state.kind == to_kind
        assert (changed.closed_at is not None) == (to_kind == StateKind.CLOSED)
        assert (changed.pending_until is not None) == (to_kind in workflow.NEEDS_PENDING_DATE)
    else:
        with pytest.raises(InvalidTransition):
            services.change_state(agent, ticket, state_name(to_kind), pending_until=pending)
        ticket.refresh_from_db()
        assert ticket.state.kind == from_kind
        assert History.objects.filter(ticket=ticket).count() == entries_before


def test_new_is_never_reached_again() -> None:
    ticket = TicketFactory(open=True)
    with pytest.raises(InvalidTransition):
        services.change_state(None, ticket, "new")


def test_pending_state_needs_an_aware_date() -> None:
    ticket = TicketFactory()
    with pytest.raises(InvalidInput, match="pending date"):
        services.change_state(None, ticket, "pending reminder")
    naive = clock.now().replace(tzinfo=None) + timedelta(days=1)
    with pytest.raises(InvalidInput, match="time zone"):
        services.change_state(None, ticket, "pending reminder", pending_until=naive)
    ticket.refresh_from_db()
    assert ticket.state.kind == StateKind.NEW


def test_merged_cannot_be_set_by_state_change() -> None:
    ticket = TicketFactory()
    with pytest.raises(InvalidTransition, match="merge"):
        services.change_state(None, ticket, "merged")


def test_a_merged_case_does_not_change_any_more() -> None:
    source, target = TicketFactory(), TicketFactory()
    services.merge(None, source, target)
    with pytest.raises(InvalidTransition, match="merged into"):
        services.change_state(None, source, "open")
    with pytest.raises(InvalidTransition):
        services.add_article(None, source, services.ArticleInput(body="late"))


def test_unknown_state_is_a_clear_error() -> None:
    ticket = TicketFactory()
    with pytest.raises(InvalidInput, match="Unknown state"):
        services.change_state(None, ticket, "archived")


def test_reopening_clears_closed_at() -> None:
    ticket = TicketFactory(closed=True)
    assert ticket.closed_at is not None
    reopened = services.change_state(None, ticket, "open")
    assert reopened.closed_at is None


def test_pending_date_is_cleared_when_leaving_pending() -> None:
    ticket = TicketFactory(pending_reminder=True)
    assert ticket.pending_until is not None
    assert services.change_state(None, ticket, "open").pending_until is None
