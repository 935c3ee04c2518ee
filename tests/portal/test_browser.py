"""The citizen's journey in a real browser (Debian's Chromium through Playwright), checked by axe.

The agent asks for a document on the case view; the citizen opens the link from that
e-mail, reads the state, writes a message and uploads a PDF with the keyboard only,
and finds both in the timeline; the agent then sees them. axe-core finds nothing
serious or critical on the case page and the request-a-link page, in German and
English. Screenshots go to a temporary dir and are copied to /tmp/portal-screens/.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser import assert_accessible, browser_session, screenshot_dir
from vorgang.tickets.models import Article

from .conftest import PASSWORD, PDF, World, path_of

SCREENS_COPY = Path("/tmp/portal-screens")

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


def _focused_text(page: Any) -> str:
    return str(page.evaluate("(document.activeElement.textContent || '').trim()"))


def _focused_id(page: Any) -> str:
    return str(page.evaluate("document.activeElement.id"))


def test_citizen_answers_a_request_with_the_keyboard(
    world: World, live_server: Any, browser: Any, screens: Path, tmp_path: Path, settings: Any
) -> None:
    settings.BASE_URL = live_server.url
    world.tenant.imprint = "Stadt Musterstadt, Rathausplatz 1, 12345 Musterstadt"
    world.tenant.save()
    base = live_server.url

    # The agent asks for the eye test on the case view.
    agent = browser.new_context(viewport={"width": 1280, "height": 900}, locale="de-DE")
    desk = agent.new_page()
    desk.set_default_timeout(30_000)
    desk.goto(f"{base}/login/")
    desk.get_by_label("Benutzername").fill("anna")
    desk.get_by_label("Passwort").fill(PASSWORD)
    desk.get_by_label("Passwort").press("Enter")
    desk.wait_for_url(f"{base}/")
    desk.goto(f"{base}/cases/{world.ticket.pk}/")
    desk.locator(f"a[href='/cases/{world.ticket.pk}/request-info/']").click()
    desk.wait_for_url(f"{base}/cases/{world.ticket.pk}/request-info/")
    assert_accessible(desk, "request for information (desk)")
    desk.get_by_label("Sehtest").check()
    desk.locator("#rfi-questions").fill("Tragen Sie beim Fahren eine Brille?")
    desk.screenshot(path=str(screens / "01-desk-request-form.png"), full_page=True)
    desk.locator("#rfi-questions").press("Tab")
    desk.locator("form.desk-form button[type=submit]").click()
    desk.wait_for_url(f"{base}/cases/{world.ticket.pk}/#information-requests")
    desk.screenshot(path=str(screens / "02-desk-case-waiting.png"), full_page=True)

    mail = Article.objects.get(ticket=world.ticket, kind="email")
    url = next(w for w in mail.body.split() if w.startswith(f"{base}/c/"))

    # The citizen opens the link from the e-mail.
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="de-DE")
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(url)
    assert page.locator("html").get_attribute("lang") == "de"
    page.get_by_role("heading", name=f"Ihr Vorgang {world.ticket.number}").wait_for()
    assert page.locator(".portal-state").inner_text() == "Wartet auf Ihre Antwort"
    assert page.get_by_text("Tragen Sie beim Fahren eine Brille?").first.is_visible()
    assert_accessible(page, "case")
    page.screenshot(path=str(screens / "03-case-waiting.png"), full_page=True)

    # Write and upload with the keyboard only.
    pdf = tmp_path / "Sehtest Max Mustermann.pdf"
    pdf.write_bytes(PDF)
    page.locator("#message").focus()
    page.keyboard.type("Ja, ich trage eine Brille. Anbei der Sehtest.")
    page.keyboard.press("Tab")
    assert _focused_id(page) == "document-passport"  # required by the service, still missing
    page.keyboard.press("Tab")
    assert _focused_id(page) == "document-eye_test"
    # The file dialog is the operating system's, not ours: fill the focused input directly
    # (opening the chooser with Space depends on the browser's user-activation timing).
    page.locator("#document-eye_test").set_input_files(str(pdf))
    page.keyboard.press("Tab")
    assert _focused_id(page) == "files"
    page.keyboard.press("Tab")
    assert _focused_text(page) == "Absenden"
    page.keyboard.press("Enter")

    page.get_by_role("status").get_by_text("Ihre Nachricht ist bei uns angekommen").wait_for()
    timeline = page.locator("#timeline")
    assert timeline.get_by_text("Ja, ich trage eine Brille. Anbei der Sehtest.").is_visible()
    assert timeline.get_by_role("link", name="Sehtest Max Mustermann.pdf").is_visible()
    assert page.locator(".portal-state").inner_text() == "In Bearbeitung"
    assert_accessible(page, "case after the upload")
    page.screenshot(path=str(screens / "04-case-after-upload.png"), full_page=True)

    # 200 % zoom: no sideways scrolling.
    zoomed = browser.new_context(
        viewport={"width": 640, "height": 900}, device_scale_factor=2, locale="de-DE"
    )
    zpage = zoomed.new_page()
    zpage.goto(url)
    zpage.screenshot(path=str(screens / "05-case-zoom200.png"), full_page=True)
    width = zpage.evaluate("document.documentElement.scrollWidth")
    assert width <= 640, f"the case page scrolls sideways at 200 % zoom ({width}px)"
    zoomed.close()

    # English.
    page.get_by_role("button", name="English").click()
    page.get_by_role("heading", name=f"Your case {world.ticket.number}").wait_for()
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator(".portal-state").inner_text() == "In progress"
    assert_accessible(page, "case (English)")
    page.screenshot(path=str(screens / "06-case-english.png"), full_page=True)

    # The request-a-link page, in English and German, also with errors.
    page.goto(f"{base}/c/new/")
    assert_accessible(page, "request a link (English)")
    page.screenshot(path=str(screens / "07-new-link-english.png"), full_page=True)
    page.get_by_role("button", name="Deutsch").click()
    page.get_by_role("heading", name="Neuen Link zu Ihrem Vorgang anfordern").wait_for()
    assert_accessible(page, "request a link")
    page.get_by_role("button", name="Neuen Link schicken").click()
    page.get_by_role("alert").wait_for()
    assert_accessible(page, "request a link with errors")
    page.screenshot(path=str(screens / "08-new-link-errors.png"), full_page=True)
    page.get_by_label("Vorgangsnummer").fill(world.ticket.number)
    page.get_by_label("Ihre E-Mail-Adresse").fill("max.mustermann@example.org")
    page.get_by_role("button", name="Neuen Link schicken").click()
    page.get_by_text("Wenn die Angaben passen, haben wir Ihnen einen Link geschickt.").wait_for()
    assert_accessible(page, "link sent")
    page.screenshot(path=str(screens / "09-link-sent.png"), full_page=True)

    # A forged link, and the imprint.
    page.goto(f"{base}/c/{'A' * 43}/")
    page.get_by_role("heading", name="Dieser Link funktioniert nicht").wait_for()
    assert_accessible(page, "invalid link")
    page.screenshot(path=str(screens / "10-invalid-link.png"), full_page=True)
    page.get_by_role("link", name="Impressum").click()
    page.get_by_text("Rathausplatz 1").wait_for()
    page.screenshot(path=str(screens / "11-imprint.png"), full_page=True)

    # The agent sees the answer and the file.
    desk.goto(f"{base}/cases/{world.ticket.pk}/")
    timeline = desk.locator("#timeline")
    assert timeline.get_by_text("Ja, ich trage eine Brille. Anbei der Sehtest.").is_visible()
    assert timeline.get_by_text("Sehtest Max Mustermann.pdf").first.is_visible()
    desk.screenshot(path=str(screens / "12-desk-case-answered.png"), full_page=True)
    assert path_of(url).startswith("/c/")
    context.close()
    agent.close()
