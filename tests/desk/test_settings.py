"""The agent's settings page: language, notification choices, API tokens."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from vorgang.accounts.models import ApiToken
from vorgang.notifications import preferences

from .conftest import World, make_agent

pytestmark = pytest.mark.django_db


def test_the_page_shows_the_three_sections(world: World, agent_client: Client) -> None:
    response = agent_client.get(reverse("desk:settings"))
    assert response.status_code == 200
    html = response.content.decode()
    for anchor in ('id="language"', 'id="notifications"', 'id="tokens"'):
        assert anchor in html
    assert 'name="language" id="language-de" value="de" checked' in html
    # Defaults: everything on, in the desk and by e-mail.
    assert len(re.findall(r'name="(?:in_app|email)" value="\w+" id="[\w-]+" checked', html)) == 8


def test_choosing_the_language(world: World, agent_client: Client) -> None:
    response = agent_client.post(reverse("desk:settings_language"), {"language": "en"})
    assert response.status_code == 302 and response["Location"].endswith("/settings/#language")
    world.agent.refresh_from_db()
    assert world.agent.language == "en"
    page = agent_client.get(reverse("desk:settings")).content.decode()
    assert '<html lang="en">' in page and "Your language is saved." in page


def test_an_unknown_language_is_refused_at_the_field(world: World, agent_client: Client) -> None:
    response = agent_client.post(reverse("desk:settings_language"), {"language": "xx"})
    assert response.status_code == 422
    assert 'id="language-error"' in response.content.decode()
    world.agent.refresh_from_db()
    assert world.agent.language == "de"


def test_choosing_notifications(world: World, agent_client: Client) -> None:
    response = agent_client.post(
        reverse("desk:settings_notifications"),
        {"in_app": ["assigned", "mention"], "email": ["mention"]},
    )
    assert response.status_code == 302
    channels = preferences.channels(world.agent, "assigned")
    assert channels.in_app and not channels.email
    assert not preferences.channels(world.agent, "citizen_replied").in_app
    assert preferences.channels(world.agent, "mention").email
    bad = agent_client.post(reverse("desk:settings_notifications"), {"email": ["spam"]})
    assert bad.status_code == 422
    assert preferences.channels(world.agent, "mention").email  # unchanged


def test_creating_a_token_shows_it_once(world: World, agent_client: Client) -> None:
    response = agent_client.post(
        reverse("desk:settings_token_create"), {"name": "Fachverfahren", "expires": "30"}
    )
    assert response.status_code == 201
    assert response["Cache-Control"] == "no-store"
    secret = re.search(
        r'id="new-token" type="text" readonly value="([^"]+)"', response.content.decode()
    )
    assert secret
    assert ApiToken.authenticate(secret.group(1)) == world.agent
    token = ApiToken.objects.get(user=world.agent)
    assert token.name == "Fachverfahren" and token.expires_at is not None
    again = agent_client.get(reverse("desk:settings")).content.decode()
    assert "Fachverfahren" in again and secret.group(1) not in again


def test_token_input_errors(world: World, agent_client: Client) -> None:
    url = reverse("desk:settings_token_create")
    response = agent_client.post(url, {"name": "", "expires": "30"})
    assert response.status_code == 422 and 'id="token-name-error"' in response.content.decode()
    response = agent_client.post(url, {"name": "x" * 101, "expires": "30"})
    assert response.status_code == 422
    response = agent_client.post(url, {"name": "ok", "expires": "7"})
    assert response.status_code == 422 and 'id="token-expires-error"' in response.content.decode()
    assert not ApiToken.objects.exists()


def test_revoking_own_tokens_only(world: World, agent_client: Client) -> None:
    own = ApiToken.issue(world.agent, name="alt")
    theirs = ApiToken.issue(world.reader, name="rudis")
    own_pk = ApiToken.objects.get(user=world.agent).pk
    their_pk = ApiToken.objects.get(user=world.reader).pk
    response = agent_client.post(reverse("desk:settings_token_revoke", args=[their_pk]))
    assert response.status_code == 404
    assert ApiToken.authenticate(theirs) == world.reader
    response = agent_client.post(reverse("desk:settings_token_revoke", args=[own_pk]))
    assert response.status_code == 302
    assert ApiToken.authenticate(own) is None
    html = agent_client.get(reverse("desk:settings")).content.decode()
    assert "alt" in html and "rudis" not in html


def test_settings_are_for_agents_and_need_csrf(world: World, client: Client) -> None:
    client.force_login(world.ticket.citizen)
    assert client.get(reverse("desk:settings")).status_code == 403
    client.force_login(make_agent("formserver", None, role="integration"))
    assert client.post(reverse("desk:settings_token_create"), {"name": "x"}).status_code == 403
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(world.agent)
    response = strict.post(reverse("desk:settings_token_create"), {"name": "x", "expires": ""})
    assert response.status_code == 403
    assert not ApiToken.objects.exists()
    assert strict.get(reverse("desk:settings_language")).status_code == 405
