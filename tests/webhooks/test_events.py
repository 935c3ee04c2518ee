"""Which changes become which deliveries: events, filters, inactive hooks, tenant walls."""

from __future__ import annotations

import pytest

from tests.factories import (
    AgentFactory,
    CitizenFactory,
    DepartmentFactory,
    TenantFactory,
    TicketFactory,
)
from vorgang.catalogue.models import OnlineService
from vorgang.tickets import services
from vorgang.webhooks.models import WebhookDelivery

from .conftest import make_webhook

pytestmark = pytest.mark.django_db

ALL_EVENTS = [
    "ticket.created",
    "ticket.updated",
    "ticket.state_changed",
    "article.created",
    "citizen.replied",
]


def events_of(webhook) -> list[str]:
    return sorted(d.event for d in WebhookDelivery.objects.filter(webhook=webhook))


def service_for(department, slug: str) -> OnlineService:
    return OnlineService.objects.create(
        tenant=department.tenant,
        slug=slug,
        name_de=slug,
        department=department,
        schema={"type": "object", "properties": {}},
    )


def test_new_case_gives_created_and_its_first_article_but_no_reply(
    department, django_capture_on_commit_callbacks
) -> None:
    hook = make_webhook("http://127.0.0.1:9/x", ALL_EVENTS)
    with django_capture_on_commit_callbacks(execute=True):
        TicketFactory(department=department)
    assert events_of(hook) == ["article.created", "ticket.created"]
    article = WebhookDelivery.objects.get(event="article.created").payload["article"]
    assert (article["sender"], article["type"], article["internal"]) == ("Customer", "email", False)


def test_state_change_is_an_update_and_a_state_change(
    department, django_capture_on_commit_callbacks
) -> None:
    ticket = TicketFactory(department=department)
    states = make_webhook("http://127.0.0.1:9/states", ["ticket.state_changed"])
    updates = make_webhook("http://127.0.0.1:9/updates", ["ticket.updated"])
    agent = AgentFactory(departments={department: ["full"]})

    with django_capture_on_commit_callbacks(execute=True):
        services.change_state(agent, ticket, "open")
        services.set_title(agent, ticket, "Neuer Titel")

    assert events_of(states) == ["ticket.state_changed"]
    assert events_of(updates) == ["ticket.updated", "ticket.updated"]
    change = WebhookDelivery.objects.get(webhook=states)
    assert change.payload["changes"] == {"state": ["new", "open"]}
    assert change.payload["ticket"]["state"] == "open"
    assert change.payload["actor_id"] == agent.pk


def test_citizen_reply_and_internal_note(department, django_capture_on_commit_callbacks) -> None:
    citizen = CitizenFactory(tenant=department.tenant)
    ticket = TicketFactory(department=department, citizen=citizen)
    replies = make_webhook("http://127.0.0.1:9/replies", ["citizen.replied"])
    articles = make_webhook("http://127.0.0.1:9/articles", ["article.created"])
    agent = AgentFactory(departments={department: ["full"]})

    with django_capture_on_commit_callbacks(execute=True):
        services.add_article(
            citizen, ticket, services.ArticleInput(body="Hier ist das Foto.", kind="portal")
        )
        services.add_article(
            agent, ticket, services.ArticleInput(body="Foto geprüft.", kind="note", internal=True)
        )

    assert events_of(replies) == ["citizen.replied"]
    reply = WebhookDelivery.objects.get(webhook=replies).payload["article"]
    assert (reply["sender"], reply["body"]) == ("Customer", "Hier ist das Foto.")
    notes = [d.payload["article"] for d in WebhookDelivery.objects.filter(webhook=articles)]
    assert sorted((a["sender"], a["internal"]) for a in notes) == [
        ("Agent", True),
        ("Customer", False),
    ]


def test_merge_is_announced_as_a_state_change_of_the_source(
    department, django_capture_on_commit_callbacks
) -> None:
    source, target = TicketFactory(department=department), TicketFactory(department=department)
    hook = make_webhook("http://127.0.0.1:9/x", ["ticket.state_changed"])
    agent = AgentFactory(departments={department: ["full"]})

    with django_capture_on_commit_callbacks(execute=True):
        services.merge(agent, source, target)

    (delivery,) = WebhookDelivery.objects.filter(webhook=hook)
    assert delivery.payload["ticket"]["id"] == source.pk
    assert delivery.payload["changes"]["state"] == [None, "merged"]
    assert delivery.payload["changes"]["merged_into_id"] == target.pk


