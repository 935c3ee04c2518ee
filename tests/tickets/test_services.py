"""Creating cases, articles, attachments, tags, links and merge through the write path."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import AgentFactory, CitizenFactory, DepartmentFactory, TicketFactory
from vorgang.core import clock
from vorgang.core.errors import InvalidInput, InvalidTransition, NotFound
from vorgang.tickets import events, history, numbering, selectors, services
from vorgang.tickets.models import Article, Attachment, Blob, History, Link, Ticket

pytestmark = pytest.mark.django_db


def actions(ticket: Ticket) -> list[tuple[str, str, str, str]]:
    return [
        (h.action, h.field, h.old_value, h.new_value)
        for h in History.objects.filter(ticket=ticket).order_by("seq")
    ]


def test_create_ticket_with_article_tags_and_data() -> None:
    department = DepartmentFactory()
    agent = AgentFactory(departments={department: ["full"]})
    citizen = CitizenFactory()
    ticket = services.create_ticket(
        agent,
        department=department,
        title="  Antrag   auf Führerschein ",
        citizen=citizen,
        data={"klasse": "B"},
        tags=["führerschein", "eilig"],
        owner=agent,
        article=services.ArticleInput(body="Bitte bearbeiten", kind="phone"),
    )
    assert ticket.title == "Antrag auf Führerschein"
    assert ticket.state.name == "new"
    assert ticket.priority.name == "2 normal"
    assert ticket.owner == agent
    assert ticket.data == {"klasse": "B"}
    assert sorted(ticket.tags.values_list("name", flat=True)) == ["eilig", "führerschein"]
    assert ticket.articles.get().sender == "agent"
    assert [a[0] for a in actions(ticket)] == ["created", "tag_added", "tag_added", "article_added"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"title": "   "}, "title"),
        ({"state": "merged"}, "cannot start"),
        ({"state": "pending close"}, "cannot start"),
        ({"state": "nonsense"}, "Unknown state"),
        ({"priority": "9 panic"}, "Unknown priority"),
        ({"data": ["not", "a", "dict"]}, "JSON object"),
        ({"state": "pending reminder"}, "pending date"),
    ],
)
def test_bad_input_creates_nothing(kwargs: dict, message: str) -> None:
    department = DepartmentFactory()
    args = {"department": department, "title": "Anmeldung", **kwargs}
    with pytest.raises((InvalidInput, InvalidTransition), match=message):
        services.create_ticket(None, **args)
    assert not Ticket.objects.exists()
    assert not History.objects.exists()


def test_inactive_department_takes_no_cases() -> None:
    department = DepartmentFactory(active=False)
    with pytest.raises(InvalidInput, match="not active"):
        services.create_ticket(None, department=department, title="x")


def test_failing_article_rolls_back_the_whole_case() -> None:
    department = DepartmentFactory()
    with pytest.raises(InvalidInput, match="empty"):
        services.create_ticket(
            None, department=department, title="x", article=services.ArticleInput(body="  ")
        )
    assert not Ticket.objects.exists()
    assert not Article.objects.exists()


@pytest.fixture
def fresh_series() -> None:
    """No number series drawn yet: PostgreSQL's sequences outlive a test's rollback when
    a transactional test made them; dropped here inside the test's transaction."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT relname FROM pg_class WHERE relkind = 'S' AND left(relname, %s) = %s",
                [len(numbering.SEQUENCE_PREFIX), numbering.SEQUENCE_PREFIX],
            )
            for (name,) in cursor.fetchall():
                cursor.execute(f"DROP SEQUENCE {connection.ops.quote_name(name)}")


def _is_draw(sql: str) -> bool:
    return "tickets_numbercounter" in sql or "nextval(" in sql


def test_numbers_are_unique_and_never_reused(settings) -> None:
    first = TicketFactory()
    second = TicketFactory()
    assert int(second.number) == int(first.number) + 1
    # A number taken otherwise (e.g. imported data) is skipped.
    Ticket.objects.filter(pk=second.pk).update(number=str(int(second.number) + 1))
    third = TicketFactory()
    assert third.number == str(int(second.number) + 2)


