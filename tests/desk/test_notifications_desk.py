"""Notifications in the desk (bell, page, mark read) and by e-mail to a real SMTP server."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from django.test import Client
from django.urls import reverse

from tests.channels.outbound.conftest import ScriptedHandler, free_port
from vorgang.core import clock
from vorgang.notifications import mentions, preferences, reminders
from vorgang.notifications.models import NotificationKind, OnlineNotification
from vorgang.tickets import services
from vorgang.tickets.models import StateKind

from .conftest import World, make_agent

pytestmark = pytest.mark.django_db


@pytest.fixture
def smtp(settings: Any) -> Iterator[ScriptedHandler]:
    """A real SMTP relay; tasks run at once, as a worker would right after the commit."""
    handler = ScriptedHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port(), ready_timeout=10)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    settings.EMAIL_TIMEOUT = 10
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.DEFAULT_FROM_EMAIL = "vorgang@stadt.example"
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    try:
        yield handler
    finally:
        controller.stop()


@pytest.fixture
def committed(django_capture_on_commit_callbacks: Any) -> Any:
    return lambda: django_capture_on_commit_callbacks(execute=True)


def notice(world: World, user: Any = None, kind: str = "citizen_replied") -> OnlineNotification:
    return OnlineNotification.objects.create(
        tenant=world.tenant, user=user or world.agent, ticket=world.ticket, kind=kind
    )


# --- the bell and the page ----------------------------------------------------------------


def test_the_bell_counts_unread_and_says_so(world: World, agent_client: Client) -> None:
    html = agent_client.get(reverse("desk:settings")).content.decode()
    assert 'aria-label="Benachrichtigungen: keine ungelesen"' in html  # the agent's language
    notice(world)
    notice(world, kind="mention")
    OnlineNotification.objects.create(
        tenant=world.tenant, user=world.agent, ticket=world.other_ticket, kind="mention"
    )  # a case Anna may not read: never counted
    html = agent_client.get(reverse("desk:notification_bell")).content.decode()
    assert 'aria-label="Benachrichtigungen: 2 ungelesen"' in html
    assert 'hx-trigger="every 30s"' in html


def test_the_page_lists_own_readable_notifications(world: World, agent_client: Client) -> None:
    notice(world)
    notice(world, world.reader, kind="mention")  # Rudi's
    OnlineNotification.objects.create(
        tenant=world.tenant, user=world.agent, ticket=world.other_ticket, kind="assigned"
    )
    html = agent_client.get(reverse("desk:notifications")).content.decode()
    assert "Die Bürger:in hat geantwortet" in html  # the agent's language: German
    assert reverse("desk:case", args=[world.ticket.pk]) in html
    assert "erwähnt" not in html
    assert world.other_ticket.title not in html
    assert "1 ungelesene Benachrichtigung." in html


def test_mark_one_read_unread_and_all(world: World, agent_client: Client) -> None:
    first, second = notice(world), notice(world, kind="mention")
    response = agent_client.post(reverse("desk:notification_read", args=[first.pk]))
    assert response.status_code == 302
    first.refresh_from_db()
    assert first.seen
    agent_client.post(reverse("desk:notification_read", args=[first.pk]), {"seen": "0"})
    first.refresh_from_db()
    assert not first.seen
    agent_client.post(reverse("desk:notifications_read"))
    assert OnlineNotification.objects.filter(seen=False).count() == 0
    assert second.pk  # both were the agent's own


def test_nobody_marks_another_agents_notification(world: World, agent_client: Client) -> None:
    theirs = notice(world, world.reader)
    response = agent_client.post(reverse("desk:notification_read", args=[theirs.pk]))
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert not theirs.seen


def test_citizens_and_integrations_have_no_notifications_page(world: World, client: Client) -> None:
    client.force_login(world.ticket.citizen)
    assert client.get(reverse("desk:notifications")).status_code == 403
    client.force_login(make_agent("formserver", None, role="integration"))
    assert client.get(reverse("desk:notifications")).status_code == 403
    assert client.get(reverse("desk:notification_bell")).status_code == 403


# --- e-mail -------------------------------------------------------------------------------


def test_assignment_mails_the_new_owner_without_citizen_data(
    world: World, smtp: ScriptedHandler, committed: Any
) -> None:
    boss = make_agent("bert", world.department, "full", first_name="Bert", last_name="Chef")
    with committed():
        services.assign(boss, world.ticket, world.agent)
    assert OnlineNotification.objects.filter(user=world.agent, kind="assigned").count() == 1
    (received,) = smtp.received
    assert received.rcpt_tos == ["anna@stadt.example"]
    message = received.message
    assert message["Subject"] == (
        f"[Vorgang#{world.ticket.number}] Vorgang Ihnen zugewiesen: {world.ticket.title}"
    )
    assert message["From"] == "vorgang@stadt.example"
    body = message.get_content()
    assert f"/cases/{world.ticket.pk}/" in body
    assert world.ticket.number in body and world.ticket.title in body
    assert "Bert Chef" in body
    for citizen_data in ("Mustermann", "max.mustermann@example.org", "anbei mein Antrag"):
        assert citizen_data not in body and citizen_data not in message["Subject"]


def test_mail_is_in_the_agents_language(
    world: World, smtp: ScriptedHandler, committed: Any
) -> None:
    world.agent.language = "en"
    world.agent.save()
    with committed():
        services.assign(None, world.ticket, world.agent)
    body = smtp.received[0].message.get_content()
    assert "This case was assigned to you." in body
    assert "Open the case:" in body


def test_a_citizen_reply_mails_and_notifies_the_owner(
    world: World, smtp: ScriptedHandler, committed: Any
) -> None:
    services.assign(None, world.ticket, world.agent)  # outside `committed`: no mail yet
    with committed():
        services.add_article(
            None,
            world.ticket,
            services.ArticleInput(body="Noch eine Frage", kind="email", sender="citizen"),
        )
    assert OnlineNotification.objects.filter(user=world.agent, kind="citizen_replied").exists()
    assert [r.rcpt_tos for r in smtp.received] == [["anna@stadt.example"]]
    assert "Noch eine Frage" not in smtp.received[0].message.get_content()


def test_preferences_are_honoured(world: World, smtp: ScriptedHandler, committed: Any) -> None:
    preferences.save(world.agent, in_app=["assigned"], email=["mention"])
    with committed():
        services.assign(None, world.ticket, world.agent)
    assert OnlineNotification.objects.filter(user=world.agent, kind="assigned").exists()
    assert smtp.received == []  # no e-mail for assignments
    preferences.save(world.agent, in_app=[], email=["mention"])
    author = make_agent("bert", world.department, "full")
    with committed():
        services.add_article(
            author, world.ticket, services.ArticleInput(body="@anna bitte ansehen", internal=True)
        )
    assert not OnlineNotification.objects.filter(kind="mention").exists()  # not in the desk
    assert [r.rcpt_tos for r in smtp.received] == [["anna@stadt.example"]]  # but by e-mail


# --- mentions --------------------------------------------------------------------------------


def test_mentions_by_login_and_by_quoted_name(
    world: World, smtp: ScriptedHandler, committed: Any
) -> None:
    author = make_agent("bert", world.department, "full", first_name="Bert")
    outsider = make_agent("olga", world.other_department, "full", first_name="Olga")
    text = '@anna und @"Rudi Leser", bitte prüfen. Kopie an @olga und rudi@stadt.example.'
    with committed():
        services.add_article(author, world.ticket, services.ArticleInput(body=text, internal=True))
    mentioned = set(
        OnlineNotification.objects.filter(kind="mention").values_list("user__username", flat=True)
    )
    assert mentioned == {"anna", "rudi"}  # Olga may not read the case: not told
    assert sorted(r.rcpt_tos[0] for r in smtp.received) == [
        "anna@stadt.example",
        "rudi@stadt.example",
    ]
    assert outsider.pk not in {u.pk for u in mentions.find(text, world.ticket)}


def test_mentions_only_in_internal_notes_by_agents(world: World, committed: Any) -> None:
    with committed():
        services.add_article(
            None,
            world.ticket,
            services.ArticleInput(body="@anna hallo", kind="email", sender="citizen"),
        )
    assert not OnlineNotification.objects.filter(kind="mention").exists()


def test_mention_parsing() -> None:
    logins, names = mentions.parse('Hi @anna. Und @"Rudi  Leser"! Mail: x@anna.de, @b.c-')
    assert logins == {"anna", "b.c"}
    assert names == {"rudi leser"}


# --- reminders ------------------------------------------------------------------------------


def test_a_reached_reminder_is_announced_once(
    world: World, smtp: ScriptedHandler, committed: Any
) -> None:
    services.assign(None, world.ticket, world.agent)
    services.change_state(
        None,
        world.ticket,
        StateKind.PENDING_REMINDER,
        pending_until=clock.now() + timedelta(hours=1),
    )
    assert reminders.notify_due() == 0  # not yet
    services.change_state(
        None,
        world.ticket,
        StateKind.PENDING_REMINDER,
        pending_until=clock.now() - timedelta(minutes=1),
    )
    with committed():
        assert reminders.notify_due() == 1
    with committed():
        assert reminders.notify_due() == 0
    assert (
        OnlineNotification.objects.filter(
            user=world.agent, kind=NotificationKind.REMINDER_REACHED
        ).count()
        == 1
    )
    assert [r.rcpt_tos for r in smtp.received] == [["anna@stadt.example"]]


def test_no_notification_for_agents_who_lost_access(world: World, committed: Any) -> None:
    services.assign(None, world.ticket, world.agent)
    world.agent.department_access.all().delete()
    with committed():
        services.add_article(
            None,
            world.ticket,
            services.ArticleInput(body="Frage", kind="email", sender="citizen"),
        )
    assert not OnlineNotification.objects.filter(user=world.agent).exists()


def test_case_page_messages_are_mailed_by_the_portal_only(
    world: World, smtp: ScriptedHandler, committed: Any
) -> None:
    services.assign(None, world.ticket, world.agent)
    with committed():
        services.add_article(
            world.ticket.citizen,
            world.ticket,
            services.ArticleInput(body="Über die Vorgangsseite", kind="portal"),
        )
    assert OnlineNotification.objects.filter(user=world.agent, kind="citizen_replied").exists()
    assert smtp.received == []  # portal.mail.notify_owner tells the owner, not a second mail
