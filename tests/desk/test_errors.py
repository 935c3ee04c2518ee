"""Error pages in plain language, for Django's handlers and for ServiceErrors in views."""

from __future__ import annotations

import pytest
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import translation

from vorgang.core.errors import InvalidInput, PermissionDenied
from vorgang.desk import overviews as desk_overviews
from vorgang.desk.views import errors

from .conftest import World

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("handler", "status", "german", "english"),
    [
        (errors.bad_request, 400, "Die Anfrage war nicht verständlich", "could not be understood"),
        (errors.forbidden, 403, "Kein Zugriff", "Access denied"),
        (errors.not_found, 404, "Seite nicht gefunden", "Page not found"),
    ],
)
def test_handlers_render_plain_language(
    rf: RequestFactory, handler: object, status: int, german: str, english: str
) -> None:
    request = rf.get("/irgendwo/")
    with translation.override("de"):
        response = handler(request, None)  # type: ignore[operator]
    assert response.status_code == status
    assert german in response.content.decode()
    assert '<html lang="de">' in response.content.decode()
    with translation.override("en"):
        response = handler(request, None)  # type: ignore[operator]
    assert english in response.content.decode()
    assert '<html lang="en">' in response.content.decode()


def test_server_error_page_needs_neither_session_nor_database(rf: RequestFactory) -> None:
    with translation.override("de"):
        response = errors.server_error(rf.get("/"))
    assert response.status_code == 500
    html = response.content.decode()
    assert "Bei uns ist ein Fehler aufgetreten" in html
    assert "Abmelden" not in html


def test_unhandled_exception_gives_the_500_page(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("kaputt")

    monkeypatch.setattr(desk_overviews, "find", broken)
    client = Client(raise_request_exception=False)
    client.force_login(world.agent)
    response = client.get(reverse("desk:overview"))
    assert response.status_code == 500
    assert "Bei uns ist ein Fehler aufgetreten" in response.content.decode()
    assert "kaputt" not in response.content.decode()


@pytest.mark.parametrize(
    ("error", "status", "text"),
    [
        (InvalidInput("bad"), 422, "Das ging nicht"),
        (PermissionDenied("no"), 403, "Sie dürfen diesen Vorgang sehen, aber nicht ändern."),
    ],
)
def test_service_errors_in_views_become_error_pages(
    agent_client: Client,
    monkeypatch: pytest.MonkeyPatch,
    error: Exception,
    status: int,
    text: str,
) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise error

    monkeypatch.setattr(desk_overviews, "find", refuse)
    response = agent_client.get(reverse("desk:overview"))
    assert response.status_code == status
    assert text in response.content.decode()


def test_kern_and_htmx_are_served_locally(agent_client: Client) -> None:
    html = agent_client.get(reverse("desk:overview")).content.decode()
    assert 'href="/static/vendor/kern/kern.min.css"' in html
    assert 'href="/static/desk/desk.css"' in html
    assert 'src="/static/vendor/htmx/htmx.min.js"' in html
    assert "cdn" not in html.lower()
    # `make install` copies KERN and htmx out of node_modules; the pages need them.
    assert agent_client.get("/static/vendor/kern/kern.min.css").status_code == 200
    assert agent_client.get("/static/vendor/htmx/htmx.min.js").status_code == 200
