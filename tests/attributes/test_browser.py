"""The attribute form in a real browser: keyboard only, errors beside their fields, axe clean.

Screenshots go to a temporary dir and are copied to /tmp/attributes-screens/.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser import assert_accessible, browser_session, screenshot_dir
from tests.factories import PASSWORD, AgentFactory, DepartmentFactory, TicketFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def browser(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    yield from browser_session(monkeypatch)


@pytest.fixture
def screens(tmp_path: Path) -> Iterator[Path]:
    yield from screenshot_dir(tmp_path, Path("/tmp/attributes-screens"))


def test_agent_edits_attributes_and_sees_errors_beside_fields(
    every_type, tenant, live_server: Any, browser: Any, screens: Path
) -> None:
    department = DepartmentFactory(tenant=tenant)
    AgentFactory(username="erna", departments={department: ["full"]})
    ticket = TicketFactory(department=department)
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.set_default_timeout(30_000)
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "erna")
    page.fill("#id_password", PASSWORD)
    page.press("#id_password", "Enter")
    page.wait_for_url(f"{live_server.url}/")
    page.goto(f"{live_server.url}/cases/{ticket.pk}/")

    section = page.locator("#attributes")
    section.locator("summary").click()
    page.locator("#attribute-trust-score").fill("9")
    page.locator("#attribute-service-type").select_option("ausweis")
    page.locator("#attribute-documents-2").check()
    page.locator("#attribute-trust-score").press("Enter")  # submits the form

    error = page.locator("#attribute-trust-score-error")
    error.wait_for()
    assert "0" in error.inner_text() and "4" in error.inner_text()
    assert page.locator("#attribute-trust-score").get_attribute("aria-invalid") == "true"
    assert page.locator("#attribute-documents-2").is_checked()  # the input is kept
    assert_accessible(page, "case with attribute errors")
    page.screenshot(path=str(screens / "01-attribute-errors.png"), full_page=True)

    page.locator("#attribute-trust-score").fill("2")
    page.locator("#attribute-trust-score").press("Enter")
    page.wait_for_url(f"{live_server.url}/cases/{ticket.pk}/#attributes")
    table = section.locator("table")
    table.get_by_text("Personalausweis").wait_for()
    assert table.get_by_text("Geburtsurkunde").is_visible()
    assert_accessible(page, "case with attributes")
    page.screenshot(path=str(screens / "02-attributes-saved.png"), full_page=True)
    ticket.refresh_from_db()
    assert ticket.attributes == {
        "service_type": "ausweis",
        "documents": ["urkunde"],
        "trust_score": 2,
    }
