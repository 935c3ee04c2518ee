"""The case view and attachment downloads: what is shown, and to whom."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from vorgang.accounts import services as accounts
from vorgang.accounts.models import Department, Tenant
from vorgang.tickets import services
from vorgang.tickets.models import Ticket

from .conftest import World, make_agent, make_ticket

pytestmark = pytest.mark.django_db


def case_url(pk: int) -> str:
    return reverse("desk:case", args=[pk])


def test_case_view_shows_the_case(agent_client: Client, world: World) -> None:
    services.tag(None, world.ticket, "Parken")
    services.link(None, world.ticket, world.other_ticket)
    response = agent_client.get(case_url(world.ticket.pk))
    html = response.content.decode()
    assert response.status_code == 200
    assert f"<title>Vorgang {world.ticket.number}: {world.ticket.title} – Vorgang</title>" in html
    assert world.ticket.title in html
    assert "Max Mustermann" in html
    assert "max.mustermann@example.org" in html
    assert "Bürgerbüro" in html
    assert "Parken" in html
    # Data as a key/value table.
    assert '<th scope="row" class="kern-table__header">Kennzeichen</th>' in html
    assert "B-XY 123" in html
    # The timeline: sender, kind, subject, addresses; text escaped with line breaks.
    assert "Mein Antrag" in html
    assert "Bürger:in" in html and "E-Mail" in html
    assert "Sehr geehrte Damen und Herren,<br>anbei mein Antrag." in html
    assert "&lt;b&gt;Gruß&lt;/b&gt;" in html
    # History in a details element.
    assert "<details" in html and "Vorgang angelegt" in html
    # A linked case the agent may not see is left out.
    assert world.other_ticket.title not in html


def test_linked_case_the_agent_may_see_is_listed(agent_client: Client, world: World) -> None:
    sibling = make_ticket(world.department, title="Zweiter Antrag")
    services.link(None, world.ticket, sibling)
    html = agent_client.get(case_url(world.ticket.pk)).content.decode()
    assert "Zweiter Antrag" in html
    assert case_url(sibling.pk) in html


def test_html_article_is_never_rendered_as_html(agent_client: Client, world: World) -> None:
    services.add_article(
        None,
        world.ticket,
        services.ArticleInput(
            body='<p>Hallo <b>Amt</b></p><script>alert("x")</script><img src="https://t.example/p.gif">',
            content_type="text/html",
            kind="email",
            sender="citizen",
        ),
    )
    html = agent_client.get(case_url(world.ticket.pk)).content.decode()
    assert "<script>alert" not in html
    assert '<img src="https://t.example' not in html
    assert "Hallo Amt" in html  # readable text
    # The original only inside a sandboxed iframe, whose srcdoc is escaped.
    assert 'sandbox=""' in html
    assert 'srcdoc="&lt;meta charset=&quot;utf-8&quot;&gt;' in html
    assert "default-src &#x27;none&#x27;" in html


def test_internal_notes_are_marked(agent_client: Client, world: World) -> None:
    services.add_article(
        world.agent, world.ticket, services.ArticleInput(body="Nur intern", internal=True)
    )
    html = agent_client.get(case_url(world.ticket.pk)).content.decode()
    assert "Nur intern" in html
    assert "kern-badge" in html and ">intern<" in html
    assert "Anna Agentin" in html


@pytest.mark.parametrize("where", ["other_department", "other_tenant", "unknown"])
def test_case_view_is_404_across_the_wall(agent_client: Client, world: World, where: str) -> None:
    if where == "other_department":
        pk = world.other_ticket.pk
    elif where == "other_tenant":
        tenant = Tenant.objects.create(name="Nachbargemeinde", slug="nachbar")
        department = accounts.create_department(
            "Bürgerbüro", address="bb@nachbar.example", tenant=tenant
        )
        pk = make_ticket(department).pk
    else:
        pk = 999_999
    response = agent_client.get(case_url(pk))
    assert response.status_code == 404
    html = response.content.decode()
    assert "Seite nicht gefunden" in html
    assert '<html lang="de">' in html


def test_404_page_in_english(agent_client: Client, world: World) -> None:
    agent_client.post(reverse("desk:language"), {"language": "en"})
    response = agent_client.get(case_url(999_999))
    assert response.status_code == 404
    assert "Page not found" in response.content.decode()


def test_unknown_url_gets_the_templated_404(client: Client) -> None:
    response = client.get("/gibt-es-nicht/")
    assert response.status_code == 404
    assert "Seite nicht gefunden" in response.content.decode()


def test_reader_sees_the_case_without_forms(reader_client: Client, world: World) -> None:
    html = reader_client.get(case_url(world.ticket.pk)).content.decode()
    assert world.ticket.title in html
    assert reverse("desk:add_note", args=[world.ticket.pk]) not in html
    assert reverse("desk:change_state", args=[world.ticket.pk]) not in html
    assert "Sie dürfen diesen Vorgang lesen, aber nicht ändern" in html


def test_agent_with_change_sees_the_forms_with_labels(agent_client: Client, world: World) -> None:
    html = agent_client.get(case_url(world.ticket.pk)).content.decode()
    for field_id in ("note-body", "state", "pending_until", "owner", "priority", "new-tag"):
        assert f'for="{field_id}"' in html
        assert f'id="{field_id}"' in html
    state_select = html[html.index('id="state"') :].split("</select>", 1)[0]
    assert "zusammengeführt" not in state_select  # merged is not offered as a state
    assert "warten auf Erinnerung" in html


# --- attachments -------------------------------------------------------------------------


def _ticket_with_attachment(world: World, department: Department | None = None) -> Ticket:
    return make_ticket(
        department or world.department,
        title="Mit Anhang",
        article=services.ArticleInput(
            body="Siehe Anhang",
            kind="email",
            sender="citizen",
            attachments=[
                services.AttachmentInput(
                    filename="Ausweis <1>.pdf",
                    content=b"%PDF-1.4 test",
                    content_type="application/pdf",
                )
            ],
        ),
    )


def test_attachment_download(agent_client: Client, world: World) -> None:
    ticket = _ticket_with_attachment(world)
    attachment = ticket.articles.get().attachments.get()
    html = agent_client.get(case_url(ticket.pk)).content.decode()
    url = reverse("desk:attachment", args=[attachment.pk])
    assert url in html
    assert "Ausweis &lt;1&gt;.pdf" in html

    response = agent_client.get(url)
    assert response.status_code == 200
    assert response.getvalue() == b"%PDF-1.4 test"
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Type"] == "application/pdf"


def test_attachment_of_another_department_is_404(client: Client, world: World) -> None:
    ticket = _ticket_with_attachment(world, world.other_department)
    attachment = ticket.articles.get().attachments.get()
    client.force_login(world.agent)
    response = client.get(reverse("desk:attachment", args=[attachment.pk]))
    assert response.status_code == 404
    # The other department's agent may download it.
    other_agent = make_agent("otto", world.other_department, "read")
    client.force_login(other_agent)
    assert client.get(reverse("desk:attachment", args=[attachment.pk])).status_code == 200


def test_attachment_unknown_id_is_404(agent_client: Client) -> None:
    assert agent_client.get(reverse("desk:attachment", args=[424242])).status_code == 404


def test_form_data_rows_are_readable() -> None:
    from vorgang.desk.views.cases import data_rows

    rows = data_rows(
        {
            "sehtest_vorhanden": True,
            "klassen": ["A", "B"],
            "anschrift": {"strasse": "Hauptstraße 1", "plz": "12345"},
            "kinder": [{"name": "Mia"}],
            "bemerkung": None,
        }
    )
    assert rows == [
        ("Sehtest vorhanden", "ja"),
        ("Klassen", "A, B"),
        ("Anschrift › Strasse", "Hauptstraße 1"),
        ("Anschrift › Plz", "12345"),
        ("Kinder › 1 › Name", "Mia"),
        ("Bemerkung", "—"),
    ]
