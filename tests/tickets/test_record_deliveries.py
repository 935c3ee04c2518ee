"""Recording the outcomes of a batch of sent articles in one transaction
(``services.record_deliveries``): the same history, statuses and events as
``record_delivery`` one by one, with a fixed number of statements."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from tests.factories import TicketFactory
from vorgang.tickets import events, history, locks, services
from vorgang.tickets.models import Article, DeliveryStatus, History, Ticket

pytestmark = pytest.mark.django_db


def system_mail(ticket: Ticket, message_id: str = "") -> Article:
    return services.add_article(
        None,
        ticket,
        services.ArticleInput(
            body="Ihre Nachricht ist eingegangen.",
            kind="email",
            sender="system",
            to="max@example.org",
            message_id=message_id,
            send=True,
        ),
    )


def outcomes(ticket: Ticket) -> list[tuple[Any, ...]]:
    """The delivery entries of a case, with the article named by its place in the case."""
    order = {
        pk: n for n, pk in enumerate(ticket.articles.order_by("pk").values_list("pk", flat=True))
    }
    return [
        (order[int(field.split(":")[1])], actor_id, old, new)
        for field, actor_id, old, new in History.objects.filter(ticket=ticket, action="delivery")
        .order_by("seq")
        .values_list("field", "actor_id", "old_value", "new_value")
    ]


def articles_state(ticket: Ticket) -> list[tuple[str, str, bool]]:
    return [
        (a.delivery_status, a.delivery_error, bool(a.message_id))
        for a in ticket.articles.order_by("pk")
        if a.sender == "system"
    ]


def event_shapes(seen: list[events.Event], mails: list[Article]) -> list[tuple[Any, ...]]:
    """The events with the article named by its place among ``mails``."""
    place = {mail.pk: n for n, mail in enumerate(mails)}
    return [(e.name, e.actor_id, place[e.article_id or 0]) for e in seen]


class Recorder:
    def __init__(self) -> None:
        self.seen: list[events.Event] = []

    def __call__(self, event: events.Event) -> None:
        self.seen.append(event)


@pytest.fixture
def delivered() -> Any:
    recorder = Recorder()
    events.subscribe(events.ARTICLE_DELIVERED)(recorder)
    yield recorder.seen
    events.unsubscribe(events.ARTICLE_DELIVERED, recorder)


def test_the_batch_records_what_one_by_one_records(
    delivered: list[events.Event], django_capture_on_commit_callbacks: Any
) -> None:
    single, batch = TicketFactory(), TicketFactory()
    plan = [
        {"sent": True, "message_id": "<given@x>"},  # has one already: kept
        {"sent": False, "error": "550 5.1.1 unknown"},
        {"sent": True},
    ]
    single_mails = [system_mail(single, "<a@x>"), system_mail(single), system_mail(single)]
    batch_mails = [system_mail(batch, "<a@x>"), system_mail(batch), system_mail(batch)]
    Article.objects.filter(pk__in=[single_mails[2].pk, batch_mails[2].pk]).update(message_id="")

    with django_capture_on_commit_callbacks(execute=True):
        for article, kwargs in zip(single_mails, plan, strict=True):
            services.record_delivery(article.pk, **kwargs)
    one_by_one = event_shapes(delivered, single_mails)
    assert one_by_one == [(events.ARTICLE_DELIVERED, None, 0), (events.ARTICLE_DELIVERED, None, 2)]
    delivered.clear()
    with django_capture_on_commit_callbacks(execute=True):
        recorded = services.record_deliveries(
            [services.Delivery(a.pk, **kwargs) for a, kwargs in zip(batch_mails, plan, strict=True)]
        )

    assert recorded == [a.pk for a in batch_mails]
    assert outcomes(batch) == outcomes(single)
    assert [new for *_x, new in outcomes(batch)][-3:] == ["sent", "failed", "sent"]
    assert articles_state(batch) == articles_state(single)
    assert articles_state(batch) == [
        (DeliveryStatus.SENT, "", True),
        (DeliveryStatus.FAILED, "550 5.1.1 unknown", False),
        (DeliveryStatus.SENT, "", False),
    ]
    assert Article.objects.get(pk=batch_mails[0].pk).message_id == "<a@x>"
    assert event_shapes(delivered, batch_mails) == one_by_one
    assert all(e.ticket_id == batch.pk for e in delivered)
    assert list(history.verify()) == []
    newest = History.objects.filter(ticket=batch).order_by("-seq").first()
    assert newest is not None
    assert Ticket.objects.get(pk=batch.pk).history_head == newest.hash


def test_a_message_id_is_added_where_the_article_had_none(
    django_capture_on_commit_callbacks: Any,
) -> None:
    ticket = TicketFactory()
    mail = system_mail(ticket)
    Article.objects.filter(pk=mail.pk).update(message_id="")

    services.record_deliveries([services.Delivery(mail.pk, True, message_id="<new@x>")])

    assert Article.objects.get(pk=mail.pk).message_id == "<new@x>"


def test_several_cases_in_one_batch_keep_their_chains(
    delivered: list[events.Event], django_capture_on_commit_callbacks: Any
) -> None:
    tickets = [TicketFactory() for _ in range(4)]
    mails = [system_mail(t) for t in tickets for _ in range(2)]

    with django_capture_on_commit_callbacks(execute=True):
        services.record_deliveries([services.Delivery(m.pk, True) for m in reversed(mails)])

    assert list(history.verify()) == []
    for ticket in tickets:
        assert [new for *_x, new in outcomes(ticket)] == ["sent", "sent"]
        head = History.objects.filter(ticket=ticket).order_by("-seq").first()
        assert head is not None and Ticket.objects.get(pk=ticket.pk).history_head == head.hash
    assert sorted(e.article_id for e in delivered) == sorted(m.pk for m in mails)
    assert {e.ticket_id for e in delivered} == {t.pk for t in tickets}


def test_the_statements_do_not_grow_with_the_batch() -> None:
    def statements(count: int) -> int:
        mails = [system_mail(TicketFactory()) for _ in range(count)]
        with CaptureQueriesContext(connection) as captured:
            services.record_deliveries([services.Delivery(m.pk, True) for m in mails])
        return len(captured.captured_queries)

    assert statements(2) == statements(10)


def test_a_gone_article_is_left_out_and_fails_the_single_call() -> None:
    ticket = TicketFactory()
    mail = system_mail(ticket)

    assert services.record_deliveries(
        [services.Delivery(10**9, True), services.Delivery(mail.pk, True)]
    ) == [mail.pk]
    assert Article.objects.get(pk=mail.pk).delivery_status == DeliveryStatus.SENT
    with pytest.raises(Article.DoesNotExist):
        services.record_delivery(10**9, sent=True)
    assert services.record_deliveries([]) == []


def test_a_case_held_by_the_running_transaction_keeps_its_chain() -> None:
    """Inside the intake's all-or-nothing transaction (``locks.scope``) a later change of
    the same case chains onto the delivery entry, not onto the end it remembered."""
    ticket = TicketFactory()
    mail = system_mail(ticket)
    with transaction.atomic(), locks.scope():
        services.add_article(None, ticket, services.ArticleInput(body="Notiz", kind="note"))
        services.record_delivery(mail.pk, sent=False, error="550 5.1.1 unknown")
        services.add_article(None, ticket, services.ArticleInput(body="Noch eine", kind="note"))

    assert list(history.verify()) == []
    actions = list(
        History.objects.filter(ticket=ticket).order_by("seq").values_list("action", flat=True)
    )
    assert actions[-3:] == ["article_added", "delivery", "article_added"]
