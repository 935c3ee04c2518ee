"""The agent desk at city scale on PostgreSQL: overviews and the case view, server time.

Creates a scratch database on the PostgreSQL server in DATABASE_URL (dropped afterwards
unless --keep), migrates it and fills it with COPY: --cases cases in --departments
departments with a realistic mix (most cases closed; open, new and waiting ones;
owners from each department's agents; online services with expected processing times;
tags on a third of the cases), --articles-per-case articles per case on average
(German e-mails, web forms, replies and internal notes), and one open case with exactly
200 articles (attachments, internal notes, e-mails in both directions, HTML mails) and
its history. Then, as an agent with one department and as one with all of them, it
requests every overview page and that case's page through Django's test client (the
whole stack: middleware, session, queries, template) --requests times and prints
p50/p95 per page, the number of SQL statements per page (repeated statements of the
case view, a sign of N+1, are listed), and p50/p95 of each overview's COUNT query
alone. --explain prints EXPLAIN (ANALYZE, BUFFERS) of the slowest statements of each
page as the page runs them.

--keep keeps the filled database; --reuse NAME measures such a database again (no
fill: the agents and the big case are found by query), --only and --agents pick pages
and agents, so a kept database of a million cases can be measured on a quiet machine.

    DATABASE_URL=postgres://vorgang:vorgang@127.0.0.1:55432/vorgang \\
        .venv/bin/python bench/desk.py --cases 50000 --requests 50
    DATABASE_URL=... .venv/bin/python bench/desk.py --reuse vorgang_bench_desk_e6ec8512 \\
        --only "open,case view" --agents all --explain
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import re
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from array import array
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from common import (
    NOUNS,
    SERVICES,
    SentencePool,
    copy_rows,
    departments_and_two_agents,
    german_date,
    percentile,
    scratch_database,
    setup_django,
)

TARGET_MS = 150.0

# State kind -> share of all cases (a city's case base is mostly closed cases).
STATE_MIX = {
    "closed": 0.78,
    "merged": 0.01,
    "open": 0.08,
    "new": 0.04,
    "pending_reminder": 0.06,
    "pending_close": 0.03,
}
TAGS = [
    f"{w}"
    for w in ["dringend", "rückfrage", "eilig", "vip", "widerspruch", "nachreichung", "frist"]
]
TAGS += [f"thema-{i}" for i in range(40)]
FIRST_NAMES = ["Anna", "Jonas", "Fatma", "Lukas", "Marie", "Ömer", "Sophie", "Paul", "Lea", "Jan"]
LAST_NAMES = ["Müller", "Schmidt", "Yılmaz", "Becker", "Weber", "Nowak", "Hoffmann", "Koch"]
SENTENCES = [
    "Sehr geehrte Damen und Herren, hiermit beantrage ich {service} für meinen Haushalt.",
    "Ich habe den {noun} für {service} bereits am {date} eingereicht.",
    "Bitte teilen Sie mir mit, welche Unterlagen für den {noun} noch fehlen.",
    "Meine neue Anschrift lautet Lindenstraße {no}, {zip} Musterstadt.",
    "Leider konnte ich den Termin am {date} nicht wahrnehmen, bitte um einen neuen Termin.",
    "Anbei sende ich Ihnen den {noun} als Kopie; das Original reiche ich nach.",
    "Wir haben Ihren {noun} zu {service} erhalten und prüfen ihn derzeit.",
    "Für die Bearbeitung benötigen wir noch einen {noun} sowie eine Kopie des Mietvertrags.",
    "Die Gebühr für {service} beträgt {fee} Euro und ist innerhalb von zwei Wochen fällig.",
    "Gegen den Bescheid vom {date} lege ich hiermit Widerspruch ein.",
    "Können Sie mir sagen, wie lange die Bearbeitung von {service} dauert?",
    "Vielen Dank für die schnelle Rückmeldung, die Unterlagen folgen per Post.",
]
NOTES = [
    "Vermerk: {noun} geprüft, Unterlagen vollständig, Weiterleitung an die Sachbearbeitung.",
    "Rücksprache mit der Abteilungsleitung am {date}: {service} kann bewilligt werden.",
    "Telefonat mit der Antragstellerin, {noun} wird bis {date} nachgereicht.",
]


class Text(SentencePool):
    """Citizens' messages, agents' replies and internal notes."""

    def __init__(self, rng: random.Random, pool_size: int = 5_000) -> None:
        super().__init__(rng, pool_size)
        self.notes = [self._sentence(NOTES) for _ in range(pool_size // 10)]

    def sentence(self) -> str:
        return self._sentence(SENTENCES)

    def _sentence(self, templates: list[str]) -> str:
        rng = self.rng
        date = german_date(rng)
        return rng.choice(templates).format(
            service=rng.choice(SERVICES),
            noun=rng.choice(NOUNS),
            date=date,
            no=rng.randrange(1, 200),
            zip=rng.randrange(10000, 99999),
            fee=rng.randrange(10, 300),
        )

    def name(self) -> str:
        return f"{self.rng.choice(FIRST_NAMES)} {self.rng.choice(LAST_NAMES)}"

    def reply(self, quoted: str) -> str:
        """An agent's answer with the citizen's message quoted below, as mail clients do."""
        parts = self.some(2, 4)
        quote = "\n".join(f"> {line}" for line in quoted.splitlines())
        return self.signed(parts, f"Ihre Stadtverwaltung\n\n{quote}")

    def note(self) -> str:
        return self.rng.choice(self.notes)


def copy_through(table: str, columns: list[str], rows: Iterable[tuple[Any, ...]]) -> int:
    from django.db import connection

    count = 0
    statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
    with connection.cursor() as cursor, cursor.cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)
            count += 1
    return count


# --- fill ---------------------------------------------------------------------------------------


def fill(args: argparse.Namespace) -> dict[str, Any]:
    from django.db import connection, transaction

    from vorgang.accounts import access
    from vorgang.accounts.models import Role, User
    from vorgang.catalogue.models import OnlineService, ProcessingTime
    from vorgang.tickets.models import Priority, State, Tag, Ticket

    rng = random.Random(args.seed)  # noqa: S311 - test data
    tenant, departments, one, everyone = departments_and_two_agents(args.departments)
    # Each department has a few agents who own its cases; bench-one and bench-all own some.
    owners: dict[int, list[int]] = {}
    for dep in departments:
        staff = []
        for k in range(args.agents_per_department):
            agent = User.objects.create(
                username=f"agent-{dep.pk}-{k}", tenant=tenant, role=Role.AGENT
            )
            access.grant(agent, dep.pk, ["full"])
            staff.append(agent.pk)
        owners[dep.pk] = [*staff, everyone.pk]
    owners[departments[0].pk].append(one.pk)
    services = []
    for i, name in enumerate(SERVICES):
        computed = i % 5 == 0
        services.append(
            OnlineService.objects.create(
                tenant=tenant,
                slug=f"svc-{i}",
                name_de=name,
                department=departments[i % len(departments)],
                schema={"type": "object", "properties": {}},
                processing_time=ProcessingTime.COMPUTED if computed else ProcessingTime.FIXED,
                processing_days=rng.choice([5, 10, 14, 21, 30, 60]),
            )
        )
    tags = [Tag.objects.create(tenant=tenant, name=name) for name in TAGS]
    states: dict[str, list[int]] = {}
    for state in State.objects.all():
        states.setdefault(state.kind, []).append(state.pk)
    kinds = list(STATE_MIX)
    weights = [STATE_MIX[k] for k in kinds]
    priorities = list(Priority.objects.order_by("level").values_list("pk", flat=True))
    n_cases = args.cases
    n_citizens = max(1, n_cases // 3)
    base_user = (User.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1
    now = datetime.now(UTC)
    started = time.monotonic()

    def citizens() -> Iterator[tuple[Any, ...]]:
        for i in range(n_citizens):
            yield (
                base_user + i,
                f"citizen-{i}",
                "Bürger",
                f"Nummer {i}",
                f"buerger.{i}@example.org",
                "!",
                tenant.pk,
                Role.CITIZEN,
                now,
                True,
            )

    user_cols = [
        "id", "username", "first_name", "last_name", "email", "password", "tenant_id", "role",
        "date_joined", "is_active",
    ]  # fmt: skip
    with transaction.atomic():
        copy_rows(User, user_cols, citizens())
    base_ticket = (Ticket.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1
    ticket_cols = [
        "id", "tenant_id", "number", "title", "department_id", "state_id", "priority_id",
        "owner_id", "citizen_id", "service_id", "pending_until", "closed_at", "reply_token",
        "created_at", "updated_at",
    ]  # fmt: skip

    created_ts, citizen_of, author_of = array("d"), array("q"), array("q")

    def tickets() -> Iterator[tuple[Any, ...]]:
        for i in range(n_cases):
            kind = rng.choices(kinds, weights)[0]
            at = now - timedelta(seconds=rng.randrange(3 * 365 * 86400))
            if kind in ("new", "open", "pending_reminder", "pending_close"):
                # Work in progress is recent, mostly.
                at = now - timedelta(seconds=int(rng.expovariate(1 / (30 * 86400))))
            service = rng.choice(services) if rng.random() < 0.6 else None
            department = service.department if service else rng.choice(departments)
            owner = None
            if kind != "new" and rng.random() < 0.75:
                owner = rng.choice(owners[department.pk])
            pending = None
            if kind.startswith("pending"):
                pending = now + timedelta(hours=rng.randrange(-10 * 24, 20 * 24))
            closed = None
            updated = at
            if kind in ("closed", "merged"):
                closed = at + timedelta(hours=rng.randrange(1, 60 * 24))
                if closed > now:  # closed by now: some time between receipt and now
                    closed = at + (now - at) * rng.random()
                updated = closed
            level = rng.choices([0, 1, 2], [0.1, 0.8, 0.1])[0]
            citizen = base_user + rng.randrange(n_citizens)
            # Remembered for the articles (arrays: a million datetimes would take 50 MB).
            created_ts.append(at.timestamp())
            citizen_of.append(citizen)
            author_of.append(owner or rng.choice(owners[department.pk]))
            yield (
                base_ticket + i,
                tenant.pk,
                str(1_000_000 + i),
                f"{service.name_de if service else rng.choice(SERVICES)}: {rng.choice(NOUNS)}",
                department.pk,
                rng.choice(states[kind]),
                priorities[min(level, len(priorities) - 1)],
                owner,
                citizen,
                service.pk if service else None,
                pending,
                closed,
                secrets.token_hex(10),
                at,
                updated,
            )

    with transaction.atomic():
        copy_rows(Ticket, ticket_cols, tickets())
    text = Text(rng)
    n_articles = fill_articles(
        args, rng, text, base_ticket, base_user, created_ts, citizen_of, author_of
    )

    def tag_rows() -> Iterator[tuple[int, int]]:
        for i in range(n_cases):
            if rng.random() < 0.3:
                for tag in rng.sample(tags, rng.choice([1, 1, 2])):
                    yield (base_ticket + i, tag.pk)

    with transaction.atomic():
        n_tags = copy_through(
            Ticket.tags.through._meta.db_table, ["ticket_id", "tag_id"], tag_rows()
        )
    big = fill_big_case(rng, text, departments[0], one, base_user, services)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    return {
        "big": big,
        "articles": n_articles,
        "one": one,
        "all": everyone,
        "departments": departments,
        "seconds": time.monotonic() - started,
        "tags": n_tags,
    }


ARTICLE_COLS = [
    "ticket_id", "kind", "sender", "internal", "from_addr", "to", "subject", "body",
    "delivery_status", "created_by_id", "created_at",
]  # fmt: skip
CITY_ADDRESS = "poststelle@stadt.bench.example"


def fill_articles(
    args: argparse.Namespace,
    rng: random.Random,
    text: Text,
    base_ticket: int,
    first_citizen: int,
    created_ts: array[float],
    citizen_of: array[int],
    author_of: array[int],
) -> int:
    """1 to 2×mean−1 articles per case (mean --articles-per-case): the citizen's request,
    then e-mails both ways, agents' replies quoting the citizen, internal notes, calls."""
    from django.db import transaction

    from vorgang.tickets.models import Article

    mean = args.articles_per_case
    if mean <= 0:
        return 0

    def rows() -> Iterator[tuple[Any, ...]]:
        for i, ts in enumerate(created_ts):
            ticket = base_ticket + i
            at = datetime.fromtimestamp(ts, UTC)
            email = f"buerger.{citizen_of[i] - first_citizen}@example.org"
            name = text.name()
            subject = f"{rng.choice(SERVICES)}: {rng.choice(NOUNS)}"
            last = text.body(name)
            yield (ticket, rng.choice(["web", "email"]), "citizen", False, email, "",
                   subject, last, "", citizen_of[i], at)  # fmt: skip
            for _ in range(rng.randint(1, 2 * mean - 1) - 1):
                at += timedelta(minutes=rng.randrange(5, 3 * 24 * 60))
                roll = rng.random()
                if roll < 0.15:
                    yield (ticket, "note", "agent", True, "", "", "", text.note(), "",
                           author_of[i], at)  # fmt: skip
                elif roll < 0.2:
                    yield (ticket, "phone", "agent", False, "", "", "", text.note(), "",
                           author_of[i], at)  # fmt: skip
                elif roll < 0.6:
                    body = text.reply(last) if rng.random() < 0.5 else text.body("Ihr Bürgeramt")
                    yield (ticket, "email", "agent", False, CITY_ADDRESS, email,
                           f"Re: {subject}", body, "sent", author_of[i], at)  # fmt: skip
                else:
                    last = text.body(name)
                    yield (ticket, "email", "citizen", False, email, CITY_ADDRESS,
                           f"Re: {subject}", last, "", citizen_of[i], at)  # fmt: skip

    count = 0
    gen = rows()
    while True:  # commits every 200,000 rows: progress survives, WAL stays bounded
        with transaction.atomic():
            chunk = [row for _, row in zip(range(200_000), gen, strict=False)]
            if not chunk:
                return count
            count += copy_rows(Article, ARTICLE_COLS, chunk)


