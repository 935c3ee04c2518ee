"""A message that reached the mail server keeps the citizen's case page link alive."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.factories import TicketFactory
from vorgang.core import clock
from vorgang.portal import links
from vorgang.portal.models import CaseLink
from vorgang.tickets import services

pytestmark = pytest.mark.django_db


def test_delivered_mail_extends_the_link(django_capture_on_commit_callbacks) -> None:
    ticket = TicketFactory()
    links.issue_link(ticket)
    soon = clock.now() + timedelta(days=1)
    CaseLink.objects.filter(ticket=ticket).update(expires_at=soon)
    article = services.add_article(
        None, ticket, services.ArticleInput(body="Hallo", kind="email", sender="system")
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.record_delivery(article.pk, sent=True)
    assert CaseLink.objects.get(ticket=ticket).expires_at > soon + timedelta(days=20)


def test_failed_delivery_does_not(django_capture_on_commit_callbacks) -> None:
    ticket = TicketFactory()
    links.issue_link(ticket)
    soon = clock.now() + timedelta(days=1)
    CaseLink.objects.filter(ticket=ticket).update(expires_at=soon)
    article = services.add_article(
        None, ticket, services.ArticleInput(body="Hallo", kind="email", sender="system")
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.record_delivery(article.pk, sent=False, error="550")
    assert CaseLink.objects.get(ticket=ticket).expires_at == soon
