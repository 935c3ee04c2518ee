"""Magic links: valid, expired (410), revoked (410), forged (404); files only of this case."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from django.test import Client

from vorgang.accounts import services as accounts
from vorgang.core import clock
from vorgang.portal import links
from vorgang.portal.logfilter import redact
from vorgang.portal.models import CaseLink
from vorgang.tickets import services

from .conftest import PDF, World, make_case, path_of

pytestmark = pytest.mark.django_db


def test_issue_link_stores_only_the_hash_and_expires_in_30_days(world: World) -> None:
    url = links.issue_link(world.ticket)
    assert url.startswith("http://testserver/c/")
    token = path_of(url).split("/")[2]
    assert len(token) >= 40
    link = CaseLink.objects.get()
    assert link.token_hash == links.hash_token(token)
    assert token not in (link.token_hash,)
    assert link.citizen == world.citizen and link.ticket == world.ticket
    days = (link.expires_at - link.created_at).total_seconds() / 86400
    assert days == pytest.approx(30)


def test_link_days_follow_the_setting(world: World, settings) -> None:
    settings.VORGANG_CASE_LINK_DAYS = 7
    links.issue_link(world.ticket)
    link = CaseLink.objects.get()
    assert (link.expires_at - link.created_at) == timedelta(days=7)


def test_tenant_host_gives_the_link_its_own_host(world: World) -> None:
    world.tenant.host = "service.musterstadt.de"
    world.tenant.save()
    assert links.issue_link(world.ticket).startswith("http://service.musterstadt.de/c/")


def test_valid_link_opens_the_case_page(client: Client, world: World) -> None:
    response = client.get(world.link())
    assert response.status_code == 200
    assert world.ticket.number in response.content.decode()
    assert response["Referrer-Policy"] == "strict-origin"
    assert "no-store" in response["Cache-Control"]


def test_expired_link_is_gone(client: Client, world: World, monkeypatch) -> None:
    path = world.link()
    later = clock.now() + timedelta(days=31)
    monkeypatch.setattr(clock, "now", lambda: later)
    response = client.get(path)
    assert response.status_code == 410
    page = response.content.decode()
    assert "Dieser Link ist abgelaufen" in page
    assert 'name="number"' in page  # the form to request a new link
    assert world.ticket.title not in page
    assert response["Referrer-Policy"] == "strict-origin"


def test_revoked_link_is_gone(client: Client, world: World) -> None:
    path = world.link()
    links.revoke(CaseLink.objects.get())
    response = client.get(path)
    assert response.status_code == 410
    assert "Dieser Link gilt nicht mehr" in response.content.decode()
    assert world.ticket.title not in response.content.decode()


def test_forged_and_malformed_tokens_are_not_found(client: Client, world: World) -> None:
    real = world.link()
    forged = real[:-3] + ("A" if real[-3] != "A" else "B") + real[-2:]
    for path in (forged, "/c/" + "x" * 43 + "/", "/c/" + "y" * 300 + "/"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "Dieser Link funktioniert nicht" in response.content.decode()
        assert world.ticket.title not in response.content.decode()


def test_link_stops_working_when_the_case_gets_another_citizen(world: World) -> None:
    path = world.link()
    token = path.split("/")[2]
    other = accounts.find_or_create_citizen(world.tenant, "erika@example.org")
    type(world.ticket).objects.filter(pk=world.ticket.pk).update(citizen=other)
    assert links.check(token).status == 410


def test_refresh_extends_all_unrevoked_links(world: World, monkeypatch) -> None:
    links.issue_link(world.ticket)
    links.issue_link(world.ticket)
    revoked = CaseLink.objects.order_by("pk").last()
    assert revoked is not None
    links.revoke(revoked)
    later = clock.now() + timedelta(days=20)
    monkeypatch.setattr(clock, "now", lambda: later)
    assert links.refresh(world.ticket) == 1
    fresh = CaseLink.objects.order_by("pk").first()
    assert fresh is not None and fresh.expires_at == later + timedelta(days=30)
    revoked.refresh_from_db()
    assert revoked.expires_at < later + timedelta(days=30)


def test_case_url_issues_a_fresh_working_link(world: World) -> None:
    first, second = links.case_url(world.ticket), links.case_url(world.ticket)
    assert first != second
    assert links.check(path_of(first).split("/")[2]).status == 200
    assert links.check(path_of(second).split("/")[2]).status == 200


def _with_attachment(world: World, *, internal: bool = False, ticket=None) -> int:
    article = services.add_article(
        None if not internal else world.agent,
        ticket or world.ticket,
        services.ArticleInput(
            body="Anbei der Bescheid.",
            kind="note" if internal else "email",
            sender="agent",
            internal=internal,
            attachments=[services.AttachmentInput("bescheid.pdf", PDF, "application/pdf")],
        ),
    )
    attachment = article.attachments.get()
    return attachment.pk


def test_attachment_of_this_case_downloads(client: Client, world: World) -> None:
    pk = _with_attachment(world)
    response = client.get(f"{world.link()}files/{pk}/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF
    assert "attachment" in response["Content-Disposition"]
    assert response["Content-Security-Policy"].startswith("default-src 'none'")
    assert response["Referrer-Policy"] == "no-referrer"


def test_attachment_of_another_case_is_not_found(client: Client, world: World) -> None:
    other = make_case(world.department, world.citizen, title="Anderer Antrag")
    pk = _with_attachment(world, ticket=other)
    response = client.get(f"{world.link()}files/{pk}/")
    assert response.status_code == 404
    assert b"%PDF" not in response.content


def test_attachment_of_an_internal_note_is_not_found(client: Client, world: World) -> None:
    pk = _with_attachment(world, internal=True)
    response = client.get(f"{world.link()}files/{pk}/")
    assert response.status_code == 404


def test_attachment_with_an_expired_link_is_gone(client: Client, world: World, monkeypatch) -> None:
    pk = _with_attachment(world)
    path = world.link()
    later = clock.now() + timedelta(days=31)
    monkeypatch.setattr(clock, "now", lambda: later)
    assert client.get(f"{path}files/{pk}/").status_code == 410


def test_merged_case_shows_the_target_case(client: Client, world: World) -> None:
    target = make_case(world.department, world.citizen, title="Zusammengefasster Antrag")
    path = world.link()
    services.merge(None, world.ticket, target)
    response = client.get(path)
    assert response.status_code == 200
    assert target.number in response.content.decode()
    assert "Zusammengefasster Antrag" in response.content.decode()


def test_the_token_never_reaches_the_log(client: Client, world: World, caplog) -> None:
    path = world.link()
    token = path.split("/")[2]
    links.revoke(CaseLink.objects.get())
    with caplog.at_level(logging.DEBUG):
        assert client.get(path).status_code == 410
        assert client.get(path[:-5] + "AAAA/").status_code == 404
    assert caplog.records, "Django logs 4xx responses"
    assert token not in caplog.text
    assert token[:-4] not in caplog.text
    assert redact(f"Gone: {path}") == "Gone: /c/…/"
    assert redact("Not Found: /c/new/") == "Not Found: /c/new/"
