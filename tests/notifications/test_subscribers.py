"""Notifications written from case events, after the change has committed."""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories import AgentFactory, DepartmentFactory, TenantFactory, TicketFactory
from vorgang.accounts import access
from vorgang.accounts.models import Department, DepartmentAccess, User
from vorgang.notifications import selectors, services
from vorgang.notifications.models import NotificationKind, OnlineNotification
from vorgang.tickets import services as tickets
from vorgang.tickets.models import Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def dep(tenant) -> Department:
    return DepartmentFactory(tenant=tenant)


@pytest.fixture
def owner(dep) -> User:
    return AgentFactory(departments={dep: ["full"]})


@pytest.fixture
def boss(dep) -> User:
    return AgentFactory(departments={dep: ["full"]})


@pytest.fixture
def case(dep) -> Ticket:
    return TicketFactory(department=dep)


def kinds(user: User) -> list[tuple[str, int | None]]:
    return [(n.kind, n.actor_id) for n in OnlineNotification.objects.filter(user=user)]


def test_assigning_notifies_the_new_owner(case, owner, boss, capture: Any) -> None:
    with capture(execute=True):
        tickets.assign(boss, case, owner)
    assert kinds(owner) == [(NotificationKind.ASSIGNED, boss.pk)]
    assert kinds(boss) == []


def test_taking_a_case_yourself_notifies_nobody(case, owner, capture: Any) -> None:
    with capture(execute=True):
        tickets.assign(owner, case, owner)
    assert not OnlineNotification.objects.exists()


def test_unassigning_notifies_nobody(case, owner, boss, capture: Any) -> None:
    tickets.assign(None, case, owner)
    with capture(execute=True):
        tickets.assign(boss, case, None)
    assert not OnlineNotification.objects.exists()


def test_case_created_with_an_owner_notifies_the_owner(dep, owner, boss, capture: Any) -> None:
    with capture(execute=True):
        tickets.create_ticket(boss, department=dep, title="Antrag", owner=owner)
    assert kinds(owner) == [(NotificationKind.ASSIGNED, boss.pk)]


def test_citizen_reply_notifies_the_owner_once_while_unseen(case, owner, capture: Any) -> None:
    tickets.assign(None, case, owner)
    reply = tickets.ArticleInput(body="Hier die Unterlagen", kind="email", sender="citizen")
    with capture(execute=True):
        tickets.add_article(None, case, reply)
        tickets.add_article(None, case, reply)
    assert kinds(owner) == [(NotificationKind.CITIZEN_REPLIED, None)]
    services.mark_all_seen(owner)
    with capture(execute=True):
        tickets.add_article(None, case, reply)
    assert OnlineNotification.objects.filter(user=owner).count() == 2


def test_agent_articles_and_internal_notes_notify_nobody(case, owner, boss, capture: Any) -> None:
    tickets.assign(None, case, owner)
    with capture(execute=True):
        tickets.add_article(boss, case, tickets.ArticleInput(body="Notiz", internal=True))
        tickets.add_article(boss, case, tickets.ArticleInput(body="Antwort", kind="email"))
    assert not OnlineNotification.objects.exists()


def test_first_message_of_a_case_is_no_reply(dep, owner, capture: Any) -> None:
    with capture(execute=True):
        tickets.create_ticket(
            None,
            department=dep,
            title="Neu",
            owner=owner,
            article=tickets.ArticleInput(body="Antrag", kind="email", sender="citizen"),
        )
    assert kinds(owner) == [(NotificationKind.ASSIGNED, None)]


def test_nobody_without_read_access_is_notified(case, dep) -> None:
    overview_only = AgentFactory(departments={dep: ["overview"]})
    assert services.notify(overview_only, case, NotificationKind.MENTION) is None
    outsider = AgentFactory(tenant=TenantFactory(), departments={})
    assert services.notify(outsider, case, NotificationKind.MENTION) is None
    assert not OnlineNotification.objects.exists()


def test_lost_access_hides_the_notification(case, owner) -> None:
    services.notify(owner, case, NotificationKind.MENTION)
    assert selectors.unseen_count(owner) == 1
    DepartmentAccess.objects.filter(user=owner).delete()
    access.forget(owner)
    assert selectors.unseen_count(owner) == 0
    assert list(selectors.for_user(owner)) == []


def test_reminder_goes_to_owner_or_everyone_who_may_own(case, owner, boss, dep) -> None:
    reader = AgentFactory(departments={dep: ["read"]})
    created = services.reminder_reached(case)
    assert {n.user_id for n in created} == {owner.pk, boss.pk}
    assert kinds(reader) == []
    OnlineNotification.objects.all().delete()
    tickets.assign(None, case, owner)
    case.refresh_from_db()
    assert [n.user_id for n in services.reminder_reached(case)] == [owner.pk]


def test_unknown_kind_is_a_programming_error(case, owner) -> None:
    with pytest.raises(ValueError, match="unknown notification kind"):
        services.notify(owner, case, "party")


def test_what_the_event_says_spares_queries(case, owner, django_assert_num_queries) -> None:
    """A note, or the message that opened a case, needs no look-up; a citizen's message
    on a case nobody owns needs one (the owner)."""
    from vorgang.notifications.subscribers import citizen_replied
    from vorgang.tickets import events

    def event(**about: Any) -> events.Event:
        return events.Event(events.ARTICLE_CREATED, case.pk, None, 1, about)

    with django_assert_num_queries(0):
        citizen_replied(event(kind="note", sender="citizen", internal=True))
        citizen_replied(event(kind="email", sender="citizen", internal=False, opens_case=True))
        citizen_replied(event(kind="email", sender="agent", internal=False))
    with django_assert_num_queries(1):
        citizen_replied(event(kind="email", sender="citizen", internal=False))
