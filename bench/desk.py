"""The agent desk's overviews at city scale on PostgreSQL: server time per page and per count.

Creates a scratch database on the PostgreSQL server in DATABASE_URL (dropped afterwards
unless --keep), migrates it and fills it with COPY: --cases cases in --departments
departments with a realistic mix (most cases closed; open, new and waiting ones;
owners from each department's agents; online services with expected processing times;
tags on a third of the cases). Then, as an agent with one department and as one with
all of them, it requests every overview page through Django's test client (the whole
stack: middleware, session, queries, template) --requests times and prints p50/p95 per
page, the number of SQL statements per page, and p50/p95 of each overview's COUNT
query alone. --explain prints EXPLAIN (ANALYZE, BUFFERS) of each list and count query.

    DATABASE_URL=postgres://vorgang:vorgang@127.0.0.1:55432/vorgang \\
        .venv/bin/python bench/desk.py --cases 50000 --requests 50
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import secrets
import statistics
import sys
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

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
SERVICES = [
    "Wohngeld",
    "Personalausweis",
    "Reisepass",
    "Meldebescheinigung",
    "Führerschein",
    "Gewerbeanmeldung",
    "Baugenehmigung",
    "Hundesteuer",
    "Elterngeld",
    "Kitaplatz",
    "Parkausweis",
    "Eheschließung",
    "Geburtsurkunde",
    "Sterbeurkunde",
    "Einbürgerung",
    "Aufenthaltstitel",
    "Wohnberechtigungsschein",
    "Sperrmüll",
    "Führungszeugnis",
    "Fischereischein",
    "Anwohnerparken",
    "Grundsteuer",
    "Übersetzung",
    "Beglaubigung",
    "Bauvoranfrage",
    "Sondernutzung",
    "Straßenreinigung",
    "Abfallgebühren",
    "Gewerbeabmeldung",
    "Namensänderung",
]
NOUNS = [
    "Antrag",
    "Unterlagen",
    "Nachweis",
    "Widerspruch",
    "Rückfrage",
    "Termin",
    "Gebühr",
    "Bescheid",
]
TAGS = [
    f"{w}"
    for w in ["dringend", "rückfrage", "eilig", "vip", "widerspruch", "nachreichung", "frist"]
]
TAGS += [f"thema-{i}" for i in range(40)]


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vorgang.conf.settings")
    import django

    django.setup()


@contextlib.contextmanager
def scratch_database(url: str, keep: bool) -> Iterator[str]:
    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    name = f"vorgang_bench_desk_{secrets.token_hex(4)}"
    admin = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield parts._replace(path=f"/{name}").geturl()
    finally:
        if keep:
            print(f"kept database {name}")
        else:
            from django.db import connections

            connections.close_all()
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                )


def copy_rows(model: Any, columns: list[str], rows: Iterable[tuple[Any, ...]]) -> int:
    """COPY rows into ``model``'s table; columns not given get the field's default."""
    from django.db import connection
    from psycopg.types.json import Jsonb

    extra_cols, extra = [], []
    for f in model._meta.concrete_fields:
        if f.column in columns or f.column == "id":
            continue
        value = f.get_default() if f.has_default() else (None if f.null else "")
        extra_cols.append(f.column)
        extra.append(Jsonb(value) if isinstance(value, dict | list) else value)
    extra_t = tuple(extra)
    names = ", ".join(f'"{c}"' for c in [*columns, *extra_cols])
    count = 0
    with connection.cursor() as cursor:
        raw = cursor.cursor  # the psycopg cursor under Django's wrapper
        with raw.copy(f"COPY {model._meta.db_table} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row((*row, *extra_t))
                count += 1
    if "id" in columns:
        with connection.cursor() as cursor:
            table = model._meta.db_table
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                f"(SELECT coalesce(max(id), 1) FROM {table}))"  # our own table names
            )
    return count


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
    from vorgang.accounts.models import Department, Role, Tenant, User
    from vorgang.catalogue.models import OnlineService, ProcessingTime
    from vorgang.tickets.models import Priority, State, Tag, Ticket

    rng = random.Random(args.seed)  # noqa: S311 - test data
    tenant = Tenant.default()
    departments = [
        Department.objects.create(
            tenant=tenant, name=f"Amt {i:02d}", email_address=f"amt{i}@bench.example"
        )
        for i in range(args.departments)
    ]
    one = User.objects.create(username="bench-one", tenant=tenant, role=Role.AGENT)
    everyone = User.objects.create(username="bench-all", tenant=tenant, role=Role.AGENT)
    access.grant(one, departments[0].pk, ["full"])
    for dep in departments:
        access.grant(everyone, dep.pk, ["full"])
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
                closed = min(now, at + timedelta(hours=rng.randrange(1, 60 * 24)))
                updated = closed
            level = rng.choices([0, 1, 2], [0.1, 0.8, 0.1])[0]
            yield (
                base_ticket + i,
                tenant.pk,
                str(1_000_000 + i),
                f"{service.name_de if service else rng.choice(SERVICES)}: {rng.choice(NOUNS)}",
                department.pk,
                rng.choice(states[kind]),
                priorities[min(level, len(priorities) - 1)],
                owner,
                base_user + rng.randrange(n_citizens),
                service.pk if service else None,
                pending,
                closed,
                secrets.token_hex(10),
                at,
                updated,
            )

    with transaction.atomic():
        copy_rows(Ticket, ticket_cols, tickets())

    def tag_rows() -> Iterator[tuple[int, int]]:
        for i in range(n_cases):
            if rng.random() < 0.3:
                for tag in rng.sample(tags, rng.choice([1, 1, 2])):
                    yield (base_ticket + i, tag.pk)

    with transaction.atomic():
        n_tags = copy_through(
            Ticket.tags.through._meta.db_table, ["ticket_id", "tag_id"], tag_rows()
        )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    return {
        "one": one,
        "all": everyone,
        "departments": departments,
        "seconds": time.monotonic() - started,
        "tags": n_tags,
    }


# --- measure ------------------------------------------------------------------------------------


def ms(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return statistics.median(ordered) * 1000, p95 * 1000


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
    ]
    return urls


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

        with connection.execute_wrapper(count):
            client.get(url)
        times = []
        for _ in range(n):
            t0 = time.perf_counter()
            client.get(url)
            times.append(time.perf_counter() - t0)
        rows.append((label, (*ms(times), len(statements))))
    return rows


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


def explain(user: Any) -> None:
    from django.db import connection

    from vorgang.desk import overviews

    scope = overviews.Scope.of(user)
    for definition in overviews.definitions(user):
        qs = definition.cases(scope)
        listing = overviews.with_rows(overviews.ordered(qs, definition.order), definition.columns)
        for label, query in (("count", qs.order_by()), ("list", listing[:25])):
            sql, params = query.query.sql_with_params()
            if label == "count":
                sql = f"SELECT count(*) FROM ({sql}) AS c"  # noqa: S608 - Django's own SQL
            with connection.cursor() as cursor:
                cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) {sql}", params)
                plan = "\n".join(f"      {row[0]}" for row in cursor.fetchall())
            print(f"  {definition.slug} {label}:\n{plan}")


def add_custom_overview(data: dict[str, Any]) -> None:
    from vorgang.desk.models import Overview
    from vorgang.tickets.models import Priority

    overview = Overview.objects.create(
        tenant_id=data["all"].tenant_id,
        slug="old-high",
        name_de="Alt und dringend",
        older_than_days=14,
        order="age",
    )
    overview.priorities.set(Priority.objects.filter(level__gte=3))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--departments", type=int, default=20)
    parser.add_argument("--agents-per-department", type=int, default=5)
    parser.add_argument("--requests", type=int, default=200, help="requests per page")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--explain", action="store_true", help="print the query plans")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        sys.exit("set DATABASE_URL to a PostgreSQL server (a scratch database is created there)")

    with scratch_database(url, args.keep) as scratch:
        os.environ["DATABASE_URL"] = scratch
        _setup_django()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        data = fill(args)
        print(
            f"filled {args.cases} cases ({data['tags']} tags on them) in "
            f"{args.departments} departments in {data['seconds']:.1f} s"
        )
        add_custom_overview(data)
        urls = pages(data)
        worst = 0.0
        for label, user in (("one department", data["one"]), ("all departments", data["all"])):
            print(f"\nagent with {label}: server time per page ({args.requests} requests each)")
            print(f"  {'page':24} {'p50 ms':>8} {'p95 ms':>8} {'queries':>8}")
            for name, (p50, p95, queries) in measure_pages(user, urls, args.requests):
                worst = max(worst, p95)
                print(f"  {name:24} {p50:8.1f} {p95:8.1f} {queries:8d}")
            print(f"  count query per overview ({args.requests} runs each)")
            print(f"  {'overview':24} {'p50 ms':>8} {'p95 ms':>8} {'cases':>8}")
            for name, (p50, p95, count) in measure_counts(user, args.requests):
                print(f"  {name:24} {p50:8.1f} {p95:8.1f} {count:8d}")
            if args.explain:
                explain(user)
        verdict = "met" if worst < TARGET_MS else "NOT met"
        print(f"\nworst page p95 {worst:.1f} ms: target p95 < {TARGET_MS:.0f} ms {verdict}")


if __name__ == "__main__":
    main()
