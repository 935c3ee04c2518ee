"""The agent revokes the citizen's case page links from the case view."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from vorgang.accounts import services as accounts
from vorgang.core.errors import NotFound, PermissionDenied
from vorgang.portal import links
from vorgang.portal.models import CaseLink
from vorgang.tickets import services
from vorgang.tickets.models import History

from .conftest import World, make_agent, make_case

pytestmark = pytest.mark.django_db


def _revoke(client: Client, world: World, **data: str) -> object:
    return client.post(
        f"/cases/{world.ticket.pk}/case-links/revoke/", {"confirm": "yes"} | data, follow=False
    )


def test_case_view_shows_the_links_and_the_button(agent_client: Client, world: World) -> None:
    world.link()
    world.link()
    page = agent_client.get(f"/cases/{world.ticket.pk}/").content.decode()
    assert 'id="case-page-links"' in page
    assert f'action="/cases/{world.ticket.pk}/case-links/revoke/"' in page
    form = page[page.index('id="case-page-links"') :]
    assert 'name="csrfmiddlewaretoken"' in form.split("</form>")[0]
    assert 'name="confirm" value="yes" required' in form


def test_revoking_stops_every_link_and_writes_history(agent_client: Client, world: World) -> None:
    first, second = world.link(), world.link()
    assert Client().get(first).status_code == 200
    response = _revoke(agent_client, world)
    assert response.status_code == 302
    assert response["Location"] == f"/cases/{world.ticket.pk}/#case-page-links"
    assert not CaseLink.objects.filter(ticket=world.ticket, revoked_at__isnull=True).exists()

    entry = History.objects.filter(ticket=world.ticket).order_by("-seq").first()
    assert entry is not None
    assert (entry.action, entry.field, entry.old_value, entry.new_value) == (
        links.HISTORY_ACTION,
        "case_links",
        "2",
        "0",
    )
    assert entry.actor_id == world.agent.pk
    page = agent_client.get(f"/cases/{world.ticket.pk}/").content.decode()
    # The message (German once the translation pass has run; English until then).
    assert re.search(r"2 (Links zur Vorgangsseite|links to the case page)", page)
    assert f"/cases/{world.ticket.pk}/case-links/revoke/" not in page  # nothing left to revoke

    # The citizen's old links now show the plain-language page with the new-link form.
    citizen = Client()
    for old in (first, second):
        gone = citizen.get(old)
        assert gone.status_code == 410
        text = gone.content.decode()
        assert "Dieser Link gilt nicht mehr" in text
        assert 'action="/c/new/' in text  # request a new one right there
        assert 'name="number"' in text and 'name="email"' in text


def test_revoke_needs_confirmation(agent_client: Client, world: World) -> None:
    world.link()
    response = agent_client.post(f"/cases/{world.ticket.pk}/case-links/revoke/", {})
    assert response.status_code == 422
    assert CaseLink.objects.filter(revoked_at__isnull=True).count() == 1
    assert not History.objects.filter(action=links.HISTORY_ACTION).exists()


def test_read_only_agent_may_not_revoke(client: Client, world: World) -> None:
    path = world.link()
    client.force_login(world.reader)
    page = client.get(f"/cases/{world.ticket.pk}/").content.decode()
    assert 'id="case-page-links"' in page  # sees how many links work ...
    assert "/case-links/revoke/" not in page  # ... but gets no button
    response = _revoke(client, world)
    assert response.status_code == 403
    assert Client().get(path).status_code == 200
    assert not History.objects.filter(action=links.HISTORY_ACTION).exists()


def test_other_department_and_citizen_get_nothing(client: Client, world: World) -> None:
    path = world.link()
    other = accounts.create_department("Standesamt", address="standesamt@stadt.example")
    stranger = make_agent("sven", other, "full")
    client.force_login(stranger)
    assert _revoke(client, world).status_code == 404
    client.force_login(world.citizen)
    assert _revoke(client, world).status_code == 403  # citizens never use the desk
    assert Client().get(path).status_code == 200


def test_get_and_missing_csrf_are_refused(world: World) -> None:
    path = world.link()
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(world.agent)
    assert strict.get(f"/cases/{world.ticket.pk}/case-links/revoke/").status_code == 405
    assert _revoke(strict, world).status_code == 403
    assert Client().get(path).status_code == 200
    # With the form's token it works.
    page = strict.get(f"/cases/{world.ticket.pk}/").content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert token
    assert _revoke(strict, world, csrfmiddlewaretoken=token.group(1)).status_code == 302
    assert Client().get(path).status_code == 410


def test_service_checks_access_and_covers_merged_cases(world: World) -> None:
    merged = make_case(world.department, world.citizen, title="Nachtrag")
    old_path = world.link(merged)
    services.merge(world.agent, merged, world.ticket)
    own_path = world.link()
    with pytest.raises(PermissionDenied):
        links.revoke_for_case(world.reader, world.ticket)
    other = accounts.create_department("Ordnungsamt", address="ordnung@stadt.example")
    with pytest.raises(NotFound):
        links.revoke_for_case(make_agent("olga", other, "full"), world.ticket)

    assert links.revoke_for_case(world.agent, world.ticket) == 2
    client = Client()
    assert client.get(own_path).status_code == 410
    assert client.get(old_path).status_code == 410
    # A second time there is nothing left: no second history entry.
    assert links.revoke_for_case(world.agent, world.ticket) == 0
    assert History.objects.filter(action=links.HISTORY_ACTION).count() == 1
    # A new link works again.
    assert client.get(world.link()).status_code == 200
