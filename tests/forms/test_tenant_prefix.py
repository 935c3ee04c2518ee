"""Several tenants on one instance: own host name or the path prefix /t/<slug>/.

Each tenant's forms and case pages appear with its own name under its own address;
another tenant's address never reaches them, and links in mails carry the prefix.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core import mail
from django.test import Client

from vorgang.accounts.models import Tenant
from vorgang.catalogue.models import OnlineService
from vorgang.portal import links
from vorgang.tickets.models import Ticket

from ..factories import DepartmentFactory, TenantFactory
from .conftest import make_service, pdf_upload, valid_post

pytestmark = pytest.mark.django_db

SHARED = "vorgang.stadt.example"  # the host of BASE_URL (see conftest)
B_HOST = "formulare.beispieldorf.example"


@pytest.fixture
def tenants(service: OnlineService) -> dict[str, Any]:
    """The default tenant (service "testantrag"), A on a prefix, B on its own host name;
    A and B each offer a service with the same slug "umzug"."""
    a = TenantFactory(name="Stadt Musterstadt", slug="musterstadt", imprint="Rathaus Musterstadt")
    b = TenantFactory(name="Gemeinde Beispieldorf", slug="beispieldorf", host=B_HOST)
    services = {}
    for tenant, label in ((a, "A"), (b, "B")):
        department = DepartmentFactory(tenant=tenant, email_address=f"umzug@{tenant.slug}.example")
        services[label] = make_service(
            tenant, department, slug="umzug", name_de=f"Umzug {label}", name_en=f"Move {label}"
        )
    return {"default": Tenant.default(), "A": a, "B": b, "services": services}


def get(path: str, host: str = SHARED, client: Client | None = None) -> Any:
    return (client or Client()).get(path, HTTP_HOST=host)


def test_each_tenant_has_its_address(tenants: dict[str, Any]) -> None:
    a, b = tenants["A"], tenants["B"]
    assert tenants["default"].citizen_prefix() == ""
    assert a.citizen_prefix() == "/t/musterstadt"
    assert a.citizen_base_url() == "https://vorgang.stadt.example/t/musterstadt"
    assert b.citizen_prefix() == ""  # its own host name instead
    assert b.citizen_base_url() == f"https://{B_HOST}"


def test_a_service_only_under_its_own_prefix(tenants: dict[str, Any]) -> None:
    page = get("/t/musterstadt/s/umzug/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Umzug A" in html and "Stadt Musterstadt" in html
    assert 'action="/t/musterstadt/s/umzug/"' in html  # the form posts back under the prefix
    assert 'action="/t/musterstadt/c/language/"' in html  # so does the language switch
    assert 'href="/t/musterstadt/c/legal/imprint/' in html  # its own legal notices
    assert 'href="/static/' in html and "/t/musterstadt/static/" not in html

    # Not under the shared host's plain path (the default tenant's), B's prefix, B's host.
    assert get("/s/umzug/").status_code == 404
    under_b = get("/t/beispieldorf/s/umzug/").content.decode()
    assert "Umzug B" in under_b and "Umzug A" not in under_b  # B's own service of that name
    on_b_host = get("/s/umzug/", host=B_HOST).content.decode()
    assert "Umzug B" in on_b_host and "Umzug A" not in on_b_host
    # A's prefix on B's own host name is refused outright.
    assert get("/t/musterstadt/s/umzug/", host=B_HOST).status_code == 404


def test_b_service_only_on_its_own_host(tenants: dict[str, Any]) -> None:
    own = get("/s/umzug/", host=B_HOST)
    assert own.status_code == 200 and "Umzug B" in own.content.decode()
    assert "Gemeinde Beispieldorf" in own.content.decode()
    assert "Umzug B" not in get("/t/musterstadt/s/umzug/").content.decode()
    assert get("/s/umzug/").status_code == 404  # the default tenant has no "umzug"
    # The default tenant's service is not B's, on B's host or A's prefix.
    assert get("/s/testantrag/", host=B_HOST).status_code == 404
    assert get("/t/musterstadt/s/testantrag/").status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        "/t/unbekannt/s/umzug/",
        "/t/musterstadt/",
        "/t/musterstadt/login/",
        "/t/musterstadt/cases/1/",
    ],
)
def test_other_paths_under_a_prefix_are_not_found(tenants: dict[str, Any], path: str) -> None:
    assert get(path).status_code == 404


def test_submission_under_the_prefix_links_to_the_prefix(
    tenants: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    service = tenants["services"]["A"]
    client = Client(REMOTE_ADDR="203.0.113.7")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/t/musterstadt/s/umzug/",
            valid_post(service, **{"document.proof": pdf_upload()}),
            HTTP_HOST=SHARED,
        )
    assert response.status_code == 302
    assert response["Location"].startswith("/t/musterstadt/s/umzug/done/")
    done = client.get(response["Location"], HTTP_HOST=SHARED)
    assert done.status_code == 200 and "Stadt Musterstadt" in done.content.decode()
    ticket = Ticket.objects.get()
    assert ticket.tenant == tenants["A"]

    (sent,) = mail.outbox
    url = re.search(r"https://\S+/c/\S+/", sent.body)
    assert url is not None
    assert url.group(0).startswith("https://vorgang.stadt.example/t/musterstadt/c/")
    path = url.group(0).removeprefix("https://vorgang.stadt.example")
    case_page = client.get(path, HTTP_HOST=SHARED)
    assert case_page.status_code == 200
    html = case_page.content.decode()
    assert ticket.number in html and "Stadt Musterstadt" in html
    assert f'action="{path}"' in html  # the citizen's message is posted under the prefix

    # B's prefix, B's host: not found, not even "expired".
    token = path.split("/")[-2]
    assert get(f"/t/beispieldorf/c/{token}/", client=client).status_code == 404
    assert get(f"/c/{token}/", host=B_HOST, client=client).status_code == 404


def test_links_in_mails_do_not_take_the_requests_prefix(tenants: dict[str, Any]) -> None:
    """A link built while a request under A's prefix runs (e.g. a task run at once) is the
    case's tenant's link, not the request's."""
    from django.urls import get_script_prefix, set_script_prefix

    from vorgang.accounts import services as accounts
    from vorgang.tickets import services

    cases = {}
    for label in ("A", "B"):
        service = tenants["services"][label]
        citizen = accounts.find_or_create_citizen(service.tenant, f"{label.lower()}@example.org")
        cases[label] = services.create_ticket(
            None,
            department=service.department,
            title="Umzug",
            citizen=citizen,
            service=service,
            article=services.ArticleInput(body="Umzug", kind="web", sender="citizen"),
        )
    before = get_script_prefix()
    set_script_prefix("/t/musterstadt/")
    try:
        b_link = links.issue_link(cases["B"])
        a_link = links.issue_link(cases["A"])
    finally:
        set_script_prefix(before)
    assert re.fullmatch(rf"https://{re.escape(B_HOST)}/c/[A-Za-z0-9_-]+/", b_link)
    assert re.fullmatch(r"https://vorgang\.stadt\.example/t/musterstadt/c/[A-Za-z0-9_-]+/", a_link)


