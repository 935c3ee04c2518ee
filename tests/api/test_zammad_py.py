"""The real ``zammad_py`` client (from PyPI) against a live Vorgang server.

Issue 5 asks that existing Zammad integrations work unchanged; this drives the
client the way such an integration does: over HTTP, with its own session, its own
pagination (``next_page()`` until an empty page) and its own URL building. Nothing is
mocked: ``live_server`` is a real HTTP server on loopback over the test database.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator

import pytest
from requests.exceptions import HTTPError
from zammad_py import ZammadAPI

from tests.factories import PASSWORD, AdminFactory, AgentFactory, DepartmentFactory
from vorgang.accounts.models import ApiToken, Role, User
from vorgang.tickets.models import Ticket

pytestmark = pytest.mark.django_db(transaction=True)

SCAN = b"%PDF-1.4\n% Vorgang test scan\n" + bytes(range(256)) * 8 + b"\n%%EOF\n"


@pytest.fixture(autouse=True)
def _index_at_once(settings) -> None:
    """Index in the subscriber after each commit, on PostgreSQL too (there a task would
    do it, and no worker runs here), so a case is searchable when the request returns."""
    settings.VORGANG_SEARCH_SYNC = True


@pytest.fixture
def department(tenant):
    return DepartmentFactory(tenant=tenant, name="Führerscheinstelle")


@pytest.fixture
def admin(department):
    return AdminFactory(username="integration-admin", departments={department: ["full"]})


@pytest.fixture
def make_client(live_server) -> Iterator[Callable[..., ZammadAPI]]:
    """Clients of the live server, their HTTP sessions closed after the test: a kept-alive
    connection holds a server thread, and with it a database connection, open past the
    test database's teardown (zammad_py closes its session only at exit)."""
    made: list[ZammadAPI] = []

    def make(**credentials: str) -> ZammadAPI:
        made.append(ZammadAPI(url=f"{live_server.url}/api/v1/", **credentials))
        return made[-1]

    yield make
    for client in made:
        client.session.close()


@pytest.fixture
def client(make_client, admin) -> ZammadAPI:
    """The client as an integration configures it: base URL and an API token."""
    return make_client(http_token=ApiToken.issue(admin))


