"""The case view's tools in a real browser (Debian's Chromium through Playwright, axe-core).

An agent answers the citizen's e-mail by keyboard: the Reply button on the message,
a text module through the "::" shortcut, an attachment; the mail arrives at a real SMTP
server (aiosmtpd) with the threading headers of that message. Then she merges two cases.
Screenshots go to /tmp/case-tools-screens/.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django_tasks_db.models import DBTaskResult

from tests.browser import assert_accessible, browser_session, screenshot_dir
from tests.channels.outbound.conftest import ScriptedHandler, smtp  # noqa: F401
from vorgang.macros.models import Macro, TextModule
from vorgang.tickets import services
from vorgang.tickets.models import Ticket
from vorgang.tickets.tasks import deliver_article

from .conftest import PASSWORD, World, make_ticket

SCREENS_COPY = Path("/tmp/case-tools-screens")
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00"
    b"\x90wS\xde\x00\x00\x00\x0cIDATx\x9cc\xf8\xcf\xc0\x00\x00\x03\x01\x01\x00\xc9\xfe\x92\xef"
    b"\x00\x00\x00\x00IEND\xaeB`\x82"
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def browser(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    yield from browser_session(monkeypatch)


@pytest.fixture
def screens(tmp_path: Path) -> Iterator[Path]:
    yield from screenshot_dir(tmp_path, SCREENS_COPY)


def prepare(world: World) -> Ticket:
    world.department.signature = "Ihr Bürgerbüro\nTelefon 030 1234-0"
    world.department.save()
    TextModule.objects.create(
        tenant=world.tenant,
        name="Termin bestätigen",
        keywords="termin zusage",
        body_de="Guten Tag {{ citizen.name }},\nIhr Termin zu Vorgang {{ case.number }} steht.",
    )
    TextModule.objects.create(tenant=world.tenant, name="Gruß", body_de="Viele Grüße")
    Macro.objects.create(tenant=world.tenant, name="Erledigt", actions={"state": "closed"})
    services.add_article(
        None,
        world.ticket,
        services.ArticleInput(
            body="Wann kann ich kommen?\n\nAm 02.05.2025 um 09:00 schrieb Bürgerbüro:\n"
            "> Bitte nennen Sie uns einen Termin.\n> Danke.",
            kind="email",
            sender="citizen",
            subject=f"Re: [Vorgang#{world.ticket.number}] Termin",
            from_addr="Max Mustermann <max.mustermann@example.org>",
            message_id="<max-termin@example.org>",
            references="<vorgang-1@stadt.example>",
            attachments=[services.AttachmentInput("Foto.png", PNG, "image/png")],
        ),
    )
    services.change_state(None, world.ticket, "open")
    return world.ticket


def deliver_all() -> list[str]:
    results = []
    for row in DBTaskResult.objects.filter(task_path="vorgang.tickets.tasks.deliver_article"):
        results.append(deliver_article.call(*row.args_kwargs["args"]))
        row.delete()
    return results


def sign_in(page: Any, url: str) -> None:
    page.goto(f"{url}/login/")
    page.get_by_label("Benutzername").fill("anna")
    page.get_by_label("Passwort").fill(PASSWORD)
    page.get_by_label("Passwort").press("Enter")
    page.wait_for_url(f"{url}/")


def test_reply_with_text_module_and_attachment_then_merge(
    world: World,
    live_server: Any,
    browser: Any,
    screens: Path,
    smtp: ScriptedHandler,  # noqa: F811
) -> None:
    ticket = prepare(world)
    other = make_ticket(world.department, title="Doppelter Antrag", citizen=ticket.citizen)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="de-DE")
    page = context.new_page()
    page.set_default_timeout(30_000)
    sign_in(page, live_server.url)
    page.goto(f"{live_server.url}/cases/{ticket.pk}/")

    # The quote is folded, the image shown inline, the citizen panel lists the other case.
    quote = page.locator("details.desk-quote").first
    assert not quote.evaluate("d => d.open")
    assert not page.get_by_text("Bitte nennen Sie uns einen Termin.").is_visible()
    quote.locator("summary").click()
    assert page.get_by_text("Bitte nennen Sie uns einen Termin.").is_visible()
    image = page.locator(".desk-attachment__thumb img")
    image.wait_for()
    assert image.evaluate("img => img.complete && img.naturalWidth") == 1
    assert page.locator("#citizen").get_by_text(other.title).is_visible()
    assert_accessible(page, "case with tools")
    page.screenshot(path=str(screens / "01-case.png"), full_page=True)

    # Reply to that message, by keyboard: its Reply button, then "::" in the text.
    citizen_mail = ticket.articles.get(message_id="<max-termin@example.org>")
    page.locator(f"#article-{citizen_mail.pk} a[data-reply-to]").focus()
    page.keyboard.press("Enter")
    text = page.locator("#reply-text")
    assert page.evaluate("document.activeElement.id") == "reply-text"
    assert page.locator("#reply-quote").is_checked()
    page.keyboard.type("::")
    search = page.get_by_role("combobox", name="Textbausteine durchsuchen")
    search.wait_for()
    assert page.evaluate("document.activeElement.getAttribute('role')") == "combobox"
    page.keyboard.type("zusage")
    options = page.get_by_role("listbox", name="Textbausteine").get_by_role("option")
    assert options.count() == 1
    page.locator(".desk-tm").screenshot(path=str(screens / "02-text-module-picker.png"))
    assert_accessible(page, "text module picker")
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "reply-text"
    value = text.input_value()
    assert value == (f"Guten Tag Max Mustermann,\nIhr Termin zu Vorgang {ticket.number} steht."), (
        value
    )
    page.locator("#reply-attachments").set_input_files(
        {"name": "Terminbestätigung.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4 T"}
    )
    page.get_by_role("button", name="Send e-mail").or_(
        page.get_by_role("button", name="E-Mail senden")
    ).focus()
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server.url}/cases/{ticket.pk}/#article-*")
    page.screenshot(path=str(screens / "03-reply-sent.png"), full_page=True)

    # The worker sends it; the SMTP server has it with the right threading headers.
    assert deliver_all() == ["sent"]
    (got,) = smtp.received
    message = got.message
    assert got.rcpt_tos == ["max.mustermann@example.org"]
    assert message["In-Reply-To"] == "<max-termin@example.org>"
    assert message["References"] == "<vorgang-1@stadt.example> <max-termin@example.org>"
    body = message.get_body(preferencelist=("plain",)).get_content().replace("\r\n", "\n")
    assert body.startswith(f"Guten Tag Max Mustermann,\nIhr Termin zu Vorgang {ticket.number}")
    assert "> Wann kann ich kommen?" in body
    assert body.rstrip().endswith("-- \nIhr Bürgerbüro\nTelefon 030 1234-0")
    files = {p.get_filename(): p.get_content() for p in message.iter_attachments()}
    assert files == {"Terminbestätigung.pdf": b"%PDF-1.4 T"}

    # Merge the other case into this one: number, confirmation, done.
    page.goto(f"{live_server.url}/cases/{other.pk}/")
    page.locator("#merge-number").fill(ticket.number)
    page.locator("#merge-number").press("Enter")
    page.get_by_role("heading", level=1).wait_for()
    assert ticket.number in page.get_by_role("heading", level=1).inner_text()
    assert_accessible(page, "merge confirmation")
    page.screenshot(path=str(screens / "04-merge-confirm.png"), full_page=True)
    page.locator("form button[type=submit]").last.click()
    page.wait_for_url(f"{live_server.url}/cases/{ticket.pk}/")
    page.get_by_role("status").first.wait_for()
    other.refresh_from_db()
    assert other.merged_into_id == ticket.pk
    assert page.locator("#timeline").get_by_text("Sehr geehrte Damen und Herren").count() == 2
    assert_accessible(page, "case after merge")
    page.screenshot(path=str(screens / "05-after-merge.png"), full_page=True)

    # 200 % zoom: no sideways scrolling.
    zoomed = browser.new_context(
        viewport={"width": 640, "height": 900},
        device_scale_factor=2,
        locale="de-DE",
        storage_state=context.storage_state(),
    )
    zpage = zoomed.new_page()
    zpage.goto(f"{live_server.url}/cases/{ticket.pk}/")
    zpage.screenshot(path=str(screens / "06-case-zoom200.png"), full_page=True)
    width = zpage.evaluate("document.documentElement.scrollWidth")
    assert width <= 640, f"the case page scrolls sideways at 200 % zoom ({width}px)"
    zoomed.close()
    context.close()
