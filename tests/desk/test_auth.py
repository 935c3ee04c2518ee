"""Signing in and out, citizens kept out, CSRF, and the language switch."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from vorgang.accounts import services as accounts
from vorgang.accounts.models import Role, User

from .conftest import PASSWORD, World, make_agent

pytestmark = pytest.mark.django_db


def test_anonymous_visitors_are_sent_to_the_login_page(client: Client) -> None:
    response = client.get(reverse("desk:overview"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("desk:login"))


def test_login_page_is_german_by_default(client: Client) -> None:
    response = client.get(reverse("desk:login"))
    html = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="de">' in html
    assert "Anmelden" in html
    assert "Benutzername" in html
    assert "Zum Hauptinhalt springen" in html


def test_login_page_in_english_for_an_english_browser(client: Client) -> None:
    response = client.get(reverse("desk:login"), HTTP_ACCEPT_LANGUAGE="en")
    html = response.content.decode()
    assert '<html lang="en">' in html
    assert "Sign in" in html
    assert "User name" in html


def test_login_takes_the_users_language(client: Client, world: World) -> None:
    world.agent.language = "en"
    world.agent.save(update_fields=["language"])
    response = client.post(
        reverse("desk:login"), {"username": "anna", "password": PASSWORD}, follow=True
    )
    assert response.redirect_chain[-1][0] == reverse("desk:overview")
    assert client.session["language"] == "en"
    html = response.content.decode()
    assert '<html lang="en">' in html
    assert "Open cases" in html


def test_german_user_gets_german_overview_even_from_an_english_browser(
    client: Client, world: World
) -> None:
    response = client.post(
        reverse("desk:login"),
        {"username": "anna", "password": PASSWORD},
        follow=True,
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert client.session["language"] == "de"
    assert "Offene Vorgänge" in response.content.decode()


def test_wrong_password_shows_an_alert(client: Client, world: World) -> None:
    response = client.post(reverse("desk:login"), {"username": "anna", "password": "falsch"})
    html = response.content.decode()
    assert response.status_code == 200
    assert 'role="alert"' in html
    assert "Die Anmeldung hat nicht geklappt." in html
    assert "_auth_user_id" not in client.session


def test_password_guessing_is_stopped_per_login_and_address(
    client: Client, world: World, settings
) -> None:
    settings.VORGANG_LOGIN_FAILURES = 3
    url = reverse("desk:login")
    for _ in range(3):
        response = client.post(url, {"username": "anna", "password": "falsch"})
        assert "Die Anmeldung hat nicht geklappt." in response.content.decode()
    # Locked: even the right password is refused from this address, with a clear message.
    response = client.post(
        url, {"username": "anna", "password": PASSWORD}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert "Too many failed sign-ins. Please wait 15 minutes" in response.content.decode()
    assert "_auth_user_id" not in client.session
    # The agent can still sign in from another address: a guesser cannot lock them out.
    other = Client(REMOTE_ADDR="10.0.0.8")
    response = other.post(url, {"username": "anna", "password": PASSWORD})
    assert response.status_code == 302
    assert "_auth_user_id" in other.session


def test_one_address_cannot_try_many_logins(client: Client, world: World, settings) -> None:
    settings.VORGANG_LOGIN_FAILURES_PER_CLIENT = 4
    url = reverse("desk:login")
    for name in ("a1", "a2", "a3", "a4"):
        client.post(url, {"username": name, "password": "falsch"})
    response = client.post(url, {"username": "anna", "password": PASSWORD})
    assert "_auth_user_id" not in client.session
    assert "Anmeldungen" in response.content.decode()  # the German "too many" message


def test_inactive_user_cannot_log_in(client: Client, world: World) -> None:
    User.objects.filter(pk=world.agent.pk).update(is_active=False)
    response = client.post(reverse("desk:login"), {"username": "anna", "password": PASSWORD})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_integration_accounts_are_kept_out_of_every_desk_page(client: Client, world: World) -> None:
    robot = make_agent("robot", None, role=Role.INTEGRATION)
    client.force_login(robot)
    for url in (
        reverse("desk:overview"),
        reverse("desk:case", args=[world.ticket.pk]),
        reverse("desk:outbox"),
        reverse("desk:settings"),
    ):
        response = client.get(url)
        assert response.status_code == 403, url
        assert world.ticket.title not in response.content.decode()


def test_citizen_gets_a_clear_403_after_login(client: Client, world: World) -> None:
    accounts.create_user("erika", email="erika@example.org", role=Role.CITIZEN, password=PASSWORD)
    response = client.post(
        reverse("desk:login"), {"username": "erika", "password": PASSWORD}, follow=True
    )
    assert response.status_code == 403
    html = response.content.decode()
    assert "Dieser Bereich ist für Mitarbeitende" in html
    assert "Sie sind als Bürger:in angemeldet." in html
    # Nor can a citizen open a case directly.
    response = client.get(reverse("desk:case", args=[world.ticket.pk]))
    assert response.status_code == 403
    assert world.ticket.title not in response.content.decode()


def test_logout_is_a_post(agent_client: Client) -> None:
    assert agent_client.get(reverse("desk:logout")).status_code == 405
    response = agent_client.post(reverse("desk:logout"))
    assert response.status_code == 302
    assert response["Location"] == reverse("desk:login")
    assert "_auth_user_id" not in agent_client.session


def test_csrf_is_enforced_on_every_form(world: World) -> None:
    client = Client(enforce_csrf_checks=True)
    response = client.post(reverse("desk:login"), {"username": "anna", "password": PASSWORD})
    assert response.status_code == 403
    assert "_auth_user_id" not in client.session

    client.force_login(world.agent)
    for name in ("add_note", "change_state", "assign", "set_priority", "add_tag", "remove_tag"):
        url = reverse(f"desk:{name}", args=[world.ticket.pk])
        response = client.post(url, {"body": "ohne Token", "tag": "x", "state": "2"})
        assert response.status_code == 403, name
        assert "Das Formular ist abgelaufen" in response.content.decode()
    assert client.post(reverse("desk:language"), {"language": "en"}).status_code == 403
    assert client.post(reverse("desk:logout")).status_code == 403
    assert world.ticket.articles.count() == 1


def test_csrf_token_makes_the_form_work(world: World) -> None:
    client = Client(enforce_csrf_checks=True)
    page = client.get(reverse("desk:login"))
    token = page.cookies["csrftoken"].value
    response = client.post(
        reverse("desk:login"),
        {"username": "anna", "password": PASSWORD, "csrfmiddlewaretoken": token},
    )
    assert response.status_code == 302


def test_language_switch_is_kept_for_the_user(agent_client: Client, world: World) -> None:
    response = agent_client.post(
        reverse("desk:language"), {"language": "en", "next": reverse("desk:overview")}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("desk:overview")
    world.agent.refresh_from_db()
    assert world.agent.language == "en"
    assert agent_client.session["language"] == "en"
    assert "Open cases" in agent_client.get(reverse("desk:overview")).content.decode()

    agent_client.post(reverse("desk:language"), {"language": "de"})
    world.agent.refresh_from_db()
    assert world.agent.language == "de"
    assert "Offene Vorgänge" in agent_client.get(reverse("desk:overview")).content.decode()


def test_language_switch_refuses_unknown_languages_and_foreign_redirects(
    agent_client: Client, world: World
) -> None:
    response = agent_client.post(
        reverse("desk:language"), {"language": "fr", "next": "https://evil.example/"}
    )
    assert response["Location"] == reverse("desk:overview")
    world.agent.refresh_from_db()
    assert world.agent.language == "de"


def test_language_switch_works_before_login(client: Client) -> None:
    client.post(reverse("desk:language"), {"language": "en", "next": reverse("desk:login")})
    assert "Sign in" in client.get(reverse("desk:login")).content.decode()


def test_admin_role_alone_opens_no_cases(client: Client, world: World) -> None:
    admin = make_agent("ada", None, role=Role.ADMIN)
    client.force_login(admin)
    html = client.get(reverse("desk:overview")).content.decode()
    assert world.ticket.title not in html
    assert "Sie haben noch keinen Zugriff auf eine Abteilung." in html
    assert "Zugriffsstufen in Abteilungen" in html
    assert client.get(reverse("desk:case", args=[world.ticket.pk])).status_code == 404
