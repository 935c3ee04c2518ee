"""The whole journey of issue 4 in a real browser, with every mail through a real SMTP server.

A citizen applies for a driving licence on the hosted form (keyboard, two uploads) →
the confirmation mail arrives at the test's SMTP server with the case page link → the
citizen opens the case page → an agent signs in to the desk, takes the case and asks
for the eye test certificate → the citizen, in a fresh browser, opens the link from
that mail and uploads it → the owner is told by mail, and the agent sees the document
in the timeline with the case open again.

axe-core finds no serious or critical violation on the form, the confirmation page and
the case page, in German and English. Screenshots go to /tmp/journey-screens/.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser import assert_accessible, browser_session, screenshot_dir
from vorgang.catalogue.models import ProvidedDocument
from vorgang.portal.models import InformationRequest
from vorgang.tickets.models import StateKind, Ticket

from .conftest import CITIZEN_EMAIL, PASSWORD, Mailbox, Office, text_of

SCREENS_COPY = Path("/tmp/journey-screens")
SERVICE = "fuehrerscheinantrag"
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
TIMEOUT_MS = 30_000

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


class Journey:
    """The browser pages and the place for screenshots, with small keyboard helpers."""

    def __init__(self, browser: Any, base: str, screens: Path) -> None:
        self.browser = browser
        self.base = base
        self.screens = screens
        self.shots = 0

    def context(self, locale: str = "de-DE") -> tuple[Any, Any]:
        context = self.browser.new_context(viewport={"width": 1280, "height": 900}, locale=locale)
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        return context, page

    def shot(self, page: Any, name: str) -> None:
        self.shots += 1
        page.screenshot(path=str(self.screens / f"{self.shots:02d}-{name}.png"), full_page=True)


def focused_id(page: Any) -> str:
    return str(page.evaluate("document.activeElement ? document.activeElement.id : ''"))


def tab_to(page: Any, element_id: str, most: int = 60) -> None:
    """Press Tab until the element has the focus: it is reachable by keyboard, in order."""
    for _ in range(most):
        if focused_id(page) == element_id:
            return
        page.keyboard.press("Tab")
    raise AssertionError(
        f"#{element_id} is not reachable with Tab (stopped at #{focused_id(page)})"
    )


def type_at(page: Any, element_id: str, text: str) -> None:
    tab_to(page, element_id)
    page.keyboard.type(text)


def case_link(message: Any, base: str) -> str:
    found = re.search(rf"{re.escape(base)}/c/[A-Za-z0-9_-]+/", text_of(message))
    assert found, "the mail holds no case page link"
    return found.group(0)


def fill_application(page: Any, tmp_path: Path) -> None:
    """The driving licence form, field after field with Tab; files like a file dialog would."""
    page.locator("#f-data-licence_class").focus()
    page.locator("#f-data-licence_class").select_option("B")
    type_at(page, "f-data-first_name", "Max")
    type_at(page, "f-data-last_name", "Mustermann")
    # 5 May 2004 in either order (Chromium orders the fields by its own UI language)
    type_at(page, "f-data-birth_date", "05052004")
    type_at(page, "f-data-address-street", "Rathausplatz 1")
    type_at(page, "f-data-address-postcode", "12345")
    type_at(page, "f-data-address-city", "Musterstadt")
    type_at(page, "f-data-email", CITIZEN_EMAIL)
    tab_to(page, "f-data-eye_test_done")
    # The eye test is not done yet: the box stays unticked; the office will ask for it.
    assert not page.locator("#f-data-eye_test_done").is_checked()
    photo = tmp_path / "passfoto.png"
    photo.write_bytes(PNG)
    first_aid = tmp_path / "erste-hilfe.pdf"
    first_aid.write_bytes(PDF)
    # The file dialog is the operating system's: the focused input gets the file directly.
    tab_to(page, "doc-photo")
    page.locator("#doc-photo").set_input_files(str(photo))
    tab_to(page, "doc-first_aid")
    page.locator("#doc-first_aid").set_input_files(str(first_aid))


def test_citizen_journey(
    office: Office,
    smtp: Mailbox,
    live_server: Any,
    browser: Any,
    screens: Path,
    settings: Any,
    tmp_path: Path,
) -> None:
    base = live_server.url
    settings.BASE_URL = base
    journey = Journey(browser, base, screens)

    # --- 1. The citizen applies on the hosted form (German) ------------------------------------
    citizen, page = journey.context()
    page.goto(f"{base}/s/{SERVICE}/")
    assert page.locator("html").get_attribute("lang") == "de"
    page.get_by_role("heading", name="Führerscheinantrag", exact=True).wait_for()
    assert_accessible(page, "form (de)")
    journey.shot(page, "form-de")

    fill_application(page, tmp_path)
    journey.shot(page, "form-filled-de")
    page.locator("#service-form button[type=submit]").focus()
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/s/{SERVICE}/done/**")
    done_url = page.url
    number = page.locator("#case-number").inner_text().strip()
    ticket = Ticket.objects.get(number=number)
    assert ticket.service is not None and ticket.service.slug == SERVICE
    assert ticket.citizen is not None and ticket.citizen.email == CITIZEN_EMAIL
    assert ticket.data["birth_date"] == "2004-05-05" and ticket.data["eye_test_done"] is False
    assert sorted(
        ticket.articles.get(kind="web").attachments.values_list("filename", flat=True)
    ) == [
        "erste-hilfe.pdf",
        "passfoto.png",
    ]
    page.get_by_text("Führerscheinstelle prüft Ihren Antrag").wait_for()
    assert_accessible(page, "confirmation (de)")
    journey.shot(page, "confirmation-de")

    # --- 2. The confirmation mail, through SMTP, holds the case page link ------------------------
    confirmation = smtp.wait_for(CITIZEN_EMAIL, number)
    assert f"Ihre Vorgangsnummer ist: {number}" in text_of(confirmation)
    first_link = case_link(confirmation, base)

    # --- 3. The citizen opens the case page, in German and English -------------------------------
    page.goto(first_link)
    page.get_by_role("heading", name=f"Ihr Vorgang {number}").wait_for()
    assert page.locator(".portal-state").inner_text() == "Eingegangen"
    assert_accessible(page, "case page (de)")
    journey.shot(page, "case-de")

    page.get_by_role("button", name="English").focus()
    page.keyboard.press("Enter")
    page.get_by_role("heading", name=f"Your case {number}").wait_for()
    assert page.locator("html").get_attribute("lang") == "en"
    assert_accessible(page, "case page (en)")
    journey.shot(page, "case-en")

    # The session keeps English: the form and the confirmation page in English.
    page.goto(f"{base}/s/{SERVICE}/")
    page.get_by_role("heading", name="Driving licence application", exact=True).wait_for()
    assert page.locator("html").get_attribute("lang") == "en"
    assert_accessible(page, "form (en)")
    journey.shot(page, "form-en")
    page.goto(done_url)
    assert page.locator("#case-number").inner_text().strip() == number
    page.get_by_role("heading", name="Thank you, your application has been received").wait_for()
    assert_accessible(page, "confirmation (en)")
    journey.shot(page, "confirmation-en")
    citizen.close()

    # --- 4. The agent takes the case and asks for the eye test certificate ----------------------
    agent, desk = journey.context()
    desk.goto(f"{base}/login/")
    desk.get_by_label("Benutzername").fill("anna")
    desk.get_by_label("Passwort").fill(PASSWORD)
    desk.get_by_label("Passwort").press("Enter")
    desk.wait_for_url(f"{base}/")
    desk.get_by_role("link", name=ticket.title).click()
    desk.wait_for_url(f"{base}/cases/{ticket.pk}/")
    journey.shot(desk, "desk-case-new")
    desk.locator("#owner").select_option(label="Anna Agentin")
    desk.locator(f"form[action='/cases/{ticket.pk}/owner/'] button[type=submit]").click()
    desk.wait_for_url(f"{base}/cases/{ticket.pk}/**")

    desk.locator(f"a[href='/cases/{ticket.pk}/request-info/']").click()
    desk.wait_for_url(f"{base}/cases/{ticket.pk}/request-info/")
    desk.get_by_label("Sehtestbescheinigung").check()
    desk.locator("#rfi-questions").fill("Bitte reichen Sie die Sehtestbescheinigung nach.")
    journey.shot(desk, "desk-request-form")
    desk.locator("form.desk-form button[type=submit]").click()
    desk.wait_for_url(f"{base}/cases/{ticket.pk}/#information-requests")
    journey.shot(desk, "desk-case-waiting")
    ticket.refresh_from_db()
    assert ticket.state.kind == StateKind.PENDING_REMINDER
    assert InformationRequest.objects.get(ticket=ticket).documents == ["eye_test"]

    # --- 5. The citizen, in a fresh browser, answers from the request mail ---------------------
    request_mail = smtp.wait_for(CITIZEN_EMAIL, "", seen=smtp.messages.index(confirmation) + 1)
    assert "Sehtestbescheinigung" in text_of(request_mail)
    second_link = case_link(request_mail, base)
    assert second_link != first_link  # a fresh link; both work

    answering, page = journey.context()
    page.goto(second_link)
    page.get_by_role("heading", name=f"Ihr Vorgang {number}").wait_for()
    assert page.locator(".portal-state").inner_text() == "Wartet auf Ihre Antwort"
    assert page.get_by_text("Bitte reichen Sie die Sehtestbescheinigung nach.").first.is_visible()
    assert_accessible(page, "case page waiting (de)")
    journey.shot(page, "case-waiting-de")

    certificate = tmp_path / "Sehtest Max Mustermann.pdf"
    certificate.write_bytes(PDF)
    type_at(page, "message", "Guten Tag, anbei die Sehtestbescheinigung.")
    tab_to(page, "document-eye_test")
    page.locator("#document-eye_test").set_input_files(str(certificate))
    page.get_by_role("button", name="Absenden").focus()
    page.keyboard.press("Enter")
    page.get_by_role("status").get_by_text("Ihre Nachricht ist bei uns angekommen").wait_for()
    timeline = page.locator("#timeline")
    timeline.get_by_role("link", name="Sehtest Max Mustermann.pdf").wait_for()
    assert page.locator(".portal-state").inner_text() == "In Bearbeitung"
    assert_accessible(page, "case page after the upload (de)")
    journey.shot(page, "case-answered-de")
    answering.close()

    # The owner hears of it, by mail through SMTP as well (without the citizen's text).
    notice = smtp.wait_for("anna@stadt.example", number)
    assert "Guten Tag, anbei" not in text_of(notice)
    assert f"{base}/cases/{ticket.pk}/" in text_of(notice)

    # --- 6. The agent reloads the case: the document is there, the case is open -----------------
    desk.reload()
    timeline = desk.locator("#timeline")
    timeline.get_by_text("Guten Tag, anbei die Sehtestbescheinigung.").wait_for()
    assert timeline.get_by_role("link", name="Sehtest Max Mustermann.pdf").is_visible()
    assert "offen" in desk.locator(".desk-case-title__number").inner_text()
    journey.shot(desk, "desk-case-answered")

    # --- 7. A link went astray: the agent revokes the links, the old one explains itself --------
    section = desk.locator("#case-page-links")
    section.screenshot(path=str(screens / f"{journey.shots + 1:02d}-desk-links-section.png"))
    journey.shots += 1
    section.get_by_role("checkbox").check()
    section.get_by_role("button").click()
    desk.wait_for_url(f"{base}/cases/{ticket.pk}/#case-page-links")
    assert desk.locator("#case-page-links").get_by_role("button").count() == 0
    journey.shot(desk, "desk-links-revoked")
    agent.close()

    stale, page = journey.context()
    response = page.goto(second_link)
    assert response is not None and response.status == 410
    page.get_by_role("heading", name="Dieser Link gilt nicht mehr").wait_for()
    assert page.get_by_label("Vorgangsnummer").is_visible()  # a new link, right here
    assert_accessible(page, "revoked link (de)")
    journey.shot(page, "case-link-revoked-de")
    stale.close()

    ticket.refresh_from_db()
    assert ticket.state.kind == StateKind.OPEN
    assert ProvidedDocument.objects.filter(ticket=ticket, document_key="eye_test").exists()
    assert InformationRequest.objects.get(ticket=ticket).answered_at is not None
    # Everything the citizen was sent went through the SMTP server, nothing else.
    to_citizen = [m for m in smtp.messages if CITIZEN_EMAIL in str(m["To"])]
    assert len(to_citizen) == 2
