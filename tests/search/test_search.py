"""Searching: German text, typos, syntax, permissions, snippets, bad input (both backends)."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.db import connection

from tests.factories import (
    AgentFactory,
    CitizenFactory,
    DepartmentFactory,
    TenantFactory,
)
from tests.search.pdf import make_pdf
from vorgang.catalogue.models import OnlineService
from vorgang.core import clock
from vorgang.search import engine
from vorgang.search.backends.postgres import PostgresBackend
from vorgang.search.engine import search
from vorgang.search.models import AttachmentText
from vorgang.tickets import services
from vorgang.tickets.models import Ticket

pytestmark = pytest.mark.django_db


def ids(result) -> set[int]:
    assert result.error is None, result.error
    return {h.ticket_id for h in result.hits}


# --- German text ------------------------------------------------------------------------------


def test_plural_finds_singular_and_back(agent, department, make_case) -> None:
    antrag = make_case(department, "Antrag auf Wohngeld")
    antraege = make_case(department, "Zwei Anträge liegen vor")
    assert ids(search(agent, "Anträge")) == {antrag.pk, antraege.pk}
    assert ids(search(agent, "antrag")) == {antrag.pk, antraege.pk}


def test_umlaut_transcriptions_match_both_ways(agent, department, make_case) -> None:
    real = make_case(department, "Beglaubigte Übersetzung der Geburtsurkunde")
    typed = make_case(department, "Frage", body="Brauche ich eine Uebersetzung?")
    street = make_case(department, "Ummeldung", body="Neue Adresse: Hauptstraße 5")
    assert ids(search(agent, "Uebersetzung")) == {real.pk, typed.pk}
    assert ids(search(agent, "Übersetzung")) == {real.pk, typed.pk}
    assert ids(search(agent, "Hauptstrasse")) == {street.pk}


def test_words_in_any_field_all_must_match(agent, department, make_case) -> None:
    both = make_case(department, "Wohngeld", body="Der Bescheid fehlt noch.")
    make_case(department, "Wohngeld", body="Alles erledigt.")
    assert ids(search(agent, "Wohngeld Bescheid")) == {both.pk}


def test_case_number_is_found(agent, department, make_case) -> None:
    case = make_case(department, "Irgendwas")
    make_case(department, "Anderes")
    assert ids(search(agent, case.number)) == {case.pk}
    assert ids(search(agent, f"number:#{case.number}")) == {case.pk}


# --- typo tolerance -------------------------------------------------------------------------


def test_a_name_with_a_typo_is_found(agent, department, make_case) -> None:
    tenant = department.tenant
    mueller = make_case(
        department, "Anmeldung", citizen=CitizenFactory(tenant=tenant, last_name="Müller")
    )
    schmidt = make_case(
        department, "Anmeldung", citizen=CitizenFactory(tenant=tenant, last_name="Schmidt")
    )
    make_case(department, "Anmeldung", citizen=CitizenFactory(tenant=tenant, last_name="Becker"))
    assert mueller.pk in ids(search(agent, "Mueler"))
    assert schmidt.pk in ids(search(agent, "Schmitd"))
    assert ids(search(agent, "Mueller")) >= {mueller.pk}
    # Typo tolerance is for names only: a far-off name finds nothing.
    assert ids(search(agent, "Wagenknecht")) == set()


def test_exact_name_ranks_before_typo_match(agent, department, make_case) -> None:
    tenant = department.tenant
    exact = make_case(
        department, "Anmeldung", citizen=CitizenFactory(tenant=tenant, last_name="Mustermann")
    )
    near = make_case(
        department, "Anmeldung", citizen=CitizenFactory(tenant=tenant, last_name="Mustermannn")
    )
    found = search(agent, "Mustermann")
    assert [h.ticket_id for h in found.hits][:2] == [exact.pk, near.pk]


# --- syntax -----------------------------------------------------------------------------------


def test_phrase_and_exclusion(agent, department, make_case) -> None:
    phrase = make_case(department, "Antrag auf Wohngeld gestellt")
    apart = make_case(department, "Wohngeld", body="Der Antrag kam per Post.")
    assert ids(search(agent, '"Antrag auf Wohngeld"')) == {phrase.pk}
    assert ids(search(agent, "Wohngeld Antrag")) == {phrase.pk, apart.pk}
    assert ids(search(agent, "Wohngeld -Post")) == {phrase.pk}
    assert ids(search(agent, 'Wohngeld -"per Post"')) == {phrase.pk}


def test_field_filters(agent, department, other_department, make_case, committed) -> None:
    AgentFactory  # noqa: B018 - imported for other tests
    agent_all = AgentFactory(departments={department: ["full"], other_department: ["full"]})
    service = OnlineService.objects.create(
        tenant=department.tenant,
        slug="wohngeld",
        name_de="Wohngeld",
        department=department,
        schema={"type": "object", "properties": {}},
    )
    mine = make_case(department, "Wohngeld eins", service=service)
    other = make_case(other_department, "Wohngeld zwei")
    citizen = CitizenFactory(tenant=department.tenant, first_name="Erika", last_name="Musterfrau")
    hers = make_case(department, "Wohngeld drei", citizen=citizen)
    with committed():
        services.assign(None, mine, agent_all)
        services.change_state(None, other, "open")
        services.tag(None, hers, "eilig")
    everything = {mine.pk, other.pk, hers.pk}
    assert ids(search(agent_all, "Wohngeld")) == everything
    assert ids(search(agent_all, "department:Standesamt")) == {other.pk}
    assert ids(search(agent_all, f"group:{other_department.pk}")) == {other.pk}
    assert ids(search(agent_all, "Wohngeld -department:Standesamt")) == {mine.pk, hers.pk}
    assert ids(search(agent_all, "state:open")) == {other.pk}
    assert ids(search(agent_all, "state:new,open")) == everything
    assert ids(search(agent_all, "owner:me")) == {mine.pk}
    assert ids(search(agent_all, f"owner:{agent_all.username} Wohngeld")) == {mine.pk}
    assert ids(search(agent_all, "owner:none Wohngeld")) == {other.pk, hers.pk}
    assert ids(search(agent_all, "tag:eilig")) == {hers.pk}
    assert ids(search(agent_all, "tag:EILIG Wohngeld")) == {hers.pk}
    assert ids(search(agent_all, "Wohngeld -tag:eilig")) == {mine.pk, other.pk}
    assert ids(search(agent_all, "tag:unbekannt")) == set()
    assert ids(search(agent_all, "service:wohngeld")) == {mine.pk}
    assert ids(search(agent_all, 'citizen:"erika musterfrau"')) == {hers.pk}
    assert ids(search(agent_all, "customer:Musterfr")) == {hers.pk}
    today = clock.now().date()
    assert ids(search(agent_all, f"created:>={today.isoformat()}")) == everything
    assert ids(search(agent_all, f"created:<{today.isoformat()}")) == set()
    tomorrow = today + timedelta(days=1)
    assert ids(search(agent_all, f"created:{today.isoformat()}..{tomorrow.isoformat()}")) == (
        everything
    )


@pytest.mark.parametrize(
    "query",
    ["state:verloren", "department:Nirgendwo", "owner:niemand", "service:nix"],
)
def test_unknown_filter_values_are_explained(agent, department, make_case, query) -> None:
    make_case(department, "Wohngeld")
    result = search(agent, query)
    assert result.error is not None
    assert result.error.code == "bad_value"
    assert result.total == 0 and result.hits == []


def test_sort_by_date_and_relevance(agent, department, make_case) -> None:
    weak = make_case(department, "Anfrage", body="Es geht um Wohngeld.")
    strong = make_case(department, "Wohngeld Wohngeld", body="Wohngeld")
    Ticket.objects.filter(pk=weak.pk).update(created_at=clock.now() - timedelta(days=3))
    from vorgang.search import indexing

    indexing.index([weak.pk])
    assert [h.ticket_id for h in search(agent, "Wohngeld").hits] == [strong.pk, weak.pk]
    assert [h.ticket_id for h in search(agent, "Wohngeld", sort="oldest").hits] == [
        weak.pk,
        strong.pk,
    ]
    assert [h.ticket_id for h in search(agent, "Wohngeld sort:date").hits] == [strong.pk, weak.pk]
    assert search(agent, "Wohngeld", sort="sideways").error.code == "unknown_sort"


def test_pagination_and_total(agent, department, make_case) -> None:
    made = [make_case(department, f"Wohngeld {i}").pk for i in range(7)]
    first = search(agent, "Wohngeld", per_page=3, sort="date")
    assert first.total == 7
    assert [h.ticket_id for h in first.hits] == sorted(made, reverse=True)[:3]
    last = search(agent, "Wohngeld", page=3, per_page=3, sort="date")
    assert [h.ticket_id for h in last.hits] == [min(made)]
    past = search(agent, "Wohngeld", page=9, per_page=3)
    assert past.total == 7 and past.hits == []


# --- permissions ------------------------------------------------------------------------------


def test_agents_see_only_their_departments_in_hits_counts_and_snippets(
    department, other_department, make_case
) -> None:
    visible = make_case(department, "Wohngeld", body="Sichtbarer Text zum Wohngeld")
    hidden = make_case(other_department, "Wohngeld", body="Geheimer Text zum Wohngeld")
    agent = AgentFactory(departments={department: ["read"]})
    result = search(agent, "Wohngeld")
    assert result.total == 1
    assert ids(result) == {visible.pk}
    assert "Geheimer" not in result.hits[0].snippet_html
    assert search(agent, "Geheimer").total == 0
    assert search(agent, f"number:{hidden.number}").total == 0


def test_overview_level_is_needed(department, make_case) -> None:
    make_case(department, "Wohngeld")
    creator = AgentFactory(departments={department: ["create", "change"]})
    overview = AgentFactory(departments={department: ["overview"]})
    assert search(creator, "Wohngeld").total == 0
    assert search(overview, "Wohngeld").total == 1


def test_other_tenants_are_invisible(department, make_case) -> None:
    make_case(department, "Wohngeld")
    elsewhere = DepartmentFactory(tenant=TenantFactory())
    theirs = make_case(elsewhere, "Wohngeld")
    stranger = AgentFactory(tenant=elsewhere.tenant, departments={elsewhere: ["full"]})
    assert ids(search(stranger, "Wohngeld")) == {theirs.pk}
    # Even naming the other tenant's department by id finds nothing of it.
    assert search(stranger, f"department:{department.pk}").error is not None


def test_citizens_find_only_their_own_cases_and_no_internal_notes(
    department, make_case, committed
) -> None:
    citizen = CitizenFactory(tenant=department.tenant)
    own = make_case(department, "Wohngeld", citizen=citizen)
    make_case(department, "Wohngeld")
    with committed():
        services.add_article(
            None,
            own,
            services.ArticleInput(body="Vermerk: Einkommen unplausibel", internal=True),
        )
    result = search(citizen, "Wohngeld")
    assert ids(result) == {own.pk} and result.total == 1
    assert search(citizen, "unplausibel").total == 0
    agent = AgentFactory(departments={department: ["full"]})
    found = search(agent, "unplausibel")
    assert ids(found) == {own.pk}
    assert "<mark>unplausibel</mark>" in found.hits[0].snippet_html


def test_inactive_and_anonymous_users_get_a_message(agent, department, make_case) -> None:
    from django.contrib.auth.models import AnonymousUser

    make_case(department, "Wohngeld")
    agent.is_active = False
    assert search(agent, "Wohngeld").error.code == "forbidden"
    assert search(AnonymousUser(), "Wohngeld").error.code == "forbidden"  # type: ignore[arg-type]
    assert search(None, "Wohngeld").error.code == "forbidden"


# --- snippets ---------------------------------------------------------------------------------


def test_snippets_are_escaped_and_marked(agent, department, make_case) -> None:
    case = make_case(
        department,
        "Rückfrage",
        body="<script>alert(1)</script> Die Anträge & Nachweise kommen morgen.",
    )
    hit = search(agent, "Antrag Nachweis").hits[0]
    assert hit.ticket_id == case.pk
    assert "<script>" not in hit.snippet_html
    assert "&lt;script&gt;" in hit.snippet_html
    assert "<mark>Anträge</mark> &amp; <mark>Nachweise</mark>" in hit.snippet_html


def test_filter_only_snippet_is_the_start_of_the_case(agent, department, make_case) -> None:
    make_case(department, "Wohngeld", body="Sehr geehrte Damen und Herren")
    hit = search(agent, "state:new").hits[0]
    assert hit.snippet_html.startswith("Sehr geehrte")


def test_long_text_snippet_is_cut_around_the_match(agent, department, make_case) -> None:
    filler = "Lorem ipsum dolor sit amet. " * 40
    make_case(
        department, "Anfrage", body=f"{filler} Hier steht das Kennwort Zebrastreifen. {filler}"
    )
    snippet = search(agent, "Zebrastreifen").hits[0].snippet_html
    assert snippet.startswith("…") and snippet.endswith("…")
    assert "<mark>Zebrastreifen</mark>" in snippet
    assert len(snippet) < 400


# --- attachments ------------------------------------------------------------------------------


def test_pdf_and_text_attachments_are_searchable(agent, department, make_case, committed) -> None:
    case = make_case(department, "Unterlagen")
    pdf = make_pdf(["Meldebescheinigung von Frau Schneider", "Geburtsurkunde beigefuegt"])
    with committed():
        services.add_article(
            None,
            case,
            services.ArticleInput(
                body="Anbei die Unterlagen.",
                kind="email",
                sender="citizen",
                attachments=[
                    services.AttachmentInput("nachweis.pdf", pdf, "application/pdf"),
                    services.AttachmentInput(
                        "notiz.txt", "Einkommensnachweis für März".encode(), "text/plain"
                    ),
                    services.AttachmentInput("kaputt.pdf", b"%PDF-1.4 broken", "application/pdf"),
                ],
            ),
        )
    assert ids(search(agent, "Geburtsurkunde")) == {case.pk}  # PDF text, with "ue" for "ü"
    assert ids(search(agent, "Einkommensnachweis")) == {case.pk}  # plain text
    assert ids(search(agent, "nachweis.pdf")) == {case.pk}  # file name
    snippet = search(agent, "Meldebescheinigung").hits[0].snippet_html
    assert "<mark>Meldebescheinigung</mark>" in snippet
    broken = AttachmentText.objects.exclude(error="").get()
    assert broken.text == "" and broken.error


# --- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "",
        "   ",
        "und der die",
        '"unbalanced',
        "foo:bar",
        "state:",
        "created:2026-13-45",
        "-nur",
        "'; DROP TABLE tickets_ticket; --",
        'NEAR(Wohngeld Antrag) OR "x" AND * NOT ^y',
        "{title}: Wohngeld",
        "Wohngeld:*",
        "%_%",
        "\x00\x01",
        "😀 Wohngeld",
        "a" * 10_000,
        "Wohngeld " * 2000,
        "(((((((((",
        "number:" + "9" * 500,
    ],
)
def test_bad_input_never_raises(agent, department, make_case, query) -> None:
    make_case(department, "Wohngeld")
    started = time.monotonic()
    result = search(agent, query)
    assert time.monotonic() - started < 5
    assert result.total >= 0
    if result.error is not None:
        assert result.error.message and result.hits == []
    if query.startswith(("Wohngeld ", "😀")):
        assert result.error is None and result.total == 1


@pytest.mark.parametrize(("page", "per_page"), [("x", "y"), (-1, 0), (10**9, 10**9), (None, None)])
def test_bad_paging_is_clamped(agent, department, make_case, page, per_page) -> None:
    make_case(department, "Wohngeld")
    result = search(agent, "Wohngeld", page=page, per_page=per_page)
    assert result.error is None
    assert 1 <= result.per_page <= 100 and result.page >= 1


def test_a_slow_search_is_stopped_with_a_message(
    agent, department, make_case, settings, monkeypatch
) -> None:
    make_case(department, "Wohngeld")
    if connection.vendor == "sqlite":
        settings.VORGANG_SEARCH_TIMEOUT_MS = 0
        monkeypatch.setattr(engine, "PROGRESS_STEPS", 1)  # check the clock at every step
    else:
        settings.VORGANG_SEARCH_TIMEOUT_MS = 50

        def slow_count(self, plan) -> int:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_sleep(2)")  # cancelled by the statement timeout
            return 0

        monkeypatch.setattr(PostgresBackend, "count", slow_count)
    result = search(agent, "Wohngeld")
    assert result.error is not None and result.error.code == "timeout"
    assert result.total == 0 and result.hits == []
    # The connection is still usable afterwards.
    settings.VORGANG_SEARCH_TIMEOUT_MS = 5000
    monkeypatch.undo()
    assert search(agent, "Wohngeld").total == 1