def test_date_based_numbers(settings, fresh_series) -> None:
    settings.TICKET_NUMBER_GENERATOR = "date"
    settings.TICKET_NUMBER_PREFIX = "FS-"
    from django.utils import timezone

    day = timezone.localtime(clock.now()).strftime("%Y%m%d")
    assert TicketFactory().number == f"FS-{day}001"
    assert TicketFactory().number == f"FS-{day}002"


def test_a_number_is_drawn_in_one_statement() -> None:
    """SQLite: the counter row, locked until the commit. PostgreSQL: the series'
    sequence, which holds no lock. Either way nothing but the draw itself runs."""
    before = int(TicketFactory().number)  # the series exists from here on
    with CaptureQueriesContext(connection) as ctx:
        number = numbering.next_number()
    assert len(ctx.captured_queries) == 1
    sql = ctx.captured_queries[0]["sql"]
    if connection.vendor == "postgresql":
        assert sql.startswith("SELECT nextval(")
    else:
        assert sql.startswith('UPDATE "tickets_numbercounter"')
    assert number == str(before + 1)


def test_the_number_is_drawn_last_when_a_case_is_created() -> None:
    """On SQLite every other create waits from the draw to the commit: only the case's
    last update and its history follow the draw (the same order on PostgreSQL)."""
    TicketFactory()  # the series exists from here on
    department = DepartmentFactory()
    with CaptureQueriesContext(connection) as ctx:
        ticket = services.create_ticket(
            None,
            department=department,
            title="Zuletzt nummeriert",
            tags=["eilig"],
            article=services.ArticleInput(body="Text", attachments=[]),
        )
    sql = [q["sql"] for q in ctx.captured_queries if "SAVEPOINT" not in q["sql"]]
    draw = next(i for i, s in enumerate(sql) if _is_draw(s))
    after = [s.split("(")[0].split(" SET ")[0].strip() for s in sql[draw + 1 :]]
    assert after == ['UPDATE "tickets_ticket"', 'INSERT INTO "tickets_history"']
    assert ticket.number.isdigit()
    assert Ticket.objects.get(pk=ticket.pk).number == ticket.number
    created = History.objects.get(ticket=ticket, action="created")
    assert created.new_value == ticket.number
    assert list(history.verify()) == []


def test_numbers_all_taken_is_a_clear_error_and_writes_nothing() -> None:
    from django.db import transaction

    department = DepartmentFactory()
    taken = TicketFactory.create_batch(20, department=department)
    last = max(int(ticket.number) for ticket in taken)
    for offset, ticket in enumerate(taken, start=1):
        Ticket.objects.filter(pk=ticket.pk).update(number=str(last + offset))
    # The caller's transaction (as the API's) ends with the error: nothing of it stays.
    with pytest.raises(InvalidInput, match="free case number"), transaction.atomic():
        services.create_ticket(
            None, department=department, title="Keine Nummer", article=services.ArticleInput("x")
        )
    assert not Ticket.objects.filter(title="Keine Nummer").exists()
    assert not Article.objects.filter(body="x").exists()
    assert Ticket.objects.count() == 20


def test_a_new_series_starts_at_the_configured_start(settings, fresh_series) -> None:
    settings.TICKET_NUMBER_START = 500
    from vorgang.tickets.models import NumberCounter

    assert numbering.next_number() == "500"
    assert numbering.next_number() == "501"
    if connection.vendor == "sqlite":
        assert NumberCounter.objects.get(series="increment").value == 501


def test_numbers_go_on_after_the_counter_row_of_earlier_numbers(fresh_series) -> None:
    """An installation that drew numbers from the counter row before it had sequences
    (PostgreSQL) continues after the last of them; SQLite counts on in the row."""
    from vorgang.tickets.models import NumberCounter

    NumberCounter.objects.create(series="increment", value=77_776)
    assert numbering.next_number() == "77777"
    assert numbering.next_number() == "77778"


