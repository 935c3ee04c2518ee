"""The overviews: what each one lists and counts, the walls, custom ones, filters, sorting."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from vorgang.accounts import services as accounts
from vorgang.accounts.models import Department, Role, Tenant, User
from vorgang.catalogue.models import OnlineService
from vorgang.core import clock
from vorgang.desk.models import Overview
from vorgang.desk.overviews import BUILT_IN_SLUGS
from vorgang.tickets import services
from vorgang.tickets.models import Priority, State, Ticket

from .conftest import World, make_agent, make_ticket

pytestmark = pytest.mark.django_db

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def rows(html: str) -> list[str]:
    """The case numbers of the table rows, in order."""
    return re.findall(r'<th scope="row"[^>]*>(\w+)</th>', html)


def nav_counts(html: str) -> dict[str, int]:
    """The counts in the navigation, by overview slug."""
    found = re.findall(
        r'data-overview-count="([\w-]+)"><span class="kern-sr-only">\(</span>(\d+)<', html
    )
    return {slug: int(n) for slug, n in found}


def page(client: Client, slug: str, **params: str) -> str:
    response = client.get(reverse("desk:overviews", args=[slug]), params, **EN)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def make_service(department: Department, slug: str, days: int) -> OnlineService:
    return OnlineService.objects.create(
        tenant=department.tenant,
        slug=slug,
        name_de=f"Dienst {slug}",
        name_en=f"Service {slug}",
        department=department,
        schema={"type": "object", "properties": {}},
        processing_days=days,
    )


def backdate(ticket: Ticket, days: int) -> None:
    """Arrange a case received ``days`` ago (only the test moves time like this)."""
    Ticket.objects.filter(pk=ticket.pk).update(created_at=clock.now() - timedelta(days=days))


@dataclass
class Scene:
    """One case for every overview in Bürgerbüro, and the same again in Ordnungsamt."""

    world: World
    colleague: User
    mine: Ticket
    colleagues: Ticket
    unowned: Ticket
    waiting_future: Ticket
    reminder_due: Ticket
    pending_close: Ticket
    overdue: Ticket
    in_time: Ticket
    closed_recently: Ticket
    closed_long_ago: Ticket
    merged: Ticket
    foreign: dict[str, Ticket]

    def numbers(self, *names: str) -> set[str]:
        return {getattr(self, name).number for name in names}


def fill(department: Department, agent: User, colleague: User, service: OnlineService) -> dict:
    later = clock.now() + timedelta(days=3)
    cases = {}
    cases["mine"] = make_ticket(department, title="Meins")
    services.assign(None, cases["mine"], agent)
    cases["colleagues"] = make_ticket(department, title="Kollegin")
    services.assign(None, cases["colleagues"], colleague)
    cases["unowned"] = make_ticket(department, title="Niemandes")
    cases["waiting_future"] = make_ticket(department, title="Wartet")
    services.change_state(None, cases["waiting_future"], "pending reminder", pending_until=later)
    services.assign(None, cases["waiting_future"], colleague)
    cases["reminder_due"] = make_ticket(department, title="Erinnerung fällig")
    services.change_state(
        None,
        cases["reminder_due"],
        "pending reminder",
        pending_until=clock.now() - timedelta(hours=1),
    )
    services.assign(None, cases["reminder_due"], colleague)
    cases["pending_close"] = make_ticket(department, title="Schließt bald")
    services.change_state(None, cases["pending_close"], "pending close", pending_until=later)
    services.assign(None, cases["pending_close"], colleague)
    cases["overdue"] = make_ticket(department, title="Überfällig", service=service)
    backdate(cases["overdue"], 10)
    services.assign(None, cases["overdue"], colleague)
    cases["in_time"] = make_ticket(department, title="Im Rahmen", service=service)
    backdate(cases["in_time"], 3)
    services.assign(None, cases["in_time"], colleague)
    cases["closed_recently"] = make_ticket(department, title="Eben erledigt")
    services.change_state(None, cases["closed_recently"], "closed")
    cases["closed_long_ago"] = make_ticket(department, title="Lange erledigt")
    services.change_state(None, cases["closed_long_ago"], "closed")
    Ticket.objects.filter(pk=cases["closed_long_ago"].pk).update(
        closed_at=clock.now() - timedelta(days=8)
    )
    cases["merged"] = make_ticket(department, title="Zusammengeführt")
    services.merge(None, cases["merged"], cases["mine"])
    return cases


@pytest.fixture
def scene(world: World) -> Scene:
    colleague = make_agent("carla", world.department, "full")
    # Wherever world.agent is not a member: the same kinds of cases must stay invisible.
    stranger = make_agent("sven", world.other_department, "full")
    services.assign(None, world.ticket, colleague)  # the world's own case: not "unassigned"
    services.assign(None, world.other_ticket, stranger)
    service = make_service(world.department, "parken", days=5)
    foreign_service = make_service(world.other_department, "laerm", days=5)
    own = fill(world.department, world.agent, colleague, service)
    foreign = fill(world.other_department, stranger, stranger, foreign_service)
    # A case of another department assigned to world.agent stays invisible as well.
    services.assign(None, foreign["colleagues"], stranger)
    return Scene(world=world, colleague=colleague, foreign=foreign, **own)


EXPECTED = {
    "mine": ["mine"],
    "unassigned": ["unowned"],
    "waiting": ["waiting_future", "reminder_due", "pending_close"],
    "reminder": ["reminder_due"],
    "overdue": ["overdue"],
    "open": [
        "mine",
        "colleagues",
        "unowned",
        "waiting_future",
        "reminder_due",
        "pending_close",
        "overdue",
        "in_time",
    ],
    "closed": ["closed_recently"],
}


@pytest.mark.parametrize("slug", sorted(EXPECTED))
def test_each_built_in_overview_lists_its_cases(
    agent_client: Client, scene: Scene, slug: str
) -> None:
    html = page(agent_client, slug)
    expected = scene.numbers(*EXPECTED[slug])
    if slug == "open":
        expected.add(scene.world.ticket.number)
    assert set(rows(html)) == expected
    for other in scene.foreign.values():
        assert other.number not in html
    assert scene.world.other_ticket.number not in html


def test_navigation_counts_match_the_lists(agent_client: Client, scene: Scene) -> None:
    html = page(agent_client, "open")
    counts = nav_counts(html)
    assert set(counts) == BUILT_IN_SLUGS
    for slug, names in EXPECTED.items():
        extra = 1 if slug == "open" else 0  # the world's own case
        assert counts[slug] == len(names) + extra, slug
    assert 'aria-current="page"' in html.split('data-overview-count="open"')[0].rsplit("<a", 1)[1]


def test_counts_never_include_other_departments_or_tenants(client: Client, scene: Scene) -> None:
    foreign_tenant = Tenant.objects.create(name="Nachbargemeinde", slug="nachbar")
    foreign_department = accounts.create_department(
        "Bürgerbüro", address="bb@nachbar.example", tenant=foreign_tenant
    )
    make_ticket(foreign_department, title="Fremd")
    newcomer = make_agent("nina", world_department := scene.world.other_department, "read")
    client.force_login(newcomer)
    counts = nav_counts(page(client, "open"))
    # Ordnungsamt only: the stranger's set of cases plus the world's other case.
    assert counts["open"] == len(EXPECTED["open"]) + 1
    assert counts["mine"] == 0  # nina owns nothing
    assert counts["unassigned"] == 1
    assert counts["closed"] == 1
    assert world_department.pk != scene.world.department.pk


def test_agent_without_departments_sees_zero_everywhere(client: Client, scene: Scene) -> None:
    client.force_login(make_agent("nora", None))
    html = page(client, "open")
    assert set(nav_counts(html).values()) == {0}
    assert rows(html) == []


def case_queries(client: Client, slug: str) -> list[str]:
    """The queries on cases of one overview page (the header's notification bell has its own)."""
    with CaptureQueriesContext(connection) as captured:
        response = client.get(reverse("desk:overviews", args=[slug]))
    assert response.status_code == 200
    return [
        q["sql"]
        for q in captured.captured_queries
        if 'FROM "tickets_ticket"' in q["sql"] and "notifications_" not in q["sql"]
    ]


def test_counts_take_one_aggregated_query(agent_client: Client, scene: Scene) -> None:
    """All built-in open parts in one query, recently closed in one, the list in one."""
    agent_client.get(reverse("desk:overviews", args=["mine"]))  # warm the other caches
    cache.clear()
    on_cases = case_queries(agent_client, "mine")
    assert len(on_cases) == 3, on_cases
    assert sum("GROUP BY" in sql for sql in on_cases) == 1


def test_counts_are_kept_until_a_case_changes(agent_client: Client, scene: Scene) -> None:
    """The next page reuses the counts (only the list is read); a change counts anew."""
    case_queries(agent_client, "open")
    again = case_queries(agent_client, "mine")
    assert len(again) == 1 and "GROUP BY" not in again[0], again
    before = nav_counts(page(agent_client, "open"))
    make_ticket(scene.world.department, title="Neu")
    after = nav_counts(page(agent_client, "open"))
    assert after["open"] == before["open"] + 1
    assert after["unassigned"] == before["unassigned"] + 1


def test_counts_follow_the_clock(
    agent_client: Client, scene: Scene, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ "Reminder reached" changes with the time alone: a new minute counts anew."""
    before = nav_counts(page(agent_client, "open"))["reminder"]
    later = clock.now() + timedelta(days=3)
    monkeypatch.setattr(clock, "now", lambda: later)
    assert nav_counts(page(agent_client, "open"))["reminder"] > before


def test_open_cases_split_by_department(client: Client, scene: Scene) -> None:
    both = make_agent("berta", scene.world.department, "full")
    accounts.grant_access(scene.world.other_department, "berta", "overview")
    client.force_login(both)
    html = page(client, "open")
    department_nav = html.split('aria-label="Open cases by department"')[1].split("</nav>")[0]
    assert re.search(r"Bürgerbüro</a> <span[^>]*><span[^>]*>\(</span>9<", department_nav)
    assert re.search(r"Ordnungsamt</a> <span[^>]*><span[^>]*>\(</span>9<", department_nav)
    only_other = page(client, "open", department=str(scene.world.other_department.pk))
    assert set(rows(only_other)) == {t.number for t in scene.foreign.values()} - {
        scene.foreign[n].number for n in ("closed_recently", "closed_long_ago", "merged")
    } | {scene.world.other_ticket.number}


def test_root_is_the_open_overview(agent_client: Client, scene: Scene) -> None:
    root = agent_client.get(reverse("desk:overview"), **EN).content.decode()
    assert set(rows(root)) == set(rows(page(agent_client, "open")))
    assert "open cases in my departments" in root


# --- filters, sorting, pages ----------------------------------------------------------------


def test_filters(agent_client: Client, scene: Scene) -> None:
    world = scene.world
    services.tag(None, scene.unowned, "Eilig")
    services.set_priority(None, scene.colleagues, 3)
    waiting = State.objects.get(name="pending reminder")
    high = Priority.objects.get(level=3)
    service = OnlineService.objects.get(slug="parken")

    def listed(**params: str) -> set[str]:
        return set(rows(page(agent_client, "open", **params)))

    assert listed(state=str(waiting.pk)) == scene.numbers("waiting_future", "reminder_due")
    assert listed(priority=str(high.pk)) == scene.numbers("colleagues")
    assert listed(owner="me") == scene.numbers("mine")
    assert listed(owner="nobody") == scene.numbers("unowned")
    assert listed(owner=str(scene.colleague.pk)) == scene.numbers(
        "colleagues", "waiting_future", "reminder_due", "pending_close", "overdue", "in_time"
    ) | {world.ticket.number}
    assert listed(tag="Eilig") == scene.numbers("unowned")
    assert listed(tag="gibt es nicht") == set()
    assert listed(service=str(service.pk)) == scene.numbers("overdue", "in_time")
    assert listed(department=str(world.department.pk), owner="me") == scene.numbers("mine")
    html = page(agent_client, "open", owner="me")
    assert "(filtered)" in html
    assert "Reset filters" in html


@pytest.mark.parametrize(
    "params",
    [
        {"department": "abc"},
        {"department": "999999"},
        {"state": "-1"},
        {"priority": "1.5"},
        {"owner": "jemand"},
        {"service": "0"},
        {"tag": "x" * 101},
    ],
)
def test_bad_filter_values_are_a_clear_400(
    agent_client: Client, scene: Scene, params: dict[str, str]
) -> None:
    response = agent_client.get(reverse("desk:overviews", args=["open"]), params, **EN)
    assert response.status_code == 400
    html = response.content.decode()
    assert "This filter value is not known; it was ignored." in html
    assert 'aria-invalid="true"' in html
    assert len(rows(html)) == len(EXPECTED["open"]) + 1  # listed unfiltered


def test_a_department_one_may_not_see_is_no_filter_choice(
    agent_client: Client, scene: Scene
) -> None:
    other = str(scene.world.other_department.pk)
    response = agent_client.get(reverse("desk:overviews", args=["open"]), {"department": other})
    assert response.status_code == 400
    for case in scene.foreign.values():
        assert case.number not in response.content.decode()


def test_sorting_keeps_filters_and_marks_the_column(agent_client: Client, scene: Scene) -> None:
    services.set_priority(None, scene.unowned, 3)
    services.set_priority(None, scene.colleagues, 1)
    html = page(agent_client, "open", sort="-priority", department=str(scene.world.department.pk))
    numbers = rows(html)
    assert numbers[0] == scene.unowned.number
    assert numbers[-1] == scene.colleagues.number
    header = re.search(r'aria-sort="descending">\s*<a href="([^"]+)"', html)
    assert header is not None
    assert "sort=priority" in header.group(1)
    assert f"department={scene.world.department.pk}" in header.group(1)
    assert html.count("aria-sort=") == 1
    ascending = rows(page(agent_client, "open", sort="priority"))
    assert ascending[0] == scene.colleagues.number


def test_waiting_is_sorted_by_the_waiting_date(agent_client: Client, scene: Scene) -> None:
    numbers = rows(page(agent_client, "waiting"))
    dates = [Ticket.objects.get(number=n).pending_until for n in numbers]
    assert numbers[0] == scene.reminder_due.number  # its date has passed
    assert dates == sorted(dates)
    assert len(numbers) == 3


@pytest.mark.parametrize("sort", ["title", "--age", "-", "created_at", "pending;drop"])
def test_unknown_sort_falls_back(agent_client: Client, scene: Scene, sort: str) -> None:
    response = agent_client.get(reverse("desk:overviews", args=["mine"]), {"sort": sort})
    assert response.status_code == 200
    assert rows(response.content.decode()) == [scene.mine.number]


def test_pagination_keeps_sort_and_filter(agent_client: Client, world: World) -> None:
    for n in range(27):
        make_ticket(world.department, title=f"Antrag {n}")
    department = str(world.department.pk)
    first = page(agent_client, "unassigned", department=department)
    assert len(rows(first)) == 25
    assert "page 1 of 2" in first
    assert f"?sort=-age&amp;department={department}&amp;page=2" in first
    second = page(agent_client, "unassigned", department=department, page="2")
    assert len(rows(second)) == 3
    for bad in ("abc", "0", "-3", "99"):
        assert "page" in page(agent_client, "unassigned", page=bad)


def test_unknown_overview_is_404(agent_client: Client, world: World) -> None:
    response = agent_client.get(reverse("desk:overviews", args=["gibt-es-nicht"]))
    assert response.status_code == 404


def test_citizens_integrations_and_strangers_are_kept_out(client: Client, world: World) -> None:
    url = reverse("desk:overviews", args=["open"])
    response = client.get(url)
    assert response.status_code == 302 and "/login/" in response["Location"]
    citizen = accounts.find_or_create_citizen(world.tenant, "max.mustermann@example.org")
    client.force_login(citizen)
    assert client.get(url).status_code == 403
    integration = make_agent("robot", None, role=Role.INTEGRATION)
    client.force_login(integration)
    response = client.get(url)
    assert response.status_code == 403
    assert world.ticket.title not in response.content.decode()


def test_read_level_links_overview_level_only_lists(client: Client, world: World) -> None:
    watcher = make_agent("wanda", world.department, "overview")
    client.force_login(watcher)
    html = page(client, "open")
    assert world.ticket.title in html
    assert reverse("desk:case", args=[world.ticket.pk]) not in html
    assert 'name="cases"' not in html  # no bulk changes without change access


# --- admin-defined overviews ------------------------------------------------------------------


def custom(world: World, slug: str = "custom", **fields: object) -> Overview:
    relations = {
        k: fields.pop(k)
        for k in list(fields)
        if k in {"departments", "services", "states", "priorities", "tags", "visible_departments"}
    }
    overview = Overview.objects.create(
        tenant=world.tenant, slug=slug, name_de="Eigene", name_en="Custom", **fields
    )
    for name, values in relations.items():
        getattr(overview, name).set(values)
    return overview


def test_custom_overview_conditions(agent_client: Client, scene: Scene) -> None:
    world = scene.world
    services.tag(None, scene.unowned, "Eilig")
    services.tag(None, scene.overdue, "Eilig")
    services.set_priority(None, scene.overdue, 3)
    backdate(scene.unowned, 20)

    custom(world, "eilig", tags=list(world.tenant.tags.filter(name="Eilig")))
    assert set(rows(page(agent_client, "eilig"))) == scene.numbers("unowned", "overdue")

    custom(world, "alt", older_than_days=7)
    assert set(rows(page(agent_client, "alt"))) == scene.numbers("unowned", "overdue")

    custom(world, "hoch", priorities=list(Priority.objects.filter(level=3)))
    assert set(rows(page(agent_client, "hoch"))) == scene.numbers("overdue")

    custom(world, "niemand", owner="nobody")
    assert set(rows(page(agent_client, "niemand"))) == scene.numbers("unowned")

    custom(world, "ich", owner="me")
    assert set(rows(page(agent_client, "ich"))) == scene.numbers("mine")

    custom(world, "carla", owner="person", owner_person=scene.colleague, older_than_days=5)
    assert set(rows(page(agent_client, "carla"))) == scene.numbers("overdue")

    custom(world, "zu", states=list(State.objects.filter(name="closed")))
    assert set(rows(page(agent_client, "zu"))) == scene.numbers(
        "closed_recently", "closed_long_ago"
    )

    custom(world, "dienst", services=list(OnlineService.objects.filter(slug="parken")))
    assert set(rows(page(agent_client, "dienst"))) == scene.numbers("overdue", "in_time")

    counts = nav_counts(page(agent_client, "open"))
    assert counts["eilig"] == 2 and counts["zu"] == 2 and counts["ich"] == 1


def test_custom_overview_never_widens_the_wall(agent_client: Client, scene: Scene) -> None:
    custom(scene.world, "ordnungsamt", departments=[scene.world.other_department])
    html = page(agent_client, "ordnungsamt")
    assert rows(html) == []
    assert nav_counts(html)["ordnungsamt"] == 0


def test_custom_overview_columns_order_and_names(agent_client: Client, scene: Scene) -> None:
    custom(scene.world, "spalten", columns=["number", "service", "tags"], order="age")
    html = page(agent_client, "spalten")
    head = html.split('id="cases-caption"')[1].split("</thead>")[0]
    assert "Online service" in head and "Tags" in head
    assert "Citizen" not in head
    assert '<h1 class="kern-heading-large">Custom</h1>' in html
    german = agent_client.get(reverse("desk:overviews", args=["spalten"])).content.decode()
    assert '<h1 class="kern-heading-large">Eigene</h1>' in german
    numbers = rows(html)
    created = [Ticket.objects.get(number=n).created_at for n in numbers]
    assert created == sorted(created)


def test_custom_overview_visibility(client: Client, scene: Scene) -> None:
    world = scene.world
    custom(world, "nur-admins", visible_roles=[Role.ADMIN])
    custom(world, "nur-ordnungsamt", visible_departments=[world.other_department])
    custom(world, "aus", active=False)
    custom(world, "fuer-alle")
    client.force_login(world.agent)
    counts = nav_counts(page(client, "open"))
    assert "fuer-alle" in counts
    for hidden in ("nur-admins", "nur-ordnungsamt", "aus"):
        assert hidden not in counts
        assert client.get(reverse("desk:overviews", args=[hidden])).status_code == 404

    boss = make_agent("bea", world.other_department, "full", role=Role.ADMIN)
    client.force_login(boss)
    counts = nav_counts(page(client, "open"))
    assert {"nur-admins", "nur-ordnungsamt", "fuer-alle"} <= set(counts)
    assert "aus" not in counts


def test_custom_overviews_of_another_tenant_are_not_shown(
    agent_client: Client, world: World
) -> None:
    other = Tenant.objects.create(name="Nachbargemeinde", slug="nachbar")
    Overview.objects.create(tenant=other, slug="fremd", name_de="Fremd")
    assert agent_client.get(reverse("desk:overviews", args=["fremd"])).status_code == 404


def test_custom_overview_model_checks() -> None:
    from django.core.exceptions import ValidationError

    overview = Overview(
        tenant=Tenant.default(), slug="mine", name_de="x", owner="person", columns=["nope"]
    )
    with pytest.raises(ValidationError) as err:
        overview.clean()
    assert {"slug", "owner_person", "columns"} <= set(err.value.message_dict)


def test_admin_edits_own_tenant_overviews_only(client: Client, world: World) -> None:
    admin_user = make_agent("adele", world.department, "full", role=Role.ADMIN)
    other = Tenant.objects.create(name="Nachbargemeinde", slug="nachbar")
    Overview.objects.create(tenant=other, slug="fremd", name_de="Fremde Übersicht")
    mine = custom(world, "eigene")
    client.force_login(admin_user)
    listing = client.get("/admin/desk/overview/").content.decode()
    assert "Eigene" in listing and "Fremde Übersicht" not in listing
    response = client.post(
        "/admin/desk/overview/add/",
        {
            "name_de": "Alte Fälle",
            "slug": "eigene",  # taken in this tenant
            "position": "5",
            "active": "on",
            "order": "age",
            "columns": ["title", "number"],
        },
    )
    assert response.status_code == 200
    assert "Eine andere Übersicht hat bereits diesen Kurznamen." in response.content.decode()
    response = client.post(
        "/admin/desk/overview/add/",
        {
            "name_de": "Alte Fälle",
            "slug": "alte",
            "position": "5",
            "active": "on",
            "order": "age",
            "older_than_days": "30",
            "columns": ["title", "number"],
            "visible_departments": [str(world.department.pk)],
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    created = Overview.objects.get(slug="alte")
    assert created.tenant_id == world.tenant.pk
    assert created.columns == ["number", "title"]
    assert mine.slug == "eigene"

    client.force_login(world.agent)
    assert client.get("/admin/desk/overview/").status_code in (302, 403)
