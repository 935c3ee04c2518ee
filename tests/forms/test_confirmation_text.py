"""The confirmation mail always names the case number, also with an administrator's own text."""

from __future__ import annotations

import pytest

from vorgang.accounts.models import Tenant
from vorgang.catalogue.models import OnlineService
from vorgang.channels.forms import mail
from vorgang.tickets import services

pytestmark = pytest.mark.django_db


def _case(service: OnlineService, tenant: Tenant) -> object:
    from vorgang.accounts import services as accounts

    citizen = accounts.find_or_create_citizen(tenant, "erika@example.org", first_name="Erika")
    return services.create_ticket(
        None,
        department=service.department,
        title="Testantrag",
        citizen=citizen,
        service=service,
        article=services.ArticleInput(body="Antrag", kind="web", sender="citizen"),
    )


@pytest.mark.parametrize(
    ("language", "expected"),
    [("de", "Ihre Vorgangsnummer ist: {n}"), ("en", "Your case number is: {n}")],
)
def test_own_text_without_the_number_gets_it_added(
    service: OnlineService, tenant: Tenant, language: str, expected: str
) -> None:
    service.confirmation_de = "Danke, {name}! Wir melden uns."
    service.confirmation_en = "Thank you, {name}! We will be in touch."
    ticket = _case(service, tenant)
    body = mail.confirmation_body(ticket, service, language, "https://x.example/c/abc/", 7)
    assert expected.format(n=ticket.number) in body
    assert "Erika" in body


def test_own_text_with_the_number_is_left_as_written(
    service: OnlineService, tenant: Tenant
) -> None:
    service.confirmation_de = "Ihr Zeichen: {number}. Danke!"
    ticket = _case(service, tenant)
    body = mail.confirmation_body(ticket, service, "de", "", None)
    assert f"Ihr Zeichen: {ticket.number}. Danke!" in body
    assert "Ihre Vorgangsnummer ist" not in body