def test_unknown_number_generator_is_a_clear_error(settings) -> None:
    settings.TICKET_NUMBER_GENERATOR = "roman"
    with pytest.raises(InvalidInput, match="generator"):
        TicketFactory()
    assert not Ticket.objects.exists()


def test_attachments_are_stored_once_and_names_kept_distinct() -> None:
    ticket = TicketFactory()
    article = services.add_article(
        None,
        ticket,
        services.ArticleInput(
            body="Anlagen",
            attachments=[
                services.AttachmentInput("scan.pdf", b"%PDF-1.4 same", "application/pdf"),
                services.AttachmentInput("scan.pdf", b"%PDF-1.4 same", "application/pdf"),
                services.AttachmentInput("../../etc/passwd", b"other"),
            ],
            raw=b"From: a@b\r\n\r\nraw",
        ),
    )
    names = list(article.attachments.values_list("filename", flat=True))
    assert names == ["scan.pdf", "scan-1.pdf", ".._.._etc_passwd"]
    assert Blob.objects.count() == 3  # two distinct contents + the raw message
    first = Attachment.objects.filter(article=article).first()
    assert first is not None
    assert first.blob.read() == b"%PDF-1.4 same"
    assert first.size == len(b"%PDF-1.4 same")
    assert article.raw is not None
    assert article.raw.read() == b"From: a@b\r\n\r\nraw"


def test_first_response_is_the_first_public_agent_article() -> None:
    ticket = TicketFactory()
    agent = AgentFactory(departments={ticket.department: ["full"]})
    services.add_article(agent, ticket, services.ArticleInput(body="intern", internal=True))
    ticket.refresh_from_db()
    assert ticket.first_response_at is None
    reply = services.add_article(
        agent, ticket, services.ArticleInput(body="Antwort", kind="email", to="a@example.org")
    )
    ticket.refresh_from_db()
    assert ticket.first_response_at == reply.created_at
    assert reply.delivery_status == "queued"


def test_tags_are_idempotent_and_recorded() -> None:
    ticket = TicketFactory()
    services.tag(None, ticket, "eilig")
    services.tag(None, ticket, " eilig ")
    services.untag(None, ticket, "eilig")
    services.untag(None, ticket, "eilig")
    assert not ticket.tags.exists()
    assert [a for a in actions(ticket) if a[0].startswith("tag")] == [
        ("tag_added", "tags", "", "eilig"),
        ("tag_removed", "tags", "eilig", ""),
    ]
    with pytest.raises(InvalidInput):
        services.tag(None, ticket, "   ")


def test_links_both_ways_and_no_duplicates() -> None:
    parent, child = TicketFactory(), TicketFactory()
    services.link(None, parent, child, "parent")
    assert Link.objects.count() == 1
    with pytest.raises(InvalidInput, match="already linked"):
        services.link(None, child, parent)
    with pytest.raises(InvalidInput, match="itself"):
        services.link(None, parent, parent)
    with pytest.raises(InvalidInput, match="link type"):
        services.link(None, parent, TicketFactory(), "sibling")
    agent = AgentFactory(departments={parent.department: ["full"], child.department: ["full"]})
    assert selectors.links(agent, child) == [("child", parent)]
    assert selectors.links(agent, parent) == [("parent", child)]
    # Links to cases the agent may not see are left out.
    only_parent = AgentFactory(departments={parent.department: ["full"]})
    assert selectors.links(only_parent, parent) == []
    services.unlink(None, child, parent)
    assert not Link.objects.exists()
    with pytest.raises(NotFound):
        services.unlink(None, child, parent)


def test_merge_moves_articles_and_leaves_a_link() -> None:
    source = TicketFactory(open=True)
    target = TicketFactory()
    services.add_article(None, source, services.ArticleInput(body="zweite Nachricht"))
    attachment_article = services.add_article(
        None,
        source,
        services.ArticleInput(body="Anlage", attachments=[services.AttachmentInput("a.txt", b"a")]),
    )
    agent = AgentFactory(departments={source.department: ["full"], target.department: ["full"]})
    result = services.merge(agent, source, target)
    source.refresh_from_db()
    assert result == target
    assert source.state.kind == "merged"
    assert source.merged_into == target
    assert source.closed_at is not None
    assert not source.articles.exists()
    assert target.articles.count() == 4
    assert Link.objects.filter(source=source, target=target).exists()
    assert ("merged_into", "", "", target.number) in actions(source)
    assert ("merged_from", "", source.number, "3 articles") in actions(target)
    # The attachment is still reachable, now through the target case.
    attachment = attachment_article.attachments.get()
    assert selectors.get_attachment(agent, attachment.pk) == attachment


