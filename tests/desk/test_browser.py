"""The desk in a real browser: Debian's Chromium through Playwright, checked by axe-core.

Signs in, opens a case from the overview, adds a note with the keyboard and finds it
in the timeline; axe finds nothing serious or critical on the login, overview and case
pages. Screenshots go to a temporary dir and are copied to /tmp/desk-screens/.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser import assert_accessible, browser_session, screenshot_dir
from vorgang.accounts import services as accounts
from vorgang.tickets import services

from .conftest import PASSWORD, World, make_ticket

SCREENS_COPY = Path("/tmp/desk-screens")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def browser(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    yield from browser_session(monkeypatch)


@pytest.fixture
def screens(tmp_path: Path) -> Iterator[Path]:
    yield from screenshot_dir(tmp_path, SCREENS_COPY)


def rich_case(world: World) -> None:
    """Give the case what the case page can show: tags, a link, HTML mail, an attachment."""
    ticket = world.ticket
    services.tag(None, ticket, "Parken")
    services.tag(None, ticket, "Zone 4")
    services.add_article(
        None,
        ticket,
        services.ArticleInput(
            body="<p>Guten Tag,</p><p>hier der <b>Nachweis</b>.</p>",
            content_type="text/html",
            kind="email",
            sender="citizen",
            subject="Nachweis",
            from_addr="max.mustermann@example.org",
            attachments=[
                services.AttachmentInput("Meldebescheinigung.pdf", b"%PDF-1.4", "application/pdf")
            ],
        ),
    )
    services.add_article(
        world.agent,
        ticket,
        services.ArticleInput(body="Nachweis geprüft, passt.", internal=True),
    )
    services.link(None, ticket, make_ticket(world.department, title="Antrag Zweitwagen"))
    citizen = accounts.find_or_create_citizen(
        world.tenant, "erika@example.org", first_name="Erika", last_name="Musterfrau"
    )
    for n, title in enumerate(["Sperrmüll-Abholung", "Hundesteuer Anmeldung", "Wohngeld"]):
        make_ticket(world.department, title=title, citizen=citizen, priority=1 + n % 3)


def test_agent_adds_a_note_with_the_keyboard(
    world: World, live_server: Any, browser: Any, screens: Path
) -> None:
    rich_case(world)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="de-DE")
    page = context.new_page()
    page.set_default_timeout(30_000)

    # Sign in.
    page.goto(f"{live_server.url}/login/")
    assert page.locator("html").get_attribute("lang") == "de"
    assert_accessible(page, "login")
    page.screenshot(path=str(screens / "01-login.png"), full_page=True)
    page.get_by_label("Benutzername").fill("anna")
    page.get_by_label("Passwort").fill(PASSWORD)
    page.get_by_label("Passwort").press("Enter")

    # The overview.
    page.wait_for_url(f"{live_server.url}/")
    page.get_by_role("heading", name="Offene Vorgänge").wait_for()
    assert_accessible(page, "overview")
    page.screenshot(path=str(screens / "02-overview.png"), full_page=True)

    # Open the case.
    page.get_by_role("link", name=world.ticket.title).click()
    page.wait_for_url(f"{live_server.url}/cases/{world.ticket.pk}/")
    assert_accessible(page, "case")
    page.screenshot(path=str(screens / "03-case.png"), full_page=True)

    # The state form shows the date field only for the waiting states.
    pending_field = page.locator("#pending_until")
    assert not pending_field.is_visible()
    page.get_by_label("Status", exact=True).select_option(label="warten auf Erinnerung")
    assert pending_field.is_visible()

    # Write a note and send it with the keyboard only.
    page.get_by_label("Interne Notiz").focus()
    page.keyboard.type("Bürgerin hat angerufen, Unterlagen kommen per Post.")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent.trim()")
    assert focused == "Notiz speichern"
    page.keyboard.press("Enter")

    page.wait_for_url(f"{live_server.url}/cases/{world.ticket.pk}/")
    page.get_by_role("status").get_by_text("Die Notiz wurde gespeichert.").wait_for()
    timeline = page.locator("#timeline")
    assert timeline.get_by_text("Bürgerin hat angerufen, Unterlagen kommen per Post.").is_visible()
    assert world.ticket.articles.filter(kind="note", internal=True).count() == 2
    assert_accessible(page, "case after the note")
    page.screenshot(path=str(screens / "04-case-note-added.png"), full_page=True)

    # Open the history and the HTML original, for the screenshot.
    page.get_by_text("Änderungsprotokoll").click()
    page.get_by_text("Mit der ursprünglichen Formatierung anzeigen").click()
    assert_accessible(page, "case with details open")
    page.screenshot(path=str(screens / "05-case-details-open.png"), full_page=True)

    # 200 % zoom: half the CSS width at twice the pixel density.
    zoomed = browser.new_context(
        viewport={"width": 640, "height": 900},
        device_scale_factor=2,
        locale="de-DE",
        storage_state=context.storage_state(),
    )
    zpage = zoomed.new_page()
    zpage.goto(f"{live_server.url}/")
    zpage.screenshot(path=str(screens / "06-overview-zoom200.png"), full_page=True)
    zpage.goto(f"{live_server.url}/cases/{world.ticket.pk}/")
    zpage.screenshot(path=str(screens / "07-case-zoom200.png"), full_page=True)
    width = zpage.evaluate("document.documentElement.scrollWidth")
    assert width <= 640, f"the case page scrolls sideways at 200 % zoom ({width}px)"

    # English, after the language switch.
    page.get_by_role("button", name="English").click()
    page.get_by_role("heading", name="Timeline").wait_for()
    assert page.locator("html").get_attribute("lang") == "en"
    page.screenshot(path=str(screens / "08-case-english.png"), full_page=True)
    zoomed.close()
    context.close()
