"""Images a mail refers to by cid: are shown inside the sandboxed frame as data: URLs."""

from __future__ import annotations

import base64

import pytest
from django.test import Client

from tests.factories import PASSWORD, AgentFactory, TicketFactory
from vorgang.tickets import services

pytestmark = pytest.mark.django_db

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


def test_cid_image_is_inlined_and_remote_content_is_not(client: Client) -> None:
    ticket = TicketFactory()
    agent = AgentFactory(departments={ticket.department: ["full"]})
    services.add_article(
        None,
        ticket,
        services.ArticleInput(
            body='<p>Foto:</p><img src="cid:foto1@x"><img src="cid:unknown@x">',
            content_type="text/html",
            kind="email",
            attachments=[
                services.AttachmentInput("foto.png", PNG, "image/png", "foto1@x"),
                services.AttachmentInput("evil.svg", b"<svg/>", 'image/svg+xml" onload="x', "e@x"),
            ],
        ),
    )
    client.login(username=agent.username, password=PASSWORD)
    page = client.get(f"/cases/{ticket.pk}/").content.decode()
    encoded = base64.b64encode(PNG).decode()
    assert f"data:image/png;base64,{encoded}" in page
    assert "cid:unknown@x" in page  # unknown references stay as they are (nothing loads)
    # Only plain raster types travel inline; an odd type is never written into the frame.
    assert "data:image/svg" not in page
