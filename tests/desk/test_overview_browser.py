"""Working an overview in a real browser, by keyboard: select cases, change them in bulk.

Debian's Chromium through Playwright; axe-core checks the overview before and after;
screenshots go to /tmp/desk-overview-screens/.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser import assert_accessible, browser_session, screenshot_dir
from vorgang.accounts.models import User
from vorgang.tickets import services
from vorgang.tickets.models import Ticket

from .conftest import PASSWORD, World, make_agent, make_ticket

SCREENS_COPY = Path("/tmp/desk-overview-screens")

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


def count(locator: Any) -> int:
    """The number in a count badge (screen readers hear it in parentheses)."""
    return int(re.sub(r"\D", "", locator.inner_text()))


def test_agent_works_an_overview_with_the_keyboard(
    world: World, live_server: Any, browser: Any, screens: Path
) -> None:
    colleague = make_agent("carla", world.department, "full", first_name="Carla")
    titles = ["Sperrmüll-Abholung", "Hundesteuer Anmeldung", "Wohngeld Antrag"]
    fresh = [make_ticket(world.department, title=t) for t in titles]
    services.assign(None, make_ticket(world.department, title="Schon vergeben"), colleague)
    services.tag(None, fresh[0], "Sperrmüll")

    # English UI: the test reads the labels (the agent's own choice wins over the browser's).
    User.objects.filter(pk=world.agent.pk).update(language="en")
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("User name").fill("anna")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Password").press("Enter")
    page.wait_for_url(f"{live_server.url}/")

    # The navigation lists the overviews with their counts; go to "Unassigned".
    nav = page.get_by_role("navigation", name="Overviews")
    unassigned = nav.locator("a", has=page.locator('[data-overview-count="unassigned"]'))
    assert count(unassigned.locator(".desk-count")) == 4
    unassigned.focus()
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server.url}/overviews/unassigned/")
    assert count(page.locator('[data-overview-count="unassigned"]')) == 4
    assert_accessible(page, "overview")
    page.screenshot(path=str(screens / "01-unassigned.png"), full_page=True)

    # Select two cases with the space bar; the selection is announced.
    for ticket in fresh[:2]:
        page.get_by_label(f"Select case {ticket.number}").focus()
        page.keyboard.press("Space")
    selection = page.locator("#bulk-selection")
    assert selection.get_attribute("aria-live") == "polite"
    assert "2" in selection.inner_text()

    # "Select all" selects the whole page, and again clears it; then pick two again.
    select_all = page.get_by_label("Select all cases on this page")
    select_all.focus()
    page.keyboard.press("Space")
    assert page.locator("[data-case-checkbox]:checked").count() == 4
    page.keyboard.press("Space")
    assert page.locator("[data-case-checkbox]:checked").count() == 0
    for ticket in fresh[:2]:
        page.get_by_label(f"Select case {ticket.number}").focus()
        page.keyboard.press("Space")

    # Owner and tag by keyboard, then send with Enter on the button.
    owner = page.locator("#bulk-owner")
    owner.focus()
    owner.select_option(label="Carla Muster")
    page.locator("#bulk-tag").focus()
    page.keyboard.type("Rückruf")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent.trim()")
    assert focused == page.locator(".desk-bulk__actions button").inner_text().strip()
    page.screenshot(path=str(screens / "02-selected.png"), full_page=True)
    page.keyboard.press("Enter")

    page.wait_for_url(f"{live_server.url}/overviews/unassigned/")
    page.get_by_role("status").wait_for()
    assert "2" in page.get_by_role("status").inner_text()
    assert count(page.locator('[data-overview-count="unassigned"]')) == 2
    rows = page.locator("tbody th[scope=row]").all_inner_texts()
    assert fresh[0].number not in rows and fresh[2].number in rows
    for ticket in fresh[:2]:
        changed = Ticket.objects.get(pk=ticket.pk)
        assert changed.owner == colleague
        assert changed.tags.filter(name="Rückruf").exists()
    assert_accessible(page, "overview after the bulk change")
    page.screenshot(path=str(screens / "03-after.png"), full_page=True)

    # Sorting by keyboard: the priority header link, aria-sort on the column.
    page.get_by_role("link", name="Priority").focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**sort=-priority**")
    assert page.locator('th[aria-sort="descending"]').count() == 1
    context.close()
