"""The case view of a long case: the newest messages, older ones and the history on demand."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from vorgang.accounts import services as accounts
from vorgang.accounts.models import Role
from vorgang.desk.views import cases
from vorgang.tickets import services
from vorgang.tickets.models import Article, History

from .conftest import PASSWORD, World, make_agent

pytestmark = pytest.mark.django_db

SHOWN = 3  # the window in these tests (30 in production): a handful of messages suffices


@pytest.fixture
def small_window(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cases, "TIMELINE_NEWEST", SHOWN)


@pytest.fixture
def long_case(world: World, small_window: None) -> list[Article]:
    """The case's first message, a tag (a system event) and five messages more: 6 in all."""
    services.tag(None, world.ticket, "Frühes-Schlagwort")
    for i in range(1, 6):
        services.add_article(
            world.agent, world.ticket, services.ArticleInput(body=f"Nachricht Nummer {i}")
        )
    return list(Article.objects.filter(ticket=world.ticket).order_by("created_at", "pk"))


def case_url(world: World, **query: str) -> str:
    url = reverse("desk:case", args=[world.ticket.pk])
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def older_url(world: World, before: int | str) -> str:
    return reverse("desk:case_timeline_older", args=[world.ticket.pk]) + f"?before={before}"


def shown_ids(html: str) -> list[int]:
    return [
        int(pk) for pk in re.findall(r'<li[^>]*class="desk-article[^"]*" id="article-(\d+)"', html)
    ]


def test_only_the_newest_messages_are_shown_with_a_control_for_the_older(
    agent_client: Client, world: World, long_case: list[Article]
) -> None:
    html = agent_client.get(case_url(world)).content.decode()
    assert shown_ids(html) == [a.pk for a in long_case[-SHOWN:]]
    assert "Nachricht Nummer 5" in html and "Nachricht Nummer 2" not in html
    # A real link (works without JavaScript) that htmx turns into loading the older part.
    control = html[html.index('id="timeline-older"') :].split("</li>")[0]
    assert 'href="?all=1#timeline-heading"' in control
    assert f'hx-get="{older_url(world, long_case[-SHOWN].pk)}"' in control
    assert 'hx-target="#timeline-older"' in control and 'hx-swap="outerHTML"' in control
    assert "3 ältere Nachrichten anzeigen" in control  # the agent's language: German
    # The polite status region that announces what was loaded is on the page, empty.
    assert '<p class="kern-sr-only" id="timeline-status" role="status"></p>' in html
    # The tag event happened before the window: it belongs to the older part.
    timeline = html[html.index('id="timeline-list"') : html.index('id="timeline-status"')]
    assert "Frühes-Schlagwort" not in timeline
    # Tools of the shown messages keep their place in the whole case (messages 4 to 6).
    assert 'aria-label="Aktionen für Nachricht 6"' in html
    assert 'aria-label="Aktionen für Nachricht 4"' in html


