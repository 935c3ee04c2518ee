"""Basic, Bearer (OIDC userinfo, against a real HTTP server) and acting on behalf of others."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from tests.api.helpers import API, auth, basic, send
from tests.factories import (
    PASSWORD,
    AdminFactory,
    AgentFactory,
    CitizenFactory,
    DepartmentFactory,
    TenantFactory,
    TicketFactory,
)
from vorgang.accounts.models import ApiToken

pytestmark = pytest.mark.django_db


@pytest.fixture
def department(tenant):
    return DepartmentFactory(tenant=tenant)


@pytest.fixture
def agent(department):
    return AgentFactory(
        username="clara", email="clara@stadt.example", departments={department: ["full"]}
    )


def me(client: Client, headers: dict[str, str], **extra):
    return client.get(f"{API}/users/me", **headers, HTTP_ACCEPT_LANGUAGE="en", **extra)


# --- HTTP Basic ------------------------------------------------------------------------------


def test_basic_with_login_or_email(client: Client, agent) -> None:
    assert me(client, basic("clara", PASSWORD)).json()["id"] == agent.pk
    assert me(client, basic("CLARA@stadt.example", PASSWORD)).json()["id"] == agent.pk


@pytest.mark.parametrize(
    ("header", "needle"),
    [
        (basic("clara", "wrong"), "Wrong login"),
        (basic("nobody", PASSWORD), "Wrong login"),
        (basic("clara", ""), "Wrong login"),
        ({"HTTP_AUTHORIZATION": "Basic !!!"}, "malformed"),
        ({"HTTP_AUTHORIZATION": "Basic bm9jb2xvbg=="}, "malformed"),  # "nocolon"
    ],
)
def test_basic_failures_are_401(client: Client, agent, header, needle) -> None:
    response = me(client, header)
    assert response.status_code == 401
    assert needle in response.json()["error_human"]
    assert response["WWW-Authenticate"].startswith("Basic")


def test_basic_password_guessing_is_stopped(client: Client, agent, settings) -> None:
    settings.VORGANG_LOGIN_FAILURES = 3
    for _ in range(3):
        assert "Wrong login" in me(client, basic("clara", "wrong")).json()["error_human"]
    locked = me(client, basic("clara", PASSWORD))  # right password, but locked from here
    assert locked.status_code == 401
    assert "Too many failed sign-ins" in locked.json()["error_human"]
    # From another address the agent still gets in, and tokens are not affected.
    assert me(client, basic("clara", PASSWORD), REMOTE_ADDR="10.0.0.8").status_code == 200
    assert me(client, auth(agent)).status_code == 200


def test_basic_for_inactive_users_fails(client: Client, agent) -> None:
    agent.is_active = False
    agent.save()
    assert me(client, basic("clara", PASSWORD)).status_code == 401


def test_basic_can_be_switched_off(client: Client, agent, settings) -> None:
    settings.VORGANG_API_BASIC_AUTH = False
    response = me(client, basic("clara", PASSWORD))
    assert response.status_code == 401
    assert "switched off" in response.json()["error_human"]
    assert "WWW-Authenticate" not in response
    assert me(client, auth(agent)).status_code == 200  # tokens still work


def test_basic_switch_from_the_environment(client: Client, agent, settings, monkeypatch) -> None:
    del settings.VORGANG_API_BASIC_AUTH
    monkeypatch.setenv("VORGANG_API_BASIC_AUTH", "0")
    assert me(client, basic("clara", PASSWORD)).status_code == 401
    monkeypatch.setenv("VORGANG_API_BASIC_AUTH", "1")
    assert me(client, basic("clara", PASSWORD)).status_code == 200


# --- Bearer / OIDC ---------------------------------------------------------------------------


class FakeIdentityProvider:
    """A real HTTP server with a userinfo endpoint: tokens map to claims."""

    def __init__(self) -> None:
        self.claims: dict[str, dict[str, object]] = {}
        self.requests = 0
        self.status_for_unknown = 401
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.requests += 1
                token = self.headers.get("Authorization", "").removeprefix("Bearer ")
                claims = outer.claims.get(token)
                if claims is None:
                    self.send_response(outer.status_for_unknown)
                    self.end_headers()
                    return
                body = json.dumps(claims).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/userinfo"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def idp(settings) -> Iterator[FakeIdentityProvider]:
    provider = FakeIdentityProvider()
    settings.VORGANG_OIDC_USERINFO_URL = provider.url
    settings.VORGANG_OIDC_TIMEOUT = 2
    cache.clear()
    yield provider
    provider.close()
    cache.clear()


def bearer(token: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def test_bearer_without_a_provider_is_a_clear_401(client: Client, agent, settings) -> None:
    settings.VORGANG_OIDC_USERINFO_URL = ""
    response = me(client, bearer("abc"))
    assert response.status_code == 401
    assert "OpenID Connect" in response.json()["error_human"]


def test_bearer_maps_the_email_claim_and_caches(client: Client, agent, idp) -> None:
    idp.claims["good"] = {"sub": "1", "email": "Clara@Stadt.example", "email_verified": True}
    first = me(client, bearer("good"))
    assert first.status_code == 200, first.content
    assert first.json()["id"] == agent.pk
    assert me(client, bearer("good")).status_code == 200
    assert idp.requests == 1  # the second answer came from the cache


def test_bearer_refusals(client: Client, agent, idp, department) -> None:
    citizen = CitizenFactory(email="buergerin@example.org")
    idp.claims["citizen"] = {"email": citizen.email}
    idp.claims["unverified"] = {"email": agent.email, "email_verified": False}
    idp.claims["stranger"] = {"email": "niemand@example.org"}
    idp.claims["no-email"] = {"sub": "x"}
    for token, needle in [
        ("unknown", "did not accept"),
        ("unverified", "did not accept"),
        ("no-email", "did not accept"),
        ("citizen", "No single active agent"),
        ("stranger", "No single active agent"),
    ]:
        response = me(client, bearer(token))
        assert response.status_code == 401, token
        assert needle in response.json()["error_human"], token
    assert me(client, bearer("")).status_code == 401


def test_provider_down_is_503_and_not_cached(client: Client, agent, idp) -> None:
    idp.claims["good"] = {"email": agent.email}
    idp.status_for_unknown = 502
    assert me(client, bearer("later")).status_code == 503
    idp.claims["later"] = {"email": agent.email}
    assert me(client, bearer("later")).status_code == 200
    idp.close()
    assert me(client, bearer("other")).status_code == 503


# --- On behalf of ------------------------------------------------------------------------------


@pytest.fixture
def admin(tenant):
    return AdminFactory(username="admin")


@pytest.mark.parametrize("header", ["HTTP_FROM", "HTTP_X_ON_BEHALF_OF"])
def test_admin_acts_on_behalf(client: Client, admin, agent, header) -> None:
    for value in ("clara", "clara@stadt.example", str(agent.pk)):
        response = me(client, auth(admin), **{header: value})
        assert response.status_code == 200
        assert response.json()["id"] == agent.pk


def test_on_behalf_writes_as_that_user(client: Client, admin, agent, department) -> None:
    ticket = TicketFactory(department=department)
    payload = {"ticket_id": ticket.pk, "body": "Im Auftrag"}
    response = send(client, "POST", "/ticket_articles", auth(admin), payload, HTTP_FROM="clara")
    assert response.status_code == 201
    assert response.json()["created_by_id"] == agent.pk
    # the admin alone has no access to the department
    alone = send(client, "POST", "/ticket_articles", auth(admin), payload)
    assert alone.status_code == 404


def test_on_behalf_refusals(client: Client, admin, agent) -> None:
    refused = me(client, auth(agent), HTTP_FROM="admin")
    assert refused.status_code == 403
    assert "Only administrators" in refused.json()["error_human"]
    unknown = me(client, auth(admin), HTTP_FROM="gibt-es-nicht")
    assert unknown.status_code == 422
    assert "unknown" in unknown.json()["error_human"]
    foreign = AgentFactory(tenant=TenantFactory(), username="fremd")
    assert me(client, auth(admin), HTTP_FROM="fremd").status_code == 422
    assert foreign.pk
    agent.is_active = False
    agent.save()
    assert me(client, auth(admin), HTTP_X_ON_BEHALF_OF="clara").status_code == 422
    # Basic authentication is subject to the same rule
    assert me(client, basic("admin", PASSWORD), HTTP_FROM="admin").status_code == 200


# --- tokens ------------------------------------------------------------------------------------


def test_expired_and_revoked_tokens_on_ticket_endpoints(client: Client, agent) -> None:
    expired = ApiToken.issue(agent, expires_at=timezone.now() - timedelta(minutes=1))
    revoked = ApiToken.issue(agent, name="revoked")
    ApiToken.objects.filter(name="revoked").update(revoked_at=timezone.now())
    for secret in (expired, revoked):
        response = client.get(f"{API}/tickets", HTTP_AUTHORIZATION=f"Token token={secret}")
        assert response.status_code == 401
        assert response.json()["error"] == "authentication failed"


def test_unknown_paths_are_json_404_even_without_credentials(client: Client) -> None:
    response = client.post(f"{API}/nothing/here", data="{}", content_type="application/json")
    assert response.status_code == 404
    assert response.json()["error"] == "not found"
    assert client.get(f"{API}/tickets").status_code == 401