def test_department_and_service_filters(department, django_capture_on_commit_callbacks) -> None:
    other = DepartmentFactory(tenant=department.tenant)
    licence = service_for(department, "fuehrerschein")
    by_department = make_webhook("http://127.0.0.1:9/a", ["ticket.created"], departments=[other])
    by_service = make_webhook("http://127.0.0.1:9/b", ["ticket.created"], services=[licence])
    both = make_webhook(
        "http://127.0.0.1:9/c", ["ticket.created"], departments=[department], services=[licence]
    )
    everything = make_webhook("http://127.0.0.1:9/d", ["ticket.created"])

    with django_capture_on_commit_callbacks(execute=True):
        plain = TicketFactory(department=department)  # no service
        with_service = TicketFactory(department=department, service=licence)
        elsewhere = TicketFactory(department=other)

    def cases(hook) -> set[int]:
        return {d.payload["ticket"]["id"] for d in WebhookDelivery.objects.filter(webhook=hook)}

    assert cases(by_department) == {elsewhere.pk}
    assert cases(by_service) == {with_service.pk}
    assert cases(both) == {with_service.pk}
    assert cases(everything) == {plain.pk, with_service.pk, elsewhere.pk}
    payload = WebhookDelivery.objects.filter(webhook=by_service).get().payload
    assert (payload["ticket"]["online_service_id"], payload["ticket"]["online_service"]) == (
        licence.pk,
        "fuehrerschein",
    )


def test_a_case_moved_away_is_news_for_the_old_department(
    department, django_capture_on_commit_callbacks
) -> None:
    other = DepartmentFactory(tenant=department.tenant)
    ticket = TicketFactory(department=department)
    hook = make_webhook("http://127.0.0.1:9/a", ["ticket.updated"], departments=[department])
    agent = AgentFactory(departments={department: ["full"], other: ["full"]})

    with django_capture_on_commit_callbacks(execute=True):
        services.move(agent, ticket, other)

    (delivery,) = WebhookDelivery.objects.filter(webhook=hook)
    assert delivery.payload["changes"] == {"department": [department.pk, other.pk]}
    assert delivery.payload["ticket"]["group_id"] == other.pk


def test_inactive_and_unsubscribed_hooks_get_nothing(
    department, django_capture_on_commit_callbacks
) -> None:
    inactive = make_webhook("http://127.0.0.1:9/a", ALL_EVENTS, active=False)
    other_events = make_webhook("http://127.0.0.1:9/b", ["citizen.replied"])
    with django_capture_on_commit_callbacks(execute=True):
        TicketFactory(department=department)
    assert events_of(inactive) == []
    assert events_of(other_events) == []


def test_webhooks_of_another_tenant_hear_nothing(
    department, django_capture_on_commit_callbacks
) -> None:
    foreign = make_webhook("http://127.0.0.1:9/a", ALL_EVENTS, tenant=TenantFactory())
    own = make_webhook("http://127.0.0.1:9/b", ["ticket.created"])
    with django_capture_on_commit_callbacks(execute=True):
        TicketFactory(department=department)
    assert events_of(foreign) == []
    assert events_of(own) == ["ticket.created"]


def test_nothing_is_written_before_the_commit(department) -> None:
    """Deliveries come from the after-commit event: a rolled-back change sends nothing."""
    make_webhook("http://127.0.0.1:9/a", ALL_EVENTS)
    TicketFactory(department=department)  # the test's transaction never commits
    assert WebhookDelivery.objects.count() == 0


def test_an_event_without_webhooks_costs_the_request_one_query(
    department, django_assert_num_queries
) -> None:
    from vorgang.tickets import events
    from vorgang.webhooks import dispatch

    ticket = TicketFactory(department=department)
    make_webhook("http://127.0.0.1:9/a", ALL_EVENTS, tenant=TenantFactory())  # elsewhere
    with django_assert_num_queries(1):
        assert dispatch.on_event(events.Event(events.TICKET_CREATED, ticket.pk)) == []
