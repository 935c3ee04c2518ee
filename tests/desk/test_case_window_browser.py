"""In a browser: older messages by keyboard, a deep link to one, the history on opening,
and the live update keeping the loaded messages."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser import assert_accessible, browser_session, screenshot_dir
from vorgang.desk.views import cases
from vorgang.tickets import services
from vorgang.tickets.models import Article

from .conftest import World
from .test_live_browser import POLL_WAIT_MS, retrying, signed_in

SCREENS_COPY = Path("/tmp/desk-case-window-screens")

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def browser(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    yield from browser_session(monkeypatch)


@pytest.fixture
def screens(tmp_path: Path) -> Iterator[Path]:
    yield from screenshot_dir(tmp_path, SCREENS_COPY)


@pytest.fixture
def messages(world: World, monkeypatch: pytest.MonkeyPatch) -> list[Article]:
    monkeypatch.setattr(cases, "TIMELINE_NEWEST", 3)
    monkeypatch.setattr(cases, "HISTORY_INLINE_MAX", 2)
    for i in range(1, 6):
        services.add_article(
            world.agent, world.ticket, services.ArticleInput(body=f"Nachricht Nummer {i}")
        )
    return list(Article.objects.filter(ticket=world.ticket).order_by("created_at", "pk"))


def test_older_messages_by_keyboard_and_live_update_keeps_them(
    world: World, messages: list[Article], live_server: Any, browser: Any, screens: Path
) -> None:
    context, page = signed_in(browser, live_server)
    page.goto(f"{live_server.url}/cases/{world.ticket.pk}/")
    page.evaluate("window.__sameDocument = true")
    first = f"article-{messages[0].pk}"
    assert page.locator(f"#{first}").count() == 0

    control = page.get_by_role("link", name="3 ältere Nachrichten anzeigen")
    control.focus()
    page.keyboard.press("Enter")
    page.locator(f"#{first}").wait_for()
    # The focus moves to the first loaded entry, the start of the timeline (here the event
    # "case created"); the status region says what came.
    page.wait_for_function(
        "() => document.activeElement === document.querySelector('.desk-timeline > li')"
    )
    page.wait_for_function(
        "() => document.getElementById('timeline-status').textContent"
        ".includes('3 ältere Nachrichten geladen')"
    )
    assert page.locator("#timeline-older").count() == 0
    assert page.locator(".desk-timeline .desk-article").count() == 6
    assert page.evaluate("window.__sameDocument") is True
    assert_accessible(page, "case with its older messages loaded")
    page.screenshot(path=str(screens / "01-older-loaded.png"), full_page=True)

    # The history is loaded when its section is opened.
    history = page.locator("details.desk-history")
    assert history.locator("table").count() == 0
    history.locator("summary").focus()
    page.keyboard.press("Enter")
    history.locator("table tbody tr").first.wait_for()
    assert history.get_by_text("Vorgang angelegt").count() == 1

    # A message from the citizen arrives: the timeline is refreshed without losing the
    # older messages the agent loaded.
    reply = services.ArticleInput(
        body="Hier kommt der Nachweis.", kind="email", sender="citizen", subject="Nachweis"
    )
    retrying(lambda: services.add_article(None, world.ticket, reply))
    page.locator("#timeline").get_by_text("Hier kommt der Nachweis.").wait_for(timeout=POLL_WAIT_MS)
    assert page.locator(f"#{first}").count() == 1
    assert page.locator(".desk-timeline .desk-article").count() == 7
    assert page.evaluate("window.__sameDocument") is True
    context.close()


def test_a_deep_link_to_an_older_message_loads_the_whole_timeline(
    world: World, messages: list[Article], live_server: Any, browser: Any
) -> None:
    context, page = signed_in(browser, live_server)
    target = f"article-{messages[1].pk}"
    page.goto(f"{live_server.url}/cases/{world.ticket.pk}/#{target}")
    page.wait_for_url(f"**/cases/{world.ticket.pk}/?all=1#{target}")
    page.locator(f"#{target}").wait_for()
    assert page.locator("#timeline-older").count() == 0
    assert page.locator(".desk-timeline .desk-article").count() == 6
    context.close()