def test_a_whole_case_through_zammad_py(client: ZammadAPI, department, admin) -> None:
    me = client.user.me()
    assert me["id"] == admin.pk and me["login"] == "integration-admin"

    # A citizen (Zammad: customer).
    citizen = client.user.create(
        {
            "firstname": "Lena",
            "lastname": "Schulz",
            "email": "lena.schulz@example.org",
            "roles": ["Customer"],
        }
    )
    assert isinstance(citizen["id"], int)
    assert User.objects.get(pk=citizen["id"]).role == Role.CITIZEN

    # A case with a first article carrying a base64 attachment.
    ticket = client.ticket.create(
        {
            "title": "Antrag auf Ersatzführerschein",
            "group": "Führerscheinstelle",
            "customer_id": citizen["id"],
            "state": "new",
            "priority": "2 normal",
            "article": {
                "subject": "Antrag",
                "body": "Mein Führerschein ist verloren gegangen.",
                "type": "note",
                "internal": False,
                "attachments": [
                    {
                        "filename": "verlustanzeige.pdf",
                        "data": base64.b64encode(SCAN).decode(),
                        "mime-type": "application/pdf",
                    }
                ],
            },
        }
    )
    assert isinstance(ticket["id"], int) and isinstance(ticket["number"], str)
    assert ticket["customer_id"] == citizen["id"]
    assert ticket["group_id"] == department.pk
    case = Ticket.objects.get(pk=ticket["id"])
    assert case.title == "Antrag auf Ersatzführerschein"

    found = client.ticket.find(ticket["id"])
    assert found["number"] == ticket["number"] and found["article_count"] == 1

    # Search: by number and by a free word (zammad_py asks with expand=true: a list).
    by_number = client.ticket.search(f"number:{ticket['number']}")
    assert [t["id"] for t in by_number] == [ticket["id"]]
    assert by_number[0]["group"] == "Führerscheinstelle"
    by_word = client.ticket.search("Ersatzführerschein")
    assert ticket["id"] in [t["id"] for t in by_word]

    # A note through /ticket_articles.
    note = client.ticket_article.create(
        {
            "ticket_id": ticket["id"],
            "body": "Verlustanzeige liegt vor, Ersatz kann bestellt werden.",
            "type": "note",
            "internal": True,
        }
    )
    assert note["internal"] is True and note["type"] == "note"
    articles = client.ticket.articles(ticket["id"])
    assert [a["id"] for a in articles][-1] == note["id"]
    assert len(articles) == 2

    # Tags.
    client.ticket_tag.add(ticket["id"], "ersatz")
    client.ticket_tag.add(ticket["id"], "eilig")
    assert sorted(client.ticket.tags(ticket["id"])["tags"]) == ["eilig", "ersatz"]
    client.ticket_tag.remove(ticket["id"], "eilig")
    assert client.ticket.tags(ticket["id"])["tags"] == ["ersatz"]

    # State change (by name, as integrations write it).
    changed = client.ticket.update(ticket["id"], {"state": "open"})
    assert client.ticket_state.find(changed["state_id"])["name"] == "open"
    case.refresh_from_db()
    assert case.state.name == "open"
    assert client.ticket.find(ticket["id"])["state_id"] == case.state_id

    # The attachment, byte for byte, through the client's own download call.
    first = articles[0]
    assert [a["filename"] for a in first["attachments"]] == ["verlustanzeige.pdf"]
    attachment = first["attachments"][0]
    assert attachment["size"] == str(len(SCAN))
    downloaded = client.ticket_article_attachment.download(
        attachment["id"], first["id"], ticket["id"]
    )
    assert downloaded == SCAN

    # A link to a second case, the way zammad_py adds one (target by id, source by number).
    other = client.ticket.create(
        {"title": "Zweitantrag", "group": "Führerscheinstelle", "customer_id": citizen["id"]}
    )
    client.link.add(ticket["id"], other["number"], link_type="normal")
    links = client.link.get(ticket["id"])
    assert [link["link_object_value"] for link in links["links"]] == [other["id"]]

    # Reference lists the client reads to build its forms.
    assert "open" in [s["name"] for s in client.ticket_state.all()]
    assert "2 normal" in [p["name"] for p in client.ticket_priority.all()]
    assert [g["name"] for g in client.group.all()] == ["Führerscheinstelle"]


def test_paging_through_lists_until_the_empty_page(client: ZammadAPI, department) -> None:
    """zammad_py's next_page() walks pages until Zammad answers []; nothing is lost."""
    created = [
        client.ticket.create(
            {
                "title": f"Antrag {n}",
                "group_id": department.pk,
                "customer_id": f"guess:person{n}@example.org",
                "article": {"body": f"Antrag Nummer {n}", "type": "note"},
            }
        )["id"]
        for n in range(7)
    ]
    seen: list[int] = []
    pages = 0
    page = client.ticket.all(filters={"per_page": 3})
    while len(page):
        pages += 1
        seen.extend(t["id"] for t in page)
        assert all("group" in t for t in page)  # the client asks with expand=true
        page = page.next_page()
    assert pages == 3  # 3 + 3 + 1, then []
    assert seen == created

    # The same for search results and users.
    found: list[int] = []
    page = client.ticket.search("Antrag", filters={"per_page": 2})
    while len(page):
        found.extend(t["id"] for t in page)
        page = page.next_page()
    assert sorted(found) == sorted(created)

    users: list[int] = []
    page = client.user.all(filters={"per_page": 4})
    while len(page):
        users.extend(u["id"] for u in page)
        page = page.next_page()
    assert len(users) == len(set(users)) == User.objects.count()


def test_basic_auth_and_errors_as_the_client_sees_them(make_client, department) -> None:
    AgentFactory(username="sachbearbeiter", departments={department: ["full"]})
    client = make_client(username="sachbearbeiter", password=PASSWORD)
    assert client.user.me()["login"] == "sachbearbeiter"

    with pytest.raises(HTTPError) as missing:
        client.ticket.find(999_999)
    assert '"error"' in str(missing.value)  # zammad_py puts the JSON body in the error

    wrong = make_client(username="sachbearbeiter", password="x")
    with pytest.raises(HTTPError) as denied:
        wrong.user.me()
    assert "authentication failed" in str(denied.value)