def test_language_switch_returns_under_the_prefix(tenants: dict[str, Any]) -> None:
    client = Client()
    response = client.post(
        "/t/musterstadt/c/language/",
        {"language": "en", "next": "/t/musterstadt/s/umzug/"},
        HTTP_HOST=SHARED,
    )
    assert response.status_code == 302 and response["Location"] == "/t/musterstadt/s/umzug/"
    assert "Move A" in client.get("/t/musterstadt/s/umzug/", HTTP_HOST=SHARED).content.decode()
    # Not to somewhere else.
    away = client.post(
        "/t/musterstadt/c/language/", {"language": "de", "next": "/cases/1/"}, HTTP_HOST=SHARED
    )
    assert away["Location"] == "/t/musterstadt/c/new/"


def test_new_link_only_for_the_tenant_of_the_address(
    tenants: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    service = tenants["services"]["A"]
    client = Client(REMOTE_ADDR="203.0.113.8")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            "/t/musterstadt/s/umzug/",
            valid_post(service, **{"document.proof": pdf_upload()}),
            HTTP_HOST=SHARED,
        )
    ticket = Ticket.objects.get()
    mail.outbox.clear()
    ask = {"number": ticket.number, "email": "erika@example.org"}
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post("/c/new/", ask, HTTP_HOST=B_HOST).status_code == 200
    assert mail.outbox == []  # B's page knows nothing of A's cases (and does not say so)
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post("/t/musterstadt/c/new/", ask, HTTP_HOST=SHARED).status_code == 200
    (sent,) = mail.outbox
    assert "https://vorgang.stadt.example/t/musterstadt/c/" in sent.body