def test_merge_refuses_merged_and_self() -> None:
    a, b, c = TicketFactory(), TicketFactory(), TicketFactory()
    services.merge(None, a, b)
    with pytest.raises(InvalidTransition):
        services.merge(None, a, c)
    with pytest.raises(InvalidTransition):
        services.merge(None, c, a)
    with pytest.raises(InvalidInput):
        services.merge(None, c, c)


def test_merge_needs_change_on_both_cases() -> None:
    source, target = TicketFactory(), TicketFactory()
    agent = AgentFactory(departments={source.department: ["full"], target.department: ["read"]})
    from vorgang.core.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        services.merge(agent, source, target)
    source.refresh_from_db()
    assert source.state.kind == "new"
    assert source.articles.count() == 1


def test_history_records_every_change_with_actor_and_values() -> None:
    ticket = TicketFactory()
    agent = AgentFactory(departments={ticket.department: ["full"]})
    later = clock.now() + timedelta(days=2)
    services.change_state(agent, ticket, "pending reminder", pending_until=later)
    services.assign(agent, ticket, agent)
    services.set_priority(agent, ticket, "3 high")
    services.set_title(agent, ticket, "Neu")
    services.assign(agent, ticket, None)
    recorded = actions(ticket)
    assert ("updated", "state", "new", "pending reminder") in recorded
    assert ("updated", "pending_until", "", later.isoformat()) in recorded
    assert ("updated", "owner", "", agent.username) in recorded
    assert ("updated", "owner", agent.username, "") in recorded
    assert ("updated", "priority", "2 normal", "3 high") in recorded
    assert ("updated", "title", ticket.title, "Neu") in recorded
    assert set(
        History.objects.filter(ticket=ticket, seq__gt=2).values_list("actor", flat=True)
    ) == {agent.pk}
    assert list(history.verify()) == []


def test_unchanged_values_write_no_history() -> None:
    ticket = TicketFactory()
    before = len(actions(ticket))
    services.set_priority(None, ticket, "2 normal")
    services.assign(None, ticket, None)
    services.change_state(None, ticket, "new")
    assert len(actions(ticket)) == before


def test_history_is_append_only() -> None:
    ticket = TicketFactory()
    entry = History.objects.filter(ticket=ticket).first()
    assert entry is not None
    entry.new_value = "forged"
    with pytest.raises(TypeError):
        entry.save()
    with pytest.raises(TypeError):
        entry.delete()
    with pytest.raises(TypeError):
        History.objects.filter(ticket=ticket).update(new_value="x")
    with pytest.raises(TypeError):
        History.objects.filter(ticket=ticket).delete()


def _raw_sql(sql: str, params: list) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def test_audit_verify_finds_edited_removed_and_cut_off_entries() -> None:
    edited, removed, cut, intact = (TicketFactory(open=True) for _ in range(4))
    for t in (edited, removed, cut, intact):
        services.set_priority(None, t, "3 high")
    table = History._meta.db_table
    update = f"UPDATE {table} SET new_value = %s WHERE ticket_id = %s AND seq = 2"  # noqa: S608
    _raw_sql(update, ["x", edited.pk])
    _raw_sql(f"DELETE FROM {table} WHERE ticket_id = %s AND seq = 2", [removed.pk])  # noqa: S608
    last = History.objects.filter(ticket=cut).order_by("-seq").values_list("seq", flat=True)[0]
    _raw_sql(f"DELETE FROM {table} WHERE ticket_id = %s AND seq = %s", [cut.pk, last])  # noqa: S608
    breaks = {b.ticket_id: b for b in history.verify()}
    assert set(breaks) == {edited.pk, removed.pk, cut.pk}
    assert breaks[edited.pk].seq == 2
    assert "hash" in breaks[edited.pk].reason
    assert breaks[removed.pk].reason == "entry 2 is missing"
    assert breaks[cut.pk].reason == "newer entries are missing"


