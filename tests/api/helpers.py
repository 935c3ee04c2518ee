"""Small helpers shared by the API tests: tokens as headers, JSON requests."""

from __future__ import annotations

import base64
import json
from typing import Any

from django.test import Client

from vorgang.accounts.models import ApiToken, User

API = "/api/v1"


def auth(user: User) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Token token={ApiToken.issue(user)}"}


def basic(login: str, password: str) -> dict[str, str]:
    raw = base64.b64encode(f"{login}:{password}".encode()).decode()
    return {"HTTP_AUTHORIZATION": f"Basic {raw}"}


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def send(
    client: Client, method: str, path: str, headers: dict[str, str], payload: Any = None, **extra
):
    """A request with a JSON body (or a raw str/bytes body as given)."""
    if payload is None:
        body: Any = ""
    elif isinstance(payload, str | bytes):
        body = payload
    else:
        body = json.dumps(payload)
    extra.setdefault("HTTP_ACCEPT_LANGUAGE", "en")  # service messages are asserted in English
    call = getattr(client, method.lower())
    if method.upper() == "GET":
        return call(API + path, **headers, **extra)
    return call(API + path, data=body, content_type="application/json", **headers, **extra)


def call(
    client: Client,
    user: User | None,
    method: str,
    path: str,
    body: Any = None,
    raw: str | None = None,
) -> Any:
    """``method`` on ``/api/v1<path>`` as ``user`` (a fresh token; None: anonymous), with
    ``body`` as JSON or ``raw`` as given; messages in English, as the asserts are."""
    headers = {"HTTP_ACCEPT_LANGUAGE": "en"}
    if user is not None:
        headers.update(auth(user))
    data = raw if raw is not None else (json.dumps(body) if body is not None else None)
    extra: dict[str, Any] = {"content_type": "application/json"} if data is not None else {}
    return getattr(client, method)(f"{API}{path}", data=data, **extra, **headers)
