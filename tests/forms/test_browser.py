"""The hosted form in a real browser: Debian's Chromium through Playwright, checked by axe-core.

Fills the demo "Anmeldung" form with the keyboard, sends it once with mistakes (the
focus must land on the error summary, whose links lead to the fields), then correctly
with a PDF, and finds the case number on the confirmation page; axe finds nothing
serious or critical on the form, the error state and the confirmation, in German and
English. Screenshots are copied to /tmp/form-screens/.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core import mail

from tests.browser import assert_accessible, browser_session, screenshot_dir
from vorgang.catalogue.models import OnlineService
from vorgang.tickets.models import Ticket

from .conftest import PDF

SCREENS_COPY = Path("/tmp/form-screens")

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


def active_id(page: Any) -> str:
    return str(page.evaluate("document.activeElement && document.activeElement.id"))


def type_into(page: Any, element_id: str, text: str) -> None:
    """Move the focus to a field (as Tab would) and type, key by key."""
    page.locator(f"#{element_id}").focus()
    page.keyboard.type(text)


def fill_registration(page: Any, *, postcode: str, language: str) -> None:
    type_into(page, "f-data-first_name", "Max")
    type_into(page, "f-data-last_name", "Mustermann")
    # A date field takes the digits in the order the browser's language shows them.
    page.locator("#f-data-move_in_date").focus()
    page.keyboard.type("01112026" if language == "de" else "11012026")
    type_into(page, "f-data-new_address-street", "Rathausplatz 1")
    type_into(page, "f-data-new_address-postcode", postcode)
    type_into(page, "f-data-new_address-city", "Musterstadt")
    type_into(page, "f-data-previous_address-street", "Rue de la Paix 3")
    type_into(page, "f-data-previous_address-postcode", "75002")
    type_into(page, "f-data-previous_address-city", "Paris")
    type_into(page, "f-data-persons_count", "1")
    type_into(page, "f-data-email", "max@example.org")


def send_with_keyboard(page: Any) -> None:
    page.locator("#service-form button[type=submit]").focus()
    page.keyboard.press("Enter")


def clear_fields(page: Any, *ids: str) -> None:
    for element_id in ids:
        page.locator(f"#{element_id}").fill("")


def journey(
    page: Any, base: str, screens: Path, language: str, *, double_click: bool = False
) -> str:
    """Error first, then success; returns the case number shown."""
    page.goto(f"{base}/s/anmeldung/")
    assert page.locator("html").get_attribute("lang") == language
    assert_accessible(page, f"form ({language})")
    page.screenshot(path=str(screens / f"{language}-01-form.png"), full_page=True)

    # A wrong postcode and no documents: the form comes back with the errors.
    fill_registration(page, postcode="1234", language=language)
    send_with_keyboard(page)
    page.locator("#error-summary").wait_for()
    assert active_id(page) == "error-summary"
    summary = page.locator("#error-summary")
    if language == "de":
        assert "Postleitzahl mit 5 Ziffern" in summary.inner_text()
    else:
        assert "postcode of 5 digits" in summary.inner_text()
    postcode = page.locator("#f-data-new_address-postcode")
    assert postcode.get_attribute("aria-invalid") == "true"
    assert postcode.input_value() == "1234"  # the entries are kept
    assert_accessible(page, f"form with errors ({language})")
    page.screenshot(path=str(screens / f"{language}-02-errors.png"), full_page=True)

    # The summary's first link leads to the field (keyboard: Tab, Enter).
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.getAttribute('data-focus')") == (
        "f-data-new_address-postcode"
    )
    page.keyboard.press("Enter")
    assert active_id(page) == "f-data-new_address-postcode"
    page.keyboard.press("Control+A")
    page.keyboard.type("12345")

    # The files must be chosen again (a file dialog is the system's, not the page's).
    page.locator("#doc-landlord_confirmation").set_input_files(
        [{"name": "wohnungsgeberbestaetigung.pdf", "mimeType": "application/pdf", "buffer": PDF}]
    )
    page.locator("#doc-id_card").set_input_files(
        [
            {"name": "ausweis-vorne.pdf", "mimeType": "application/pdf", "buffer": PDF},
            {"name": "ausweis-hinten.pdf", "mimeType": "application/pdf", "buffer": PDF},
        ]
    )
    if double_click:  # impatient: still one case
        page.locator("#service-form button[type=submit]").dblclick()
    else:
        send_with_keyboard(page)
    page.wait_for_url(f"{base}/s/anmeldung/done/**")
    number = page.locator("#case-number").inner_text().strip()
    assert number
    assert_accessible(page, f"confirmation ({language})")
    page.screenshot(path=str(screens / f"{language}-03-confirmation.png"), full_page=True)
    return number


def test_registration_by_keyboard(
    demo_services: dict[str, OnlineService],
    live_server: Any,
    browser: Any,
    screens: Path,
    settings: Any,
) -> None:
    # A warm browser fills the form in under a second; the minimum age is tested in
    # test_guards.py, here it would only make the test depend on the machine's speed.
    settings.VORGANG_FORM_MIN_SECONDS = 0
    base = live_server.url

    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="de-DE")
    page = context.new_page()
    page.set_default_timeout(30_000)
    number = journey(page, base, screens, "de")
    ticket = Ticket.objects.get(number=number)
    assert ticket.service == demo_services["anmeldung"]
    web = ticket.articles.get(kind="web")
    assert web.attachments.count() == 3
    assert ticket.citizen is not None and ticket.citizen.email == "max@example.org"
    sent = [m for m in mail.outbox if number in m.subject]
    assert len(sent) == 1 and "/c/" in sent[0].body

    # 200 % zoom: half the CSS width at twice the pixel density; nothing scrolls sideways.
    zoomed = browser.new_context(
        viewport={"width": 640, "height": 900}, device_scale_factor=2, locale="de-DE"
    )
    zpage = zoomed.new_page()
    zpage.goto(f"{base}/s/anmeldung/")
    zpage.screenshot(path=str(screens / "de-04-form-zoom200.png"), full_page=True)
    width = zpage.evaluate("document.documentElement.scrollWidth")
    assert width <= 640, f"the form scrolls sideways at 200 % zoom ({width}px)"
    zoomed.close()

    # English, through the language switch on the page.
    page.goto(f"{base}/s/anmeldung/")
    page.get_by_role("button", name="English").focus()
    page.keyboard.press("Enter")
    page.wait_for_load_state()
    page.get_by_role("heading", name="Registering your address").wait_for()
    english = journey(page, base, screens, "en", double_click=True)
    assert english != number
    assert Ticket.objects.count() == 2
    context.close()