def test_events_arrive_only_after_commit(
    captured_events, django_capture_on_commit_callbacks
) -> None:
    department = DepartmentFactory()
    with django_capture_on_commit_callbacks(execute=True):
        ticket = services.create_ticket(
            None, department=department, title="x", article=services.ArticleInput(body="b")
        )
        assert captured_events == []
    names = [e.name for e in captured_events]
    assert names == [events.ARTICLE_CREATED, events.TICKET_CREATED]
    assert {e.ticket_id for e in captured_events} == {ticket.pk}


def test_the_first_article_comes_back_on_the_case_and_its_event_says_it_opens_it(
    captured_events, django_capture_on_commit_callbacks
) -> None:
    department = DepartmentFactory()
    with django_capture_on_commit_callbacks(execute=True):
        ticket = services.create_ticket(
            None, department=department, title="x", article=services.ArticleInput(body="b")
        )
    assert ticket.first_article == Article.objects.get(ticket=ticket)
    (opened,) = [e for e in captured_events if e.name == events.ARTICLE_CREATED]
    assert opened.changes["opens_case"] is True
    # A later article is a reply, and says nothing of the kind.
    with django_capture_on_commit_callbacks(execute=True):
        services.add_article(None, ticket, services.ArticleInput(body="noch was"))
    later = [e for e in captured_events if e.name == events.ARTICLE_CREATED][-1]
    assert "opens_case" not in later.changes
    assert services.create_ticket(None, department=department, title="y").first_article is None


def test_a_new_case_with_its_article_is_indexed_once_and_at_once(
    settings, django_capture_on_commit_callbacks, monkeypatch
) -> None:
    """Two events (the case, its first article), one re-index of the case, right after
    the commit even where later changes go to the worker (PostgreSQL)."""
    from django_tasks_db.models import DBTaskResult

    from vorgang.search import indexing

    settings.VORGANG_SEARCH_SYNC = False  # as on PostgreSQL: changes are a worker's task
    indexed: list[list[int]] = []
    original = indexing.index

    def counting(ticket_ids, docs=None):
        indexed.append(list(ticket_ids))
        return original(ticket_ids, docs)

    monkeypatch.setattr(indexing, "index", counting)
    department = DepartmentFactory()
    with django_capture_on_commit_callbacks(execute=True):
        ticket = services.create_ticket(
            None, department=department, title="x", article=services.ArticleInput(body="b")
        )
    reindex = DBTaskResult.objects.filter(task_path__startswith="vorgang.search.tasks.")
    assert indexed == [[ticket.pk]]
    assert not reindex.exists()
    # A reply is a task for the worker.
    with django_capture_on_commit_callbacks(execute=True):
        services.add_article(None, ticket, services.ArticleInput(body="Antwort"))
    assert [task.args_kwargs["args"] for task in reindex] == [[ticket.pk]]
    assert indexed == [[ticket.pk]]


def test_no_event_when_the_change_fails(
    captured_events, django_capture_on_commit_callbacks
) -> None:
    ticket = TicketFactory()
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(InvalidTransition):
        services.change_state(None, ticket, "merged")
    assert captured_events == []


def test_state_change_takes_few_queries() -> None:
    ticket = TicketFactory()
    with CaptureQueriesContext(connection) as ctx:
        services.change_state(None, ticket, "open")
    assert len(ctx.captured_queries) <= 12


def test_audit_verify_finds_a_case_whose_history_was_wiped() -> None:
    wiped = TicketFactory()
    _raw_sql(f"DELETE FROM {History._meta.db_table} WHERE ticket_id = %s", [wiped.pk])  # noqa: S608
    (found,) = history.verify()
    assert found.ticket_id == wiped.pk
    assert found.reason == "all entries are missing"
