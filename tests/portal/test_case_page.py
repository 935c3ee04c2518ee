"""What the case page shows: state in plain words, time, timeline without internal notes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client

from vorgang.accounts import services as accounts
from vorgang.core import clock
from vorgang.portal.models import InformationRequest
from vorgang.tickets import services

from .conftest import PDF, World, make_case

pytestmark = pytest.mark.django_db


def _page(client: Client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200
    return response.content.decode()


def test_state_wording(client: Client, world: World) -> None:
    path = world.link()
    assert "Eingegangen" in _page(client, path)
    services.change_state(None, world.ticket, "open")
    assert "In Bearbeitung" in _page(client, path)
    # Waiting without a request for information: still "in progress" for the citizen.
    services.change_state(
        None, world.ticket, "pending_reminder", pending_until=clock.now() + timedelta(days=3)
    )
    page = _page(client, path)
    assert "In Bearbeitung" in page and "Wartet auf Ihre Antwort" not in page
    InformationRequest.objects.create(
        ticket=world.ticket,
        documents=["eye_test"],
        questions="Tragen Sie eine Brille?",
        deadline=clock.now() + timedelta(days=14),
        created_at=clock.now(),
    )
    page = _page(client, path)
    assert "Wartet auf Ihre Antwort" in page
    assert "Tragen Sie eine Brille?" in page
    assert "Sehtest" in page and "fehlt noch" in page
    services.change_state(None, world.ticket, "closed")
    assert "Erledigt" in _page(client, path)


def test_english_after_the_language_switch(client: Client, world: World) -> None:
    path = world.link()
    response = client.post("/c/language/", {"language": "en", "next": path})
    assert response.status_code == 302 and response["Location"] == path
    page = _page(client, path)
    assert 'lang="en"' in page
    assert "Received" in page and "Your case" in page
    assert "Driving licence application" in page
    # The switch never sends anyone elsewhere.
    response = client.post("/c/language/", {"language": "de", "next": "https://evil.example/"})
    assert response["Location"] == "/c/new/"
    assert 'lang="de"' in _page(client, path)


def test_facts_and_expected_processing_time(client: Client, world: World) -> None:
    page = _page(client, world.link())
    assert world.ticket.number in page
    assert "Führerscheinantrag" in page
    assert "Führerscheinstelle" in page
    assert "Voraussichtliche Bearbeitungszeit" in page and "etwa 21 Tage" in page


def test_no_processing_time_without_a_service(client: Client, world: World) -> None:
    ticket = make_case(world.department, world.citizen, title="Frage zur Müllabfuhr")
    page = _page(client, world.link(ticket))
    assert "Bearbeitungszeit" not in page


def test_timeline_hides_internal_notes_and_names_senders_plainly(
    client: Client, world: World
) -> None:
    services.add_article(
        world.agent,
        world.ticket,
        services.ArticleInput(body="GEHEIM: Antragsteller wirkt unzuverlässig", internal=True),
    )
    services.add_article(
        world.agent,
        world.ticket,
        services.ArticleInput(
            body="Wir prüfen Ihren Antrag.",
            kind="email",
            subject="Ihr Antrag",
            attachments=[services.AttachmentInput("hinweis.pdf", PDF, "application/pdf")],
        ),
    )
    page = _page(client, world.link())
    assert "GEHEIM" not in page
    assert "Wir prüfen Ihren Antrag." in page
    assert "Von: Führerscheinstelle" in page
    assert "Ihre Nachricht" in page  # the citizen's own first message
    assert "Hiermit beantrage ich einen Führerschein" in page
    assert "hinweis.pdf" in page
    assert "anna" not in page.lower()  # no agent names or logins


def test_html_and_script_in_bodies_and_filenames_are_shown_as_text(
    client: Client, world: World
) -> None:
    services.add_article(
        None,
        world.ticket,
        services.ArticleInput(
            body='<p>Hallo</p><script>alert("x")</script><img src=x onerror=alert(1)>',
            content_type="text/html",
            kind="email",
            sender="citizen",
            subject="<b>Betreff</b>",
            attachments=[
                services.AttachmentInput('<img src=x onerror="alert(2)">.pdf', PDF, "text/html")
            ],
        ),
    )
    services.add_article(
        None,
        world.ticket,
        services.ArticleInput(body="<script>alert(3)</script> im Klartext", kind="web"),
    )
    page = _page(client, world.link())
    assert "<script>alert" not in page
    assert "onerror=alert(1)" not in page
    assert 'onerror="alert(2)"' not in page
    assert "&lt;img src=x onerror=&quot;alert(2)&quot;&gt;.pdf" in page
    assert "&lt;script&gt;alert(3)&lt;/script&gt; im Klartext" in page
    assert "&lt;b&gt;Betreff&lt;/b&gt;" in page
    assert "Hallo" in page


def test_html_attachment_is_never_rendered_inline(client: Client, world: World) -> None:
    article = services.add_article(
        None,
        world.ticket,
        services.ArticleInput(
            body="siehe Anhang",
            kind="email",
            sender="citizen",
            attachments=[services.AttachmentInput("x.html", b"<script>1</script>", "text/html")],
        ),
    )
    pk = article.attachments.get().pk
    response = Client().get(f"{world.link()}files/{pk}/")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    assert "sandbox" in response["Content-Security-Policy"]
    assert response["X-Content-Type-Options"] == "nosniff"


def test_case_of_another_citizen_merged_in_is_not_shown(client: Client, world: World) -> None:
    stranger = accounts.find_or_create_citizen(world.tenant, "fremd@example.org")
    target = make_case(world.department, stranger, title="Fremder Antrag", body="Privat")
    path = world.link()
    services.merge(None, world.ticket, target)
    page = _page(client, path)
    assert "Fremder Antrag" not in page and "Privat" not in page
    assert "Erledigt" in page


def test_legal_pages_show_the_tenants_texts(client: Client, world: World) -> None:
    world.tenant.imprint = "Stadt Musterstadt\nRathausplatz 1\n<script>x</script>"
    world.tenant.accessibility_statement = "Diese Seiten sind weitgehend barrierefrei."
    world.tenant.feedback_contact = "barrierefrei@musterstadt.de"
    world.tenant.save()
    page = _page(client, f"/c/legal/imprint/?tenant={world.tenant.slug}")
    assert "Impressum" in page and "Rathausplatz 1" in page
    assert "<script>x" not in page
    page = _page(client, "/c/legal/accessibility/")
    assert "weitgehend barrierefrei" in page
    assert 'href="mailto:barrierefrei@musterstadt.de"' in page
    page = _page(client, "/c/legal/privacy/")
    assert "noch nicht hinterlegt" in page
    assert client.get("/c/legal/unknown/").status_code == 404


def test_case_page_links_to_the_legal_pages(client: Client, world: World) -> None:
    page = _page(client, world.link())
    for kind in ("imprint", "privacy", "accessibility"):
        assert f"/c/legal/{kind}/" in page
    assert world.tenant.name in page


def test_tenant_logo_is_shown_and_served(client: Client, world: World) -> None:
    from django.core.files.base import ContentFile

    world.tenant.logo.save("wappen.png", ContentFile(PNG_LOGO), save=True)
    page = _page(client, world.link())
    assert f'src="/c/logo/{world.tenant.slug}/"' in page
    response = client.get(f"/c/logo/{world.tenant.slug}/")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert b"".join(response.streaming_content) == PNG_LOGO
    assert client.get("/c/logo/unbekannt/").status_code == 404


PNG_LOGO = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16


def test_timeline_does_not_repeat_the_links_of_our_mails(client: Client, world: World) -> None:
    """A screenshot of the page, or someone looking over a shoulder, gets no working link."""
    from vorgang.portal import links

    mailed = links.issue_link(world.ticket)
    services.add_article(
        None,
        world.ticket,
        services.ArticleInput(
            body=f"Ihre Vorgangsseite:\n\n{mailed}\n\nBitte geben Sie den Link nicht weiter.",
            kind="email",
            sender="system",
            to="max.mustermann@example.org",
        ),
    )
    page = _page(client, world.link())
    token = mailed.rstrip("/").rpartition("/")[2]
    assert token not in page
    assert "Ihre Vorgangsseite:" in page and "Bitte geben Sie den Link nicht weiter." in page
    assert client.get(f"/c/{token}/").status_code == 200  # the link itself still works
