"""Requesting a new link: the same answer for every input, mail only to the address on file."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client

from vorgang.core import clock
from vorgang.core.models import RateLimitHit
from vorgang.portal import links
from vorgang.portal.models import CaseLink

from .conftest import World, path_of

pytestmark = pytest.mark.django_db

SAME_ANSWER = "Wenn die Angaben passen, haben wir Ihnen einen Link geschickt."


def _ask(client: Client, number: str, email: str, ip: str = "192.0.2.1"):
    return client.post("/c/new/", {"number": number, "email": email}, REMOTE_ADDR=ip)


def test_the_form_page_is_plain_and_private(client: Client, world: World) -> None:
    response = client.get("/c/new/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Neuen Link zu Ihrem Vorgang anfordern" in page
    assert 'name="csrfmiddlewaretoken"' in page
    assert response["Referrer-Policy"] == "strict-origin"


def test_known_case_gets_a_link_mailed_to_the_address_on_file(
    client: Client, world: World, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = _ask(client, world.ticket.number, "MAX.Mustermann@Example.org")
    assert response.status_code == 200
    assert SAME_ANSWER in response.content.decode()
    assert len(mail.outbox) == 1
    sent = mail.outbox[0]
    assert sent.to == ["max.mustermann@example.org"]
    assert sent.subject == f"[Vorgang#{world.ticket.number}] Ihr Link zum Vorgang"
    assert "fs@stadt.example" in sent.from_email
    # The link in the mail opens the case page.
    url = next(word for word in sent.body.split() if word.startswith("http://testserver/c/"))
    assert client.get(path_of(url)).status_code == 200
    assert CaseLink.objects.filter(ticket=world.ticket).count() == 1


def test_unknown_case_and_wrong_address_get_the_same_answer_and_no_mail(
    client: Client, world: World, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        known = _ask(client, world.ticket.number, "max.mustermann@example.org", "192.0.2.10")
    mail.outbox.clear()
    answers = []
    for number, email in [
        ("99999999", "max.mustermann@example.org"),  # no such case
        (world.ticket.number, "angreifer@example.net"),  # someone else's address
    ]:
        with django_capture_on_commit_callbacks(execute=True):
            answers.append(_ask(client, number, email, "192.0.2.20"))
    assert mail.outbox == []
    for response in answers:
        assert response.status_code == known.status_code == 200
        page = response.content.decode()
        assert SAME_ANSWER in page
        # Nothing on the page differs but the CSRF token.
        assert _without_csrf(page) == _without_csrf(known.content.decode())


def _without_csrf(page: str) -> str:
    import re

    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", page)


def test_mail_never_goes_to_a_typed_address(
    client: Client, world: World, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        _ask(client, world.ticket.number, "max.mustermann@example.org, evil@example.net")
        _ask(client, world.ticket.number, "evil@example.net")
    assert all(m.to == ["max.mustermann@example.org"] for m in mail.outbox)


def test_empty_fields_get_field_errors(client: Client, world: World) -> None:
    response = _ask(client, "", "kein-at-zeichen")
    assert response.status_code == 422
    page = response.content.decode()
    assert "Bitte geben Sie Ihre Vorgangsnummer ein." in page
    assert "vollständige E-Mail-Adresse" in page
    assert 'aria-invalid="true"' in page
    assert RateLimitHit.objects.count() == 0


def test_rate_limit_per_ip(client: Client, world: World, settings) -> None:
    settings.VORGANG_LINK_REQUESTS_PER_HOUR = 5
    for n in range(5):
        assert _ask(client, f"1000{n}", "a@example.org").status_code == 200
    limited = _ask(client, "20000", "a@example.org")
    assert limited.status_code == 429
    assert "Zu viele Versuche" in limited.content.decode()
    # Another address is not affected.
    assert _ask(client, "20000", "a@example.org", ip="198.51.100.7").status_code == 200


def test_rate_limit_per_case_number(
    client: Client, world: World, settings, django_capture_on_commit_callbacks
) -> None:
    settings.VORGANG_LINK_REQUESTS_PER_HOUR = 5
    for n in range(5):
        _ask(client, world.ticket.number, "x@example.org", ip=f"203.0.113.{n}")
    with django_capture_on_commit_callbacks(execute=True):
        response = _ask(client, world.ticket.number, "max.mustermann@example.org", "203.0.113.99")
    assert response.status_code == 429
    assert mail.outbox == []


def test_rate_limit_frees_after_an_hour_and_stores_no_plain_values(
    client: Client, world: World, settings, monkeypatch
) -> None:
    settings.VORGANG_LINK_REQUESTS_PER_HOUR = 1
    assert _ask(client, "12345", "a@example.org").status_code == 200
    assert _ask(client, "12345", "a@example.org").status_code == 429
    rows = list(RateLimitHit.objects.values_list("scope", "key_hash"))
    assert sorted(scope for scope, _hash in rows) == ["portal.link.address", "portal.link.number"]
    assert not any("192.0.2.1" in key or "12345" in key for _scope, key in rows)
    later = clock.now() + timedelta(minutes=61)
    monkeypatch.setattr(clock, "now", lambda: later)
    assert _ask(client, "12345", "a@example.org").status_code == 200


def test_links_keep_working_after_a_new_one_is_sent(
    client: Client, world: World, django_capture_on_commit_callbacks
) -> None:
    old = path_of(links.issue_link(world.ticket))
    with django_capture_on_commit_callbacks(execute=True):
        _ask(client, world.ticket.number, "max.mustermann@example.org")
    assert client.get(old).status_code == 200