def test_the_older_part_holds_the_rest_in_order_with_its_events(
    agent_client: Client, world: World, long_case: list[Article]
) -> None:
    response = agent_client.get(older_url(world, long_case[-SHOWN].pk), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert shown_ids(html) == [a.pk for a in long_case[:-SHOWN]]
    assert "<html" not in html  # a partial: the <li>s that replace the control
    # The first entry takes the focus once swapped in; the status region says what came.
    first = re.search(r"<li[^>]*>", html)
    assert first is not None and 'tabindex="-1" autofocus' in first.group(0)
    assert html.count("autofocus") == 1
    assert (
        'id="timeline-status" role="status" hx-swap-oob="innerHTML">3 ältere Nachrichten geladen.'
        in html
    )
    # The tag event sits between the first and the second message.
    event = html.index("Frühes-Schlagwort")
    assert html.index(f'id="article-{long_case[0].pk}"') < event
    assert event < html.index(f'id="article-{long_case[1].pk}"')
    # Reply, forward and split work on older messages as on the others.
    pk = long_case[1].pk
    assert f'href="?reply_to={pk}#reply"' in html
    assert reverse("desk:forward", args=[world.ticket.pk, pk]) in html
    assert reverse("desk:split", args=[world.ticket.pk, pk]) in html


def test_all_shows_the_whole_timeline_for_a_deep_link(
    agent_client: Client, world: World, long_case: list[Article]
) -> None:
    html = agent_client.get(case_url(world, all="1")).content.decode()
    assert shown_ids(html) == [a.pk for a in long_case]
    assert 'id="timeline-older"' not in html
    assert f'id="article-{long_case[0].pk}"' in html  # #article-<id> finds its target
    assert "Frühes-Schlagwort" in html
    # The page loads the script that turns a link to a left-out message into ?all=1.
    assert "/static/desk/timeline.js" in html


def test_a_short_case_shows_everything_without_a_control(
    agent_client: Client, world: World, small_window: None
) -> None:
    html = agent_client.get(case_url(world)).content.decode()
    assert len(shown_ids(html)) == 1
    assert 'id="timeline-older"' not in html


def test_the_older_part_has_the_checks_of_the_case_view(
    client: Client, world: World, long_case: list[Article]
) -> None:
    url = older_url(world, long_case[-SHOWN].pk)
    assert client.get(url).status_code == 302  # to the login
    accounts.create_user("erika", email="erika@example.org", role=Role.CITIZEN, password=PASSWORD)
    client.login(username="erika", password=PASSWORD)
    response = client.get(url)
    assert response.status_code == 403
    assert "Nachricht Nummer" not in response.content.decode()

    client.force_login(make_agent("otto", world.other_department, "full"))
    response = client.get(url)
    assert response.status_code == 404
    assert "Nachricht Nummer" not in response.content.decode()

    client.force_login(world.reader)  # read access: the messages, without the tools
    html = client.get(url).content.decode()
    assert "Nachricht Nummer 1" in html
    assert "desk-article__tools" not in html


def test_the_older_part_refuses_bad_input(
    agent_client: Client, world: World, long_case: list[Article]
) -> None:
    assert agent_client.get(older_url(world, "x")).status_code == 400
    assert agent_client.get(older_url(world, "")).status_code == 400
    # A message of another case (here: one the agent may not even see) is not a boundary.
    foreign = Article.objects.filter(ticket=world.other_ticket).first()
    assert foreign is not None
    response = agent_client.get(older_url(world, foreign.pk))
    assert response.status_code == 404
    assert "Lärmbeschwerde" not in response.content.decode()


def test_a_long_history_is_loaded_when_its_section_opens(
    agent_client: Client, world: World, long_case: list[Article], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cases, "HISTORY_INLINE_MAX", 2)
    history_url = reverse("desk:case_history", args=[world.ticket.pk])
    html = agent_client.get(case_url(world)).content.decode()
    section = html[html.index('<details class="desk-section desk-history"') :]
    section = section[: section.index("</details>")]
    assert "<table" not in section  # not rendered until asked for
    assert f'hx-get="{history_url}"' in section and 'hx-trigger="toggle once"' in section
    assert f'data-history-url="{history_url}"' in section  # live.js refreshes it from there
    assert f'href="{history_url}"' in section  # without JavaScript: its own page

    partial = agent_client.get(history_url, HTTP_HX_REQUEST="true").content.decode()
    assert partial.lstrip().startswith("<table")
    assert "Vorgang angelegt" in partial and "Frühes-Schlagwort" in partial
    entries = History.objects.filter(ticket=world.ticket).count()
    assert entries > 2
    assert partial.count("<tr class=") == 1 + entries  # the head row and every entry

    page = agent_client.get(history_url)
    assert page.status_code == 200
    text = page.content.decode()
    assert "<html" in text and "Vorgang angelegt" in text
    assert f'href="{case_url(world)}"' in text  # back to the case


def test_a_short_history_stays_in_the_page(agent_client: Client, world: World) -> None:
    html = agent_client.get(case_url(world)).content.decode()
    section = html[html.index('<details class="desk-section desk-history"') :]
    assert "<table" in section.split("</details>")[0]
    assert "hx-get" not in section.split(">")[0]


def test_the_history_has_the_checks_of_the_case_view(client: Client, world: World) -> None:
    url = reverse("desk:case_history", args=[world.ticket.pk])
    assert client.get(url).status_code == 302
    accounts.create_user("erika", email="erika@example.org", role=Role.CITIZEN, password=PASSWORD)
    client.login(username="erika", password=PASSWORD)
    response = client.get(url, HTTP_HX_REQUEST="true")
    assert response.status_code == 403
    assert "Vorgang angelegt" not in response.content.decode()

    client.force_login(make_agent("otto", world.other_department, "full"))
    response = client.get(url, HTTP_HX_REQUEST="true")
    assert response.status_code == 404
    assert "Vorgang angelegt" not in response.content.decode()
    other = reverse("desk:case_history", args=[world.other_ticket.pk])
    assert client.get(other, HTTP_HX_REQUEST="true").status_code == 200  # its own department

    client.force_login(world.reader)
    assert "Vorgang angelegt" in client.get(url, HTTP_HX_REQUEST="true").content.decode()


def test_dates_are_formatted_once_in_the_view(
    agent_client: Client, world: World, long_case: list[Article]
) -> None:
    html = agent_client.get(case_url(world)).content.decode()
    article = long_case[-1]
    view = cases.ArticleView.of(article, 6)
    assert view.iso and view.when
    assert f'<time datetime="{view.iso}">{view.when}</time>' in html
    assert f'data-reply-label="Nachricht vom {view.when} zitieren"' in html
