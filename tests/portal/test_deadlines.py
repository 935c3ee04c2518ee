"""Deadlines of requests for information: one reminder before, then the department's choice."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from django.core import mail
from django.utils import timezone

from vorgang.core import clock
from vorgang.core.models import RateLimitHit
from vorgang.portal import deadlines, information
from vorgang.portal.models import InformationRequest
from vorgang.tickets import services
from vorgang.tickets.models import Article

from .conftest import World

pytestmark = pytest.mark.django_db

START = timezone.make_aware(datetime(2030, 3, 1, 9, 0))


@pytest.fixture
def pinned(monkeypatch: pytest.MonkeyPatch):
    """Set the time that ``vorgang.core.clock.now`` answers; starts at START."""
    current = {"now": START}
    monkeypatch.setattr(clock, "now", lambda: current["now"])

    def set_to(value: datetime) -> None:
        current["now"] = value

    return set_to


def _request(world: World, on_deadline: str, days: int = 14) -> InformationRequest:
    return information.create_request(
        world.agent,
        world.ticket,
        documents=["eye_test"],
        questions="Bitte den Sehtest schicken.",
        deadline=date(2030, 3, 1) + timedelta(days=days),
        on_deadline=on_deadline,
    )


def _system_mails(world: World) -> list[Article]:
    return list(Article.objects.filter(ticket=world.ticket, kind="email", sender="system"))


def test_reminder_two_days_before_the_deadline_once(
    world: World, pinned, django_capture_on_commit_callbacks
) -> None:
    request = _request(world, "remind")
    pinned(START + timedelta(days=10))
    assert deadlines.run_due() == 0 and _system_mails(world) == []
    pinned(request.deadline - timedelta(days=1, hours=12))
    with django_capture_on_commit_callbacks(execute=True):
        assert deadlines.run_due() == 1
    reminders = _system_mails(world)
    assert len(reminders) == 1
    reminder = reminders[0]
    assert reminder.delivery_status == "sent"  # queued, then sent by the (immediate) worker
    assert "Erinnerung" in reminder.subject and reminder.to == "max.mustermann@example.org"
    assert "Sehtest" in reminder.body and "http://testserver/c/" in reminder.body
    # Sent by the worker: the system mail goes out through the outbox.
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["max.mustermann@example.org"]
    pinned(request.deadline - timedelta(hours=2))
    assert deadlines.run_due() == 0
    assert len(_system_mails(world)) == 1
    request.refresh_from_db()
    assert request.reminders == 1 and request.reminded_at is not None


def test_no_early_reminder_for_a_short_deadline(world: World, pinned) -> None:
    _request(world, "remind", days=1)
    pinned(START + timedelta(hours=3))
    deadlines.run_due()
    assert _system_mails(world) == []


def test_deadline_remind_again_moves_the_deadline(world: World, pinned) -> None:
    request = _request(world, "remind")
    pinned(request.deadline + timedelta(minutes=5))
    assert deadlines.run_due() == 1
    request.refresh_from_db()
    world.ticket.refresh_from_db()
    assert request.is_open and request.extensions == 1
    assert request.deadline > clock.now() + timedelta(days=6)
    assert world.ticket.state.kind == "pending_reminder"
    assert world.ticket.pending_until == request.deadline
    assert len(_system_mails(world)) == 1
    # Again and again, then the owner is told instead.
    for _round in range(deadlines.MAX_EXTENSIONS):
        request.refresh_from_db()
        pinned(request.deadline + timedelta(minutes=5))
        deadlines.run_due()
    request.refresh_from_db()
    world.ticket.refresh_from_db()
    assert request.closed and request.extensions == deadlines.MAX_EXTENSIONS
    assert world.ticket.state.kind == "open"


def test_deadline_notify_owner(world: World, pinned, django_capture_on_commit_callbacks) -> None:
    request = _request(world, "notify_owner")
    pinned(request.deadline + timedelta(hours=1))
    with django_capture_on_commit_callbacks(execute=True):
        assert deadlines.run_due() == 1
    request.refresh_from_db()
    world.ticket.refresh_from_db()
    assert request.closed and request.deadline_handled_at == clock.now()
    assert world.ticket.state.kind == "open"
    note = Article.objects.get(ticket=world.ticket, kind="note")
    assert note.internal and note.sender == "system"
    owner_mails = [m for m in mail.outbox if m.to == ["anna@stadt.example"]]
    assert len(owner_mails) == 1
    assert "Frist abgelaufen" in owner_mails[0].subject
    assert _system_mails(world) == []  # nothing to the citizen
    assert deadlines.run_due() == 0  # done once


def test_deadline_close_with_a_message(
    world: World, pinned, django_capture_on_commit_callbacks
) -> None:
    request = _request(world, "close")
    pinned(request.deadline + timedelta(hours=1))
    with django_capture_on_commit_callbacks(execute=True):
        assert deadlines.run_due() == 1
    request.refresh_from_db()
    world.ticket.refresh_from_db()
    assert request.closed
    assert world.ticket.state.kind == "closed"
    closing = _system_mails(world)
    assert len(closing) == 1
    assert "abgeschlossen" in closing[0].subject
    assert "http://testserver/c/" in closing[0].body
    assert [m.to for m in mail.outbox] == [["max.mustermann@example.org"]]


def test_answered_request_is_left_alone(world: World, pinned) -> None:
    request = _request(world, "close")
    information.answer(world.citizen, world.ticket, body="Kommt per Post.")
    pinned(request.deadline + timedelta(days=1))
    assert deadlines.run_due() == 0
    world.ticket.refresh_from_db()
    assert world.ticket.state.kind == "open"


def test_case_reopened_by_an_agent_ends_the_request_quietly(world: World, pinned) -> None:
    request = _request(world, "close")
    services.change_state(world.agent, world.ticket, "open")
    pinned(request.deadline + timedelta(days=1))
    deadlines.run_due()
    request.refresh_from_db()
    world.ticket.refresh_from_db()
    assert request.closed and world.ticket.state.kind == "open"
    assert _system_mails(world) == []


def test_old_link_requests_are_forgotten(world: World, pinned) -> None:
    for age in (timedelta(days=2), timedelta(minutes=30)):
        RateLimitHit.objects.create(
            scope="portal.link.address",
            key_hash="a",
            created_at=START - age,
            expires_at=START - age + timedelta(hours=1),
        )
    deadlines.run_due()
    assert RateLimitHit.objects.count() == 1
