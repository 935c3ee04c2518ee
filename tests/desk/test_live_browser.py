"""The live desk in a real browser: a citizen's reply appears without a reload, drafts come
back after a reload, the shortcut help is a keyboard-usable dialog, and axe finds nothing
serious on the settings, notifications and search pages. Screenshots: /tmp/desk-live-screens/.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from django.db import OperationalError

from tests.browser import assert_accessible, browser_session, screenshot_dir
from vorgang.notifications.models import OnlineNotification
from vorgang.presence import services as presence
from vorgang.presence.models import Draft
from vorgang.search import indexing
from vorgang.tickets import services
from vorgang.tickets.models import Ticket

from .conftest import PASSWORD, World, make_ticket

SCREENS_COPY = Path("/tmp/desk-live-screens")
POLL_WAIT_MS = 30_000  # the case polls every 10 s; a loaded machine may be slower

T = TypeVar("T")

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def browser(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    yield from browser_session(monkeypatch)


@pytest.fixture
def screens(tmp_path: Path) -> Iterator[Path]:
    yield from screenshot_dir(tmp_path, SCREENS_COPY)


def retrying(action: Callable[[], T]) -> T:
    """Run a database call of the test thread while the live server polls the same database.

    The test database on SQLite is in memory with a shared cache, where a concurrent
    request of the server can hold a table lock for a moment ("database table is locked").
    """
    for _attempt in range(50):
        try:
            return action()
        except OperationalError as err:
            if "locked" not in str(err):
                raise
            time.sleep(0.1)
    return action()


def signed_in(browser: Any, live_server: Any, login: str = "anna") -> tuple[Any, Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="de-DE")
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Benutzername").fill(login)
    page.get_by_label("Passwort").fill(PASSWORD)
    page.get_by_label("Passwort").press("Enter")
    page.wait_for_url(f"{live_server.url}/")
    return context, page


def test_a_citizen_reply_appears_without_reload(
    world: World, live_server: Any, browser: Any, screens: Path
) -> None:
    context, page = signed_in(browser, live_server)
    page.goto(f"{live_server.url}/cases/{world.ticket.pk}/")
    page.evaluate("window.__sameDocument = true")

    # A colleague opens the case too.
    retrying(lambda: presence.heartbeat(world.reader, world.ticket))
    page.locator("#case-presence").get_by_text("Rudi Leser").wait_for(timeout=POLL_WAIT_MS)

    # Anna starts a note; the draft is saved as she types.
    note = page.locator("#note-body")
    note.focus()
    page.keyboard.type("Rückruf bei der Bürgerin morgen früh.")
    page.wait_for_function(
        "() => document.activeElement && document.activeElement.id === 'note-body'"
    )
    for _ in range(50):
        if retrying(Draft.objects.filter(user=world.agent, kind="note").exists):
            break
        page.wait_for_timeout(200)
    draft = retrying(lambda: Draft.objects.get(user=world.agent, kind="note"))
    assert draft.fields["body"].startswith("Rückruf")

    # The citizen answers (through the services, as mail intake would).
    reply = services.ArticleInput(
        body="Guten Tag, anbei der Nachweis über den Wohnsitz.",
        kind="email",
        sender="citizen",
        subject="Nachweis Wohnsitz",
        from_addr="max.mustermann@example.org",
    )
    retrying(lambda: services.add_article(None, world.ticket, reply))
    timeline = page.locator("#timeline")
    timeline.get_by_text("anbei der Nachweis über den Wohnsitz").wait_for(timeout=POLL_WAIT_MS)
    # The polite status region says what happened (in the agent's language, German).
    page.wait_for_function(
        "() => document.getElementById('case-live-status').textContent.includes('Bürger')"
    )
    # No reload, the focus and the half-written note untouched.
    assert page.evaluate("window.__sameDocument") is True
    assert page.evaluate("document.activeElement.id") == "note-body"
    assert note.input_value() == "Rückruf bei der Bürgerin morgen früh."
    assert page.locator(".desk-article--fresh").count() == 1
    assert_accessible(page, "case after a live update")
    page.screenshot(path=str(screens / "01-case-live-update.png"), full_page=True)

    # A reload brings the draft back into the note form.
    page.reload()
    page.wait_for_function("() => document.getElementById('note-body').value.startsWith('Rückruf')")
    page.screenshot(path=str(screens / "02-case-draft-restored.png"), full_page=False)
    context.close()


def test_shortcut_help_by_keyboard(
    world: World, live_server: Any, browser: Any, screens: Path
) -> None:
    context, page = signed_in(browser, live_server)
    page.goto(f"{live_server.url}/cases/{world.ticket.pk}/")
    page.locator("body").click(position={"x": 5, "y": 400})

    # Typing in a field never fires a shortcut.
    page.locator("#note-body").focus()
    page.keyboard.type("?r/")
    assert not page.locator("#desk-shortcuts").is_visible()
    assert page.locator("#note-body").input_value() == "?r/"

    # "?" opens the help as a modal dialog with the focus inside it.
    page.locator("h1").click()
    page.keyboard.type("?")
    dialog = page.get_by_role("dialog", name="Tastenkürzel")
    dialog.wait_for()
    assert page.evaluate(
        "document.getElementById('desk-shortcuts').contains(document.activeElement)"
    )
    for _ in range(4):  # Tab stays inside the dialog
        page.keyboard.press("Tab")
        assert page.evaluate(
            "document.getElementById('desk-shortcuts').contains(document.activeElement)"
        )
    assert_accessible(page, "shortcut help")
    page.screenshot(path=str(screens / "03-shortcut-help.png"), full_page=False)
    page.keyboard.press("Escape")
    dialog.wait_for(state="hidden")

    # The help's button returns the focus to itself when the dialog closes.
    opener = page.locator("[data-shortcuts-open]")
    opener.focus()
    page.keyboard.press("Enter")
    dialog.wait_for()
    page.keyboard.press("Escape")
    dialog.wait_for(state="hidden")
    assert page.evaluate("document.activeElement.hasAttribute('data-shortcuts-open')")

    # r: reply, n: note, /: search, g s: settings.
    page.locator("h1").click()
    page.keyboard.press("r")
    assert page.evaluate("document.activeElement.id") == "reply-text"
    page.locator("h1").click()
    page.keyboard.press("n")
    assert page.evaluate("document.activeElement.id") == "note-body"
    page.locator("h1").click()
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "desk-search-q"
    page.keyboard.type("Anwohnerpark")
    page.keyboard.press("Escape")
    page.locator("h1").click()
    page.keyboard.press("g")
    page.keyboard.press("s")
    page.wait_for_url(f"{live_server.url}/settings/")
    context.close()


def test_settings_notifications_and_search_pages_are_accessible(
    world: World, live_server: Any, browser: Any, screens: Path
) -> None:
    for title in ("Parkausweis Zweitwagen", "Parkausweis Handwerker"):
        make_ticket(world.department, title=title)
    indexing.index(list(Ticket.objects.values_list("pk", flat=True)))
    OnlineNotification.objects.create(
        tenant=world.tenant, user=world.agent, ticket=world.ticket, kind="citizen_replied"
    )
    OnlineNotification.objects.create(
        tenant=world.tenant,
        user=world.agent,
        ticket=world.ticket,
        kind="mention",
        actor=world.reader,
        seen=True,
    )
    context, page = signed_in(browser, live_server)

    page.goto(f"{live_server.url}/settings/")
    assert_accessible(page, "settings")
    page.get_by_label("Name", exact=True).fill("Fachverfahren Kfz")
    page.get_by_role("button", name="Token anlegen").click()
    new_token = page.locator("#new-token")
    new_token.wait_for()
    assert len(new_token.input_value()) > 30
    assert_accessible(page, "settings with a new token")
    page.screenshot(path=str(screens / "04-settings.png"), full_page=True)

    bell = page.locator("#desk-bell")
    assert bell.get_attribute("aria-label") == "Benachrichtigungen: 1 ungelesen"
    bell.click()
    page.wait_for_url(f"{live_server.url}/notifications/")
    assert_accessible(page, "notifications")
    page.screenshot(path=str(screens / "05-notifications.png"), full_page=True)
    page.get_by_role("button", name="Alle als gelesen markieren").click()
    page.wait_for_url(f"{live_server.url}/notifications/")
    assert (
        page.locator("#desk-bell").get_attribute("aria-label")
        == "Benachrichtigungen: keine ungelesen"
    )

    search = page.get_by_role("search", name="Vorgänge suchen").first
    search.get_by_role("searchbox").fill("Parkausweis")
    search.get_by_role("searchbox").press("Enter")
    page.wait_for_url(f"{live_server.url}/search/?q=Parkausweis")
    page.locator(".desk-search-result").first.wait_for()
    assert page.locator(".desk-search-result").count() >= 2
    assert_accessible(page, "search results")
    page.screenshot(path=str(screens / "06-search.png"), full_page=True)

    # 200 % zoom on the settings page: nothing scrolls sideways.
    zoomed = browser.new_context(
        viewport={"width": 640, "height": 900},
        device_scale_factor=2,
        locale="de-DE",
        storage_state=context.storage_state(),
    )
    zpage = zoomed.new_page()
    for path, name in (
        ("/settings/", "07-settings-zoom200"),
        ("/search/?q=Parkausweis", "08-search-zoom200"),
    ):
        zpage.goto(f"{live_server.url}{path}")
        zpage.screenshot(path=str(screens / f"{name}.png"), full_page=True)
        width = zpage.evaluate("document.documentElement.scrollWidth")
        assert width <= 640, f"{path} scrolls sideways at 200 % zoom ({width}px)"
    zoomed.close()
    context.close()
