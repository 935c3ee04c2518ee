"""The API skeleton: token authentication, /users/me, JSON errors, OpenAPI."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from tests.factories import AgentFactory, DepartmentFactory
from vorgang.accounts.models import ApiToken

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent():
    department = DepartmentFactory()
    return AgentFactory(username="anna", departments={department: ["read", "change"]})


def get_me(client: Client, header: str | None):
    extra = {"HTTP_AUTHORIZATION": header} if header is not None else {}
    return client.get("/api/v1/users/me", **extra)


def test_token_authenticates_and_me_has_zammad_shape(client: Client, agent) -> None:
    token = ApiToken.issue(agent)
    response = get_me(client, f"Token token={token}")
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == agent.pk
    assert body["login"] == "anna"
    assert body["email"] == agent.email
    department_id = str(agent.department_access.first().department_id)
    assert body["group_ids"] == {department_id: ["change", "read"]}
    assert body["created_at"].endswith("Z")
    assert len(body["created_at"]) == len("2026-11-28T10:00:00.000Z")
    assert ApiToken.objects.get().last_used_at is not None


def test_last_use_is_written_at_most_once_a_minute(client: Client, agent) -> None:
    token = ApiToken.issue(agent)
    assert get_me(client, f"Token token={token}").status_code == 200
    first = ApiToken.objects.get().last_used_at
    assert get_me(client, f"Token token={token}").status_code == 200
    assert ApiToken.objects.get().last_used_at == first  # no write for a second use

    stale = first - timedelta(minutes=2)
    ApiToken.objects.update(last_used_at=stale)
    assert get_me(client, f"Token token={token}").status_code == 200
    assert ApiToken.objects.get().last_used_at > stale


def test_short_token_form_is_accepted(client: Client, agent) -> None:
    token = ApiToken.issue(agent)
    assert get_me(client, f"Token {token}").status_code == 200


@pytest.mark.parametrize(
    "header",
    [None, "", "Token token=", "Token token=wrong", "Bearer abc", "Basic dXNlcjpwdw=="],
)
def test_bad_credentials_give_a_json_401(client: Client, agent, header) -> None:
    ApiToken.issue(agent)
    response = get_me(client, header)
    assert response.status_code == 401
    assert set(response.json()) == {"error", "error_human"}


def test_only_the_hash_is_stored(agent) -> None:
    token = ApiToken.issue(agent)
    stored = ApiToken.objects.get()
    assert token not in stored.key_hash
    assert len(stored.key_hash) == 64


def test_expired_revoked_and_inactive_tokens_fail(client: Client, agent) -> None:
    expired = ApiToken.issue(agent, expires_at=timezone.now() - timedelta(seconds=1))
    revoked = ApiToken.issue(agent, name="revoked")
    ApiToken.objects.filter(name="revoked").update(revoked_at=timezone.now())
    assert get_me(client, f"Token token={expired}").status_code == 401
    assert get_me(client, f"Token token={revoked}").status_code == 401
    valid = ApiToken.issue(agent, name="valid")
    agent.is_active = False
    agent.save()
    assert get_me(client, f"Token token={valid}").status_code == 401


def test_unknown_endpoint_is_404(client: Client, agent) -> None:
    token = ApiToken.issue(agent)
    response = client.get("/api/v1/nothing-here", HTTP_AUTHORIZATION=f"Token token={token}")
    assert response.status_code == 404


def test_openapi_document_is_served(client: Client) -> None:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.")
    assert "/api/v1/users/me" in document["paths"]