# A small PDF that all attachments of the big case share (deduplicated as in production).
SHARED_PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
BIG_CASE_ARTICLES = 200


def fill_big_case(
    rng: random.Random,
    text: Text,
    department: Any,
    agent: Any,
    citizen_id: int,
    services: list[Any],
) -> Any:
    """One open case with exactly 200 articles, attachments and a history, for the case view.

    Its history is a valid hash chain (cheap for 400 entries); the million other cases
    have no history entries at all, so ``vorgang audit verify`` would report them.
    """
    from vorgang.accounts.models import User
    from vorgang.tickets.history import GENESIS
    from vorgang.tickets.models import (
        Article,
        Attachment,
        Blob,
        History,
        Link,
        Priority,
        State,
        Tag,
        Ticket,
    )

    citizen = User.objects.get(pk=citizen_id)
    email = citizen.email
    service = next(s for s in services if s.department_id == department.pk)
    opened = datetime.now(UTC) - timedelta(days=150)
    ticket = Ticket.objects.create(
        tenant_id=department.tenant_id,
        number="9000200",
        title=f"{service.name_de}: Antrag mit langer Vorgeschichte",
        department=department,
        state=State.objects.filter(kind="open").earliest("pk"),
        priority=Priority.objects.latest("level"),
        owner=agent,
        citizen=citizen,
        service=service,
        data={
            "antragsteller": {
                "vorname": "Anna",
                "nachname": "Müller",
                "geburtsdatum": "1980-04-01",
            },
            "anschrift": "Lindenstraße 12, 12345 Musterstadt",
            "haushaltsgroesse": 3,
            "einkommen_monatlich": 2150,
            "einverstaendnis": True,
        },
        reply_token=secrets.token_hex(10),
    )
    ticket.tags.add(*Tag.objects.filter(name__in=["dringend", "widerspruch", "thema-3"]))
    for other in Ticket.objects.filter(department=department).exclude(pk=ticket.pk)[:3]:
        Link.objects.create(source=ticket, target=other)
    blob = Blob.store(SHARED_PDF)

    history: list[tuple[int | None, datetime, str, str, str, str]] = [
        (citizen.pk, opened, "created", "", "", ticket.number)
    ]
    base = (Article.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1
    articles, attachments = [], []
    at = opened
    last = text.body("Anna Müller")
    kinds = ["citizen", "reply", "note", "citizen", "reply", "phone", "html", "reply"]
    for j in range(BIG_CASE_ARTICLES):
        pk = base + j
        at += timedelta(minutes=rng.randrange(30, 24 * 60))
        kind = "web" if j == 0 else kinds[j % len(kinds)]
        if kind in ("web", "citizen", "html"):
            last = text.body("Anna Müller")
            body, content_type = last, "text/plain"
            if kind == "html":
                paragraphs = "".join(f"<p>{line}</p>" for line in last.splitlines() if line)
                body, content_type = f"<html><body>{paragraphs}</body></html>", "text/html"
            article_kind = "web" if kind == "web" else "email"
            row = (ticket.pk, article_kind, "citizen", False, email, CITY_ADDRESS,
                   f"Re: {ticket.title}", body, "", citizen.pk, at, content_type)  # fmt: skip
            if rng.random() < 0.4:  # about 30 articles bring one to three files
                for k in range(rng.randint(1, 3)):
                    attachments.append(
                        (pk, blob.pk, f"Nachweis-{j}-{k + 1}.pdf", "application/pdf")
                    )
        elif kind == "reply":
            row = (ticket.pk, "email", "agent", False, CITY_ADDRESS, email,
                   f"Re: {ticket.title}", text.reply(last), "sent", agent.pk, at,
                   "text/plain")  # fmt: skip
        else:
            row = (ticket.pk, kind, "agent", kind == "note", "", "", "", text.note(), "",
                   agent.pk, at, "text/plain")  # fmt: skip
        articles.append((pk, *row))
        actor = citizen.pk if row[2] == "citizen" else agent.pk
        history.append((actor, at, "article_added", "", "", f"{row[1]}:{pk}"))
        if row[8] == "sent":
            history.append(
                (None, at + timedelta(seconds=20), "delivery", f"article:{pk}", "", "sent")
            )
        if j % 25 == 10:  # now and then the case waits for the citizen and comes back
            history.append((agent.pk, at, "updated", "state", "open", "pending reminder"))
            history.append(
                (None, at + timedelta(hours=2), "updated", "state", "pending reminder", "open")
            )
        if j == 3:
            history.append((agent.pk, at, "updated", "owner", "", agent.username))
            history.append((agent.pk, at, "tag_added", "tags", "", "dringend"))
    copy_rows(Article, ["id", *ARTICLE_COLS, "content_type"], articles)
    copy_rows(Attachment, ["article_id", "blob_id", "filename", "content_type"], attachments)

    entries, prev = [], GENESIS
    for seq, (actor_id, when, action, field, old, new) in enumerate(history, start=1):
        entry = History(
            ticket_id=ticket.pk, seq=seq, actor_id=actor_id, created_at=when, action=action,
            field=field, old_value=old, new_value=new, prev_hash=prev,
        )  # fmt: skip
        prev = entry.hash = entry.compute_hash()
        entries.append(
            (ticket.pk, seq, actor_id, when, action, field, old, new, entry.prev_hash, prev)
        )
    copy_rows(
        History,
        ["ticket_id", "seq", "actor_id", "created_at", "action", "field", "old_value",
         "new_value", "prev_hash", "hash"],
        entries,
    )  # fmt: skip
    Ticket.objects.filter(pk=ticket.pk).update(created_at=opened, updated_at=at, history_head=prev)
    return ticket


# --- measure ------------------------------------------------------------------------------------


def ms(samples: list[float]) -> tuple[float, float]:
    return statistics.median(samples) * 1000, percentile(samples, 0.95) * 1000


def pages(data: dict[str, Any]) -> list[tuple[str, str]]:
    from vorgang.desk.overviews import BUILT_IN

    dep = data["departments"][0].pk
    urls = [(d.slug, f"/overviews/{d.slug}/") for d in BUILT_IN]
    urls += [
        ("open, one department", f"/overviews/open/?department={dep}"),
        ("open, by priority", "/overviews/open/?sort=-priority"),
        ("open, page 5", "/overviews/open/?page=5"),
        ("open, tag filter", "/overviews/open/?tag=dringend"),
        ("custom: old high", "/overviews/old-high/"),
        # The counts come from the cache while no case changes (desk.overviews.counts):
        # this one finds none there, as after every change of a case.
        (UNCACHED, "/overviews/open/"),
    ]
    return urls


UNCACHED = "open, counts not cached"


def measure_pages(user: Any, urls: list[tuple[str, str]], n: int) -> list[tuple[str, Any]]:
    from django.db import connection
    from django.test import Client

    client = Client()
    client.force_login(user)
    rows = []
    for label, url in urls:
        response = client.get(url)  # warm
        assert response.status_code == 200, (url, response.status_code)
        statements: list[str] = []

        def count(execute: Any, sql: str, *args: Any, seen: list[str] = statements) -> Any:
            seen.append(sql)
            return execute(sql, *args)

        with counts_not_cached(label == UNCACHED), connection.execute_wrapper(count):
            client.get(url)
        times = []
        with counts_not_cached(label == UNCACHED):
            for _ in range(n):
                t0 = time.perf_counter()
                client.get(url)
                times.append(time.perf_counter() - t0)
        rows.append((label, (*ms(times), len(statements))))
    return rows


@contextlib.contextmanager
def counts_not_cached(active: bool) -> Iterator[None]:
    """The overviews' cache without the counts (desk.overviews.counts and cached_count):
    other entries (the expected processing times, kept five minutes) stay."""
    from vorgang.desk import overviews

    real = overviews.cache

    class WithoutCounts:
        def get(self, key: str, default: Any = None) -> Any:
            return default if key.startswith("desk:counts:") else real.get(key, default)

        def set(self, *args: Any, **kwargs: Any) -> None:
            real.set(*args, **kwargs)

    if active:
        overviews.cache = WithoutCounts()  # type: ignore[assignment]
    try:
        yield
    finally:
        overviews.cache = real


def measure_case(user: Any, ticket: Any, n: int) -> dict[str, Any]:
    """p50/p95 of the case page, its SQL statements, statements run more than twice, and
    p50/p95 of the view without its template (queries and Python: the rest is rendering)."""
    from django.db import connection
    from django.test import Client, RequestFactory
    from django.test.utils import CaptureQueriesContext

    from vorgang.desk.views import cases
    from vorgang.tickets import selectors

    client = Client()
    client.force_login(user)
    url = f"/cases/{ticket.pk}/"
    response = client.get(url)  # warm
    assert response.status_code == 200, (url, response.status_code)
    with CaptureQueriesContext(connection) as captured:
        client.get(url)
    # Copied now: the capture reads the connection's log, which the next request clears.
    statements = [query["sql"] for query in captured.captured_queries]
    shapes: dict[str, int] = {}
    for sql in statements:
        shape = re.sub(r"\b\d+\b|'[^']*'", "?", sql)  # same statement, other values
        shapes[shape] = shapes.get(shape, 0) + 1
    repeated = [f"{count}× {shape[:160]}" for shape, count in shapes.items() if count > 2]
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        client.get(url)
        times.append(time.perf_counter() - t0)
    factory, unrendered = RequestFactory(), []
    for _ in range(n):
        request = factory.get(url)
        request.user = user
        t0 = time.perf_counter()
        cases.render_case(request, user, selectors.get_ticket(user, ticket.pk))
        unrendered.append(time.perf_counter() - t0)
    return {
        "ms": ms(times),
        "view_ms": ms(unrendered),
        "queries": len(statements),
        "repeated": repeated,
        "kb": len(response.content) / 1024,
    }


def measure_counts(user: Any, n: int) -> list[tuple[str, tuple[float, float, int]]]:
    from vorgang.desk import overviews

    rows = []
    for definition in overviews.definitions(user):
        scope = overviews.Scope.of(user)
        count = definition.cases(scope).count()
        times = []
        for _ in range(n):
            t0 = time.perf_counter()
            definition.cases(scope).count()
            times.append(time.perf_counter() - t0)
        rows.append((definition.slug, (*ms(times), count)))
    return rows


def explain(user: Any, urls: list[tuple[str, str]], slowest: int = 3) -> None:
    """EXPLAIN (ANALYZE, BUFFERS) of the ``slowest`` statements of each page, as the page
    runs them (counts, lists, deep pages and sorts alike), from one captured request."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    client.force_login(user)
    for label, url in urls:
        client.get(url)  # warm
        with CaptureQueriesContext(connection) as captured:
            client.get(url)
        timed = sorted(
            ((float(q["time"]), q["sql"]) for q in captured.captured_queries), reverse=True
        )
        print(
            f"  {label} ({url}): {len(timed)} statements, {sum(t for t, _ in timed) * 1000:.1f} ms"
        )
        for seconds, sql in timed[:slowest]:
            if not sql.lstrip().upper().startswith("SELECT"):
                continue
            with connection.cursor() as cursor:
                # The statement as it ran (psycopg interpolated the parameters).
                cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) {sql}")
                plan = "\n".join(f"        {row[0]}" for row in cursor.fetchall())
            print(f"    {seconds * 1000:.1f} ms: {sql[:300]}\n{plan}")


def add_custom_overview(data: dict[str, Any]) -> None:
    from vorgang.desk.models import Overview
    from vorgang.tickets.models import Priority

    if Overview.objects.filter(slug="old-high").exists():  # a kept database has it
        return
    overview = Overview.objects.create(
        tenant_id=data["all"].tenant_id,
        slug="old-high",
        name_de="Alt und dringend",
        older_than_days=14,
        order="age",
    )
    overview.priorities.set(Priority.objects.filter(level__gte=3))


def kept(args: argparse.Namespace) -> dict[str, Any]:
    """What the measurements need, found by query in a database filled by an earlier run."""
    from vorgang.accounts.models import Department, User
    from vorgang.tickets.models import Article, Ticket

    one, everyone = User.objects.get(username="bench-one"), User.objects.get(username="bench-all")
    departments = list(
        Department.objects.filter(tenant_id=one.tenant_id, name__startswith="Amt ").order_by("pk")
    )
    args.cases = Ticket.objects.count() - 1  # the big case is not one of --cases
    args.departments = len(departments)
    return {
        "big": Ticket.objects.get(number="9000200"),
        "articles": Article.objects.count(),
        "one": one,
        "all": everyone,
        "departments": departments,
        "seconds": 0.0,
        "tags": Ticket.tags.through.objects.count(),
    }


def selected(label: str, only: list[str]) -> bool:
    return not only or any(part in label for part in only)


def load() -> str:
    return " ".join(f"{n:.2f}" for n in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--departments", type=int, default=20)
    parser.add_argument("--agents-per-department", type=int, default=5)
    parser.add_argument(
        "--articles-per-case", type=int, default=5, help="mean; each case gets 1 to 2×mean−1"
    )
    parser.add_argument("--requests", type=int, default=200, help="requests per page")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--explain", action="store_true", help="print the query plans")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    parser.add_argument(
        "--reuse",
        metavar="DBNAME",
        help="measure a database kept by an earlier run (--keep) on the same server: no fill",
    )
    parser.add_argument(
        "--only",
        default="",
        help="comma-separated parts of labels to measure (pages, 'case view', 'counts')",
    )
    parser.add_argument(
        "--agents", choices=["one", "all", "both"], default="both", help="which agent(s)"
    )
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        sys.exit("set DATABASE_URL to a PostgreSQL server (a scratch database is created there)")

    # Blob files (the big case's shared attachment) go to a throw-away data directory.
    data_dir = tempfile.mkdtemp(prefix="vorgang-bench-desk-")
    os.environ["VORGANG_DATA_DIR"] = data_dir
    with contextlib.ExitStack() as stack:
        stack.callback(shutil.rmtree, data_dir, ignore_errors=True)
        if args.reuse:
            run(args, urlsplit(url)._replace(path=f"/{args.reuse}").geturl())
            return
        scratch = stack.enter_context(
            scratch_database(url, "vorgang_bench_desk_", keep=args.keep, close_django=True)
        )
        if args.keep:
            print(f"filling {urlsplit(scratch).path.lstrip('/')} (kept afterwards)")
        run(args, scratch)


def run(args: argparse.Namespace, database: str) -> None:
    os.environ["DATABASE_URL"] = database
    setup_django()
    from django.core.management import call_command

    if args.reuse:
        data = kept(args)
        print(
            f"reusing {args.reuse}: {args.cases} cases ({data['tags']} tags, "
            f"{data['articles']} articles) in {args.departments} departments"
        )
    else:
        call_command("migrate", verbosity=0)
        data = fill(args)
        print(
            f"filled {args.cases} cases ({data['tags']} tags, {data['articles']} articles "
            f"on them) in {args.departments} departments in {data['seconds']:.1f} s"
        )
    add_custom_overview(data)
    only = [part.strip() for part in args.only.split(",") if part.strip()]
    urls = [(label, url) for label, url in pages(data) if selected(label, only)]
    agents = [("one department", data["one"]), ("all departments", data["all"])]
    if args.agents != "both":
        agents = agents[:1] if args.agents == "one" else agents[1:]
    worst = 0.0
    for label, user in agents:
        print(f"\nagent with {label}: server time per page ({args.requests} requests each)")
        print(f"  load average before: {load()}")
        print(f"  {'page':24} {'p50 ms':>8} {'p95 ms':>8} {'queries':>8}")
        for name, (p50, p95, queries) in measure_pages(user, urls, args.requests):
            worst = max(worst, p95)
            print(f"  {name:24} {p50:8.1f} {p95:8.1f} {queries:8d}")
        if selected("case view", only):
            case = measure_case(user, data["big"], args.requests)
            worst = max(worst, case["ms"][1])
            p50, p95 = case["ms"]
            print(f"  {'case view (200 articles)':24} {p50:8.1f} {p95:8.1f} {case['queries']:8d}")
            p50, p95 = case["view_ms"]
            kb = case["kb"]
            print(f"  {'  without its template':24} {p50:8.1f} {p95:8.1f}  ({kb:.0f} KB HTML)")
            for line in case["repeated"]:
                print(f"    repeated: {line}")
        if selected("counts", only):
            print(f"  count query per overview ({args.requests} runs each)")
            print(f"  {'overview':24} {'p50 ms':>8} {'p95 ms':>8} {'cases':>8}")
            for name, (p50, p95, count) in measure_counts(user, args.requests):
                print(f"  {name:24} {p50:8.1f} {p95:8.1f} {count:8d}")
        print(f"  load average after: {load()}")
        if args.explain:
            explain(user, urls)
    verdict = "met" if worst < TARGET_MS else "NOT met"
    print(f"\nworst page p95 {worst:.1f} ms: target p95 < {TARGET_MS:.0f} ms {verdict}")


if __name__ == "__main__":
    main()
