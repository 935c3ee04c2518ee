"""/api/docs: Swagger UI from our own origin, showing /api/v1/openapi.json; no CDN.

The first tests read the page's HTML and fetch every asset it names; the browser test
loads it in Chromium, waits until Swagger UI has drawn the operations, and checks
that every request the browser made went to the live server.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.test import Client

from tests.browser import browser_session, screenshot_dir

pytestmark = pytest.mark.django_db

ASSET = re.compile(r'\b(?:src|href)="([^"]+)"')


def page_assets(html: str) -> list[str]:
    return ASSET.findall(html)


def test_docs_page_references_only_local_assets(client: Client) -> None:
    response = client.get("/api/docs")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assets = page_assets(html)
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in assets
    assert "/static/vendor/swagger-ui/swagger-ui.css" in assets
    assert 'data-openapi-url="/api/v1/openapi.json"' in html
    for url in assets:
        parts = urlsplit(url)
        assert not parts.scheme or parts.scheme == "data", url
        assert not parts.netloc, url  # no //cdn.example/...
    # The browser is told the same: scripts, styles and requests only from here.
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "connect-src 'self'" in policy
    assert "default-src 'none'" in policy


def test_every_asset_and_the_schema_are_served(client: Client) -> None:
    html = client.get("/api/docs").content.decode()
    for url in page_assets(html):
        if url.startswith("data:"):
            continue
        response = client.get(url)
        assert response.status_code == 200, url
        body = b"".join(response.streaming_content) if response.streaming else response.content
        assert body, url
        if url.endswith("/openapi.json"):
            assert response.json()["info"]["title"] == "Vorgang API"
    bundle = client.get("/static/vendor/swagger-ui/swagger-ui-bundle.js")
    assert bundle.status_code == 200
    assert b"SwaggerUIBundle" in b"".join(bundle.streaming_content)


def test_docs_page_answers_only_reads(client: Client) -> None:
    assert client.post("/api/docs").status_code == 405


# --- in a browser --------------------------------------------------------------------------


@pytest.fixture
def browser(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    yield from browser_session(monkeypatch)


@pytest.fixture
def screens(tmp_path: Path) -> Iterator[Path]:
    yield from screenshot_dir(tmp_path, Path("/tmp/api-docs-screens"))


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_swagger_ui_draws_the_api_from_this_server_alone(
    live_server: Any, browser: Any, screens: Path
) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    failed: list[str] = []
    page.on("requestfailed", lambda request: failed.append(request.url))
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    page.goto(f"{live_server.url}/api/docs")
    page.wait_for_selector(".opblock", timeout=20_000)
    assert page.locator(".opblock").count() > 40  # every operation is drawn
    assert page.get_by_text("/api/v1/tickets/search").first.is_visible()
    page.screenshot(path=str(screens / "api-docs.png"))

    origin = urlsplit(live_server.url).netloc
    outside = [u for u in requested if not u.startswith("data:") and urlsplit(u).netloc != origin]
    assert outside == []
    assert any(u.endswith("/api/v1/openapi.json") for u in requested)
    assert failed == [] and errors == []
    page.close()
