"""schemathesis against /api/v1/openapi.json: no server error, answers as declared.

The schema is loaded from the running Django application (WSGI, in process, over the
test database), so the test checks what is served, not a copy. Every operation gets
generated requests from the declared parameters and bodies, sent with an admin's API
token on a small data set (a department, an agent, a citizen, cases with articles and
an attachment, a tag, a link, a custom attribute, an organisation, a webhook and a
notification), so that most generated ids hit real objects.

Per operation three passes: requests as declared (positive), requests that break the
declaration (negative: must get a declared 4xx), and, where the path names objects,
positive requests with the path's ids pinned to the data set's objects (generated ids
almost never exist). Checks: ``not_a_server_error`` (no 5xx, whatever the input),
``status_code_conformance`` (only declared status codes) and
``response_schema_conformance`` (bodies match the declared schema for their status
code). Bounded and deterministic: a fixed number of examples per operation and
``derandomize``, so that CI sends the same requests each time (about a minute).

The schema is loaded inside the test (not at collection), and the operations are run
through ``operation.as_strategy()`` rather than ``schema.parametrize()``: schemathesis'
lazy pytest loader does not work with pytest 9 yet, and one test keeps one data set.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from django.test import Client
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import checks
from schemathesis.generation.modes import GenerationMode

from tests.api.helpers import API, b64
from tests.catalogue.conftest import PDF
from tests.factories import AdminFactory, AgentFactory, TicketFactory
from vorgang.accounts import services as accounts
from vorgang.accounts.models import ApiToken, Department
from vorgang.catalogue import demo as catalogue_demo
from vorgang.core import demo as core_demo
from vorgang.notifications import services as notifications
from vorgang.notifications.models import NotificationKind
from vorgang.tickets.models import Ticket

pytestmark = pytest.mark.django_db

MAX_EXAMPLES = 20


@pytest.fixture
def api_schema(data_set: dict[str, Any], keep_connection: None) -> Any:
    from vorgang.conf.wsgi import application

    return schemathesis.openapi.from_wsgi(f"{API}/openapi.json", application)


@pytest.fixture
def data_set(tenant) -> dict[str, Any]:
    """Objects for the generated requests to find; built through the API and the services.

    Returns the ids that path parameters are pinned to in the second pass.
    """
    for spec in core_demo.DEPARTMENTS:
        accounts.create_department(spec.name, address=spec.address, tenant=tenant)
    catalogue_demo.load(tenant)  # online services, for /services
    departments = {d: ["full"] for d in Department.objects.filter(tenant=tenant)}
    admin = AdminFactory(username="admin", departments=departments)
    agent = AgentFactory(username="anna", departments=departments)
    token = ApiToken.issue(admin)
    client = Client()
    headers = {"HTTP_AUTHORIZATION": f"Token token={token}", "HTTP_ACCEPT_LANGUAGE": "en"}

    def post(path: str, body: Any) -> Any:
        response = client.post(
            API + path, data=json.dumps(body), content_type="application/json", **headers
        )
        assert response.status_code in (200, 201), (path, response.content)
        return response.json()

    attribute = post(
        "/object_manager_attributes",
        {
            "name": "service_type",
            "object": "Ticket",
            "display": "Leistungsart",
            "data_type": "select",
            "data_option": {"options": {"pass": "Reisepass"}, "null": True},
        },
    )
    organisation = post("/organizations", {"name": "Stadtwerke"})
    first = post(
        "/tickets",
        {
            "title": "Antrag auf Ersatzführerschein",
            "group": "Führerscheinstelle",
            "customer_id": "guess:lena.schulz@example.org",
            "tags": ["eilig"],
            "service_type": "pass",
            "article": {
                "body": "Mein Führerschein ist verloren.",
                "type": "note",
                "attachments": [
                    {"filename": "scan.pdf", "data": b64(PDF), "mime-type": "application/pdf"}
                ],
            },
        },
    )
    second = post("/tickets", {"title": "Zweitantrag", "group": "Standesamt"})
    post("/ticket_articles", {"ticket_id": second["id"], "body": "Rückfrage", "type": "note"})
    post("/links/add", {
        "link_type": "normal",
        "link_object_target": "Ticket",
        "link_object_target_value": first["id"],
        "link_object_source": "Ticket",
        "link_object_source_number": second["number"],
    })  # fmt: skip
    department = Department.objects.get(tenant=tenant, name="Führerscheinstelle")
    for _ in range(3):
        TicketFactory(department=department)
    webhook = post(
        "/webhooks",
        {"name": "Fachverfahren", "url": "http://127.0.0.1:9/hook", "events": ["ticket.created"]},
    )
    case = Ticket.objects.get(pk=first["id"])
    notice = notifications.notify(admin, case, NotificationKind.ASSIGNED, agent.pk)
    assert notice is not None
    article = case.articles.get()
    citizen = case.citizen
    assert citizen is not None
    return {
        "token": token,
        "ids": {
            "ticket_id": first["id"],
            "source_id": second["id"],
            "target_number": first["number"],
            "article_id": article.pk,
            "attachment_id": article.attachments.get().pk,
            "user_id": citizen.pk,
            "organization_id": organisation["id"],
            "group_id": department.pk,
            "role_id": 2,
            "state_id": case.state_id,
            "priority_id": case.priority_id,
            "notification_id": notice.pk,
            "attribute_id": attribute["id"],
            "webhook_id": webhook["id"],
            "slug": "fuehrerscheinantrag",
        },
    }


CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.response_schema_conformance,
]
# Positive: requests as declared. Negative: requests that break the declaration, which
# must get a 4xx (never a 5xx) that is itself as declared.
MODES = {GenerationMode.POSITIVE: MAX_EXAMPLES, GenerationMode.NEGATIVE: MAX_EXAMPLES // 2}


@pytest.fixture
def keep_connection() -> Iterator[None]:
    """Keep the test's database connection across the WSGI requests.

    Django closes "old" connections when a request starts and finishes; inside the
    test's transaction that would close it (PostgreSQL) and lose the data set.
    Django's own test client switches this off in the same way.
    """
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def quiet(api_schema: Any) -> Iterator[None]:
    """Thousands of 404/422 warnings would bury a failure's report.

    After ``api_schema``: loading the WSGI application sets up logging again.
    """
    logger = logging.getLogger("django.request")
    level = logger.level
    logger.setLevel(logging.ERROR)
    yield
    logger.setLevel(level)


@pytest.mark.usefixtures("quiet")
def test_api_answers_as_declared(api_schema: Any, data_set: dict[str, Any]) -> None:
    headers = {"Authorization": f"Token token={data_set['token']}"}
    ids: dict[str, Any] = data_set["ids"]
    failures: list[str] = []
    statuses: Counter[int] = Counter()
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) > 40  # every module's paths are in the schema

    def exercise(operation: Any, mode: GenerationMode, examples: int, pinned: dict) -> None:
        strategy = operation.as_strategy(generation_mode=mode, path_parameters=pinned or None)

        @given(case=strategy)
        @settings(
            max_examples=examples,
            derandomize=True,
            deadline=None,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
            print_blob=False,
        )
        def run(case: Any) -> None:
            response = case.call_and_validate(headers=headers, checks=CHECKS)
            statuses[response.status_code // 100] += 1

        label = f"{operation.label} ({mode}{', real ids' if pinned else ''})"
        try:
            run()
        except Unsatisfiable:
            # Nothing to break: an operation without parameters or body has no
            # negative requests.
            assert mode == GenerationMode.NEGATIVE, label
        except (Exception, BaseExceptionGroup) as exc:  # every operation, not the first
            failures.append(f"{label}: {exc}")

    # Deleting operations last, so that the others still find the data set.
    operations.sort(key=lambda op: op.method.upper() == "DELETE")
    for operation in operations:
        for mode, examples in MODES.items():
            exercise(operation, mode, examples, {})
        names = [p.name for p in operation.path_parameters]
        if names and all(name in ids for name in names):
            # Generated ids almost never exist; pin them to real objects so that the
            # bodies and query strings are tried on a case, an article, a webhook...
            exercise(operation, GenerationMode.POSITIVE, MAX_EXAMPLES, {n: ids[n] for n in names})
    assert not failures, "\n\n".join(failures)
    print(f"{len(operations)} operations, answers by class: {dict(sorted(statuses.items()))}")
    # The data set works: generated requests reach real objects, not only 4xx.
    assert statuses[2] > 300 and statuses[4] > 300


# --- what schemathesis found, pinned down ------------------------------------------------------


def test_ignored_field_names_cannot_break_the_header(client: Client, tenant) -> None:
    """Unknown field names go into X-Vorgang-Ignored-Fields: a newline made it a 500."""
    admin = AdminFactory(username="admin")
    response = client.post(
        f"{API}/organizations",
        data=json.dumps({"name": "Stadtwerke", "bad\nname": 1, "grün": 2, "a,b": 3}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Token token={ApiToken.issue(admin)}",
    )
    assert response.status_code == 201
    assert response["X-Vorgang-Ignored-Fields"] == "a%2Cb, bad%0Aname, gr%C3%BCn"


def test_many_ignored_fields_are_cut_short(client: Client, tenant) -> None:
    admin = AdminFactory(username="admin")
    body = {"name": "Stadtwerke", **{f"x{i:03d}": i for i in range(80)}}
    response = client.post(
        f"{API}/organizations",
        data=json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Token token={ApiToken.issue(admin)}",
    )
    assert response.status_code == 201
    names = response["X-Vorgang-Ignored-Fields"].split(", ")
    assert len(names) == 51 and names[0] == "x000" and names[-1] == "..."
