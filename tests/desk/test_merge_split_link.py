"""Merge (with confirmation), split an article into a new case, link and unlink, hand over,
and the inline preview of attachments: each through the services, each behind the walls."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from vorgang.accounts import services as accounts
from vorgang.tickets import services
from vorgang.tickets.models import Article, History, Link, Ticket

from .conftest import World, make_agent, make_ticket

pytestmark = pytest.mark.django_db


def fresh(ticket: Ticket) -> Ticket:
    return Ticket.objects.select_related("state", "department").get(pk=ticket.pk)


def actions(ticket: Ticket) -> list[str]:
    return list(History.objects.filter(ticket=ticket).values_list("action", flat=True))


# --- merge ------------------------------------------------------------------------------------


def test_merge_asks_first_then_merges(agent_client: Client, world: World) -> None:
    target = make_ticket(world.department, title="Zweiter Antrag")
    url = reverse("desk:merge", args=[world.ticket.pk])
    ask = agent_client.post(url, {"number": target.number})
    assert ask.status_code == 200
    page = ask.content.decode()
    assert target.title in page and 'name="confirm" value="1"' in page
    assert fresh(world.ticket).state.kind != "merged"  # nothing happened yet

    done = agent_client.post(url, {"number": target.number, "confirm": "1"})
    assert done.status_code == 302
    assert done["Location"] == reverse("desk:case", args=[target.pk])
    source = fresh(world.ticket)
    assert source.state.kind == "merged" and source.merged_into_id == target.pk
    assert Article.objects.filter(ticket=target).count() == 2
    assert "merged_from" in actions(target)


@pytest.mark.parametrize("number", ["", "999999", "#"])
def test_merge_with_unknown_number_is_refused(
    agent_client: Client, world: World, number: str
) -> None:
    response = agent_client.post(reverse("desk:merge", args=[world.ticket.pk]), {"number": number})
    assert response.status_code == 422
    assert 'role="alert"' in response.content.decode()


def test_merge_into_itself_is_refused(agent_client: Client, world: World) -> None:
    response = agent_client.post(
        reverse("desk:merge", args=[world.ticket.pk]),
        {"number": world.ticket.number, "confirm": "1"},
    )
    assert response.status_code == 422
    assert fresh(world.ticket).state.kind != "merged"


def test_merge_into_a_case_behind_the_wall_looks_unknown(
    agent_client: Client, world: World
) -> None:
    response = agent_client.post(
        reverse("desk:merge", args=[world.ticket.pk]),
        {"number": world.other_ticket.number, "confirm": "1"},
    )
    assert response.status_code == 422
    assert world.other_ticket.title not in response.content.decode()
    assert fresh(world.other_ticket).state.kind != "merged"


def test_merge_needs_change_on_both(client: Client, world: World) -> None:
    agent = make_agent("mia", world.department, "full")
    accounts.grant_access(world.other_department, "mia", "read")
    client.force_login(agent)
    response = client.post(
        reverse("desk:merge", args=[world.ticket.pk]),
        {"number": world.other_ticket.number, "confirm": "1"},
    )
    assert response.status_code == 403
    assert fresh(world.ticket).state.kind != "merged"


def test_reader_cannot_merge(reader_client: Client, world: World) -> None:
    target = make_ticket(world.department, title="Zweiter Antrag")
    response = reader_client.post(
        reverse("desk:merge", args=[world.ticket.pk]), {"number": target.number, "confirm": "1"}
    )
    assert response.status_code == 403


# --- split ------------------------------------------------------------------------------------


def test_split_copies_the_article_into_a_linked_new_case(
    agent_client: Client, world: World
) -> None:
    article = services.add_article(
        None,
        world.ticket,
        services.ArticleInput(
            body="Außerdem: mein Hund muss angemeldet werden.",
            kind="email",
            sender="citizen",
            subject="Hundesteuer",
            message_id="<hund@example.org>",
            attachments=[services.AttachmentInput("Hund.pdf", b"%PDF-1.4 Hund", "application/pdf")],
        ),
    )
    url = reverse("desk:split", args=[world.ticket.pk, article.pk])
    form = agent_client.get(url)
    assert form.status_code == 200 and 'value="Hundesteuer"' in form.content.decode()
    response = agent_client.post(url, {"title": "Hundesteuer Anmeldung"})
    assert response.status_code == 302
    new = Ticket.objects.get(title="Hundesteuer Anmeldung")
    assert response["Location"] == reverse("desk:case", args=[new.pk])
    assert new.department_id == world.department.pk
    assert new.citizen_id == world.ticket.citizen_id
    (copy,) = new.articles.all()
    assert copy.body == article.body and copy.sender == "citizen"
    assert copy.message_id == ""  # replies keep threading into the original case
    assert world.ticket.number in copy.notice
    assert [a.blob_id for a in copy.attachments.all()] == [
        a.blob_id for a in article.attachments.all()
    ]
    # The original keeps its message; both cases are linked and say what happened.
    assert Article.objects.filter(pk=article.pk, ticket=world.ticket).exists()
    assert Link.objects.filter(source=world.ticket, target=new).exists()
    assert "split_to" in actions(world.ticket)
    assert "split_from" in actions(new)


def test_split_of_an_agent_email_is_not_sent_again(agent_client: Client, world: World) -> None:
    from vorgang.channels.email import outbound

    sent = outbound.reply(world.agent, world.ticket, body="Bitte Unterlagen senden.")
    new = services.split_article(world.agent, world.ticket, sent, "Unterlagen")
    assert new.articles.get().delivery_status == ""


def test_split_needs_a_title(agent_client: Client, world: World) -> None:
    article = world.ticket.articles.first()
    assert article is not None
    response = agent_client.post(
        reverse("desk:split", args=[world.ticket.pk, article.pk]), {"title": "   "}
    )
    assert response.status_code == 422
    assert Ticket.objects.count() == 2


def test_split_needs_change_and_create(client: Client, world: World) -> None:
    changer = make_agent("cleo", world.department, "read", "change")
    client.force_login(changer)
    article = world.ticket.articles.first()
    assert article is not None
    url = reverse("desk:split", args=[world.ticket.pk, article.pk])
    assert client.get(url).status_code == 403
    assert client.post(url, {"title": "Neu"}).status_code == 403
    assert Ticket.objects.count() == 2


def test_split_with_an_article_of_another_case_is_not_found(
    agent_client: Client, world: World
) -> None:
    foreign = world.other_ticket.articles.get()
    url = reverse("desk:split", args=[world.ticket.pk, foreign.pk])
    assert agent_client.post(url, {"title": "x"}).status_code == 404
    mine = make_ticket(world.department, title="Noch einer")
    url = reverse("desk:split", args=[world.ticket.pk, mine.articles.get().pk])
    assert agent_client.post(url, {"title": "x"}).status_code == 404


# --- links ------------------------------------------------------------------------------------


def test_link_as_parent_and_unlink(agent_client: Client, world: World) -> None:
    child = make_ticket(world.department, title="Teilantrag")
    add = agent_client.post(
        reverse("desk:add_link", args=[world.ticket.pk]), {"number": child.number, "kind": "parent"}
    )
    assert add.status_code == 302
    link = Link.objects.get(source=world.ticket, target=child)
    assert link.kind == "parent"
    page = agent_client.get(reverse("desk:case", args=[child.pk])).content.decode()
    assert world.ticket.number in page.split('id="case-links"', 1)[1]

    remove = agent_client.post(
        reverse("desk:remove_link", args=[world.ticket.pk]), {"other": child.pk}
    )
    assert remove.status_code == 302
    assert not Link.objects.exists()
    assert "link_removed" in actions(child)


def test_link_refuses_bad_kind_unknown_case_and_duplicates(
    agent_client: Client, world: World
) -> None:
    other = make_ticket(world.department, title="Anderer")
    url = reverse("desk:add_link", args=[world.ticket.pk])
    assert agent_client.post(url, {"number": other.number, "kind": "cousin"}).status_code == 422
    assert agent_client.post(url, {"number": world.other_ticket.number}).status_code == 422
    assert agent_client.post(url, {"number": other.number, "kind": "normal"}).status_code == 302
    assert agent_client.post(url, {"number": other.number, "kind": "child"}).status_code == 422
    assert Link.objects.count() == 1


def test_reader_cannot_link(reader_client: Client, world: World) -> None:
    other = make_ticket(world.department, title="Anderer")
    response = reader_client.post(
        reverse("desk:add_link", args=[world.ticket.pk]), {"number": other.number}
    )
    assert response.status_code == 403
    assert not Link.objects.exists()


# --- department -------------------------------------------------------------------------------


def test_hand_over_to_another_department(client: Client, world: World) -> None:
    agent = make_agent("hans", world.department, "full")
    accounts.grant_access(world.other_department, "hans", "create")
    client.force_login(agent)
    page = client.get(reverse("desk:case", args=[world.ticket.pk])).content.decode()
    assert f'<option value="{world.other_department.pk}">Ordnungsamt</option>' in page
    response = client.post(
        reverse("desk:move", args=[world.ticket.pk]), {"department": world.other_department.pk}
    )
    assert response.status_code == 302
    # Hans may not read cases there, so he goes back to the overview.
    assert response["Location"] == reverse("desk:overview")
    assert fresh(world.ticket).department_id == world.other_department.pk


def test_hand_over_without_access_there_is_refused(agent_client: Client, world: World) -> None:
    response = agent_client.post(
        reverse("desk:move", args=[world.ticket.pk]), {"department": world.other_department.pk}
    )
    assert response.status_code == 403
    assert fresh(world.ticket).department_id == world.department.pk
    assert (
        agent_client.post(
            reverse("desk:move", args=[world.ticket.pk]), {"department": "x"}
        ).status_code
        == 422
    )


# --- inline previews --------------------------------------------------------------------------


@pytest.fixture
def files(world: World) -> dict[str, int]:
    article = services.add_article(
        None,
        world.ticket,
        services.ArticleInput(
            body="Anbei",
            kind="email",
            sender="citizen",
            attachments=[
                services.AttachmentInput("foto.png", b"\x89PNG\r\n\x1a\n0000", "image/png"),
                services.AttachmentInput("brief.pdf", b"%PDF-1.4 brief", "application/pdf"),
                services.AttachmentInput("fake.png", b"<script>alert(1)</script>", "image/png"),
                services.AttachmentInput("bild.svg", b"<svg/>", "image/svg+xml"),
            ],
        ),
    )
    return {a.filename: a.pk for a in article.attachments.all()}


def test_images_and_pdfs_are_shown_inline(
    agent_client: Client, world: World, files: dict[str, int]
) -> None:
    page = agent_client.get(reverse("desk:case", args=[world.ticket.pk])).content.decode()
    assert f'<img src="/attachments/{files["foto.png"]}/preview/"' in page
    assert f'src="/attachments/{files["brief.pdf"]}/preview/"' in page
    assert f'src="/attachments/{files["bild.svg"]}/preview/"' not in page

    image = agent_client.get(reverse("desk:preview", args=[files["foto.png"]]))
    assert image.status_code == 200
    assert image["Content-Type"] == "image/png"
    assert image["Content-Disposition"].startswith("inline")
    assert image["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in image["Content-Security-Policy"]
    pdf = agent_client.get(reverse("desk:preview", args=[files["brief.pdf"]]))
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert "frame-ancestors 'self'" in pdf["Content-Security-Policy"]
    assert pdf["X-Frame-Options"] == "SAMEORIGIN"
    assert b"".join(pdf.streaming_content) == b"%PDF-1.4 brief"


def test_files_that_are_not_what_they_claim_are_not_previewed(
    agent_client: Client, files: dict[str, int]
) -> None:
    assert agent_client.get(reverse("desk:preview", args=[files["fake.png"]])).status_code == 404
    assert agent_client.get(reverse("desk:preview", args=[files["bild.svg"]])).status_code == 404


def test_preview_behind_the_wall_is_not_found(
    client: Client, world: World, files: dict[str, int]
) -> None:
    outsider = make_agent("otto", world.other_department, "full")
    client.force_login(outsider)
    assert client.get(reverse("desk:preview", args=[files["foto.png"]])).status_code == 404
    client.logout()
    assert client.get(reverse("desk:preview", args=[files["foto.png"]])).status_code == 302
