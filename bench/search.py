"""Search at city scale on PostgreSQL: fill, reindex, query; and the naive way for comparison.

Creates a scratch database on the PostgreSQL server in DATABASE_URL (dropped afterwards
unless --keep), migrates it and fills it with COPY: --cases cases in --departments
departments, --articles articles per case of generated German text (citizen names with
umlauts, addresses, service vocabulary), half as many citizens as cases. Then:

1. ``vorgang search reindex --no-attachments`` in a child process: wall time and its peak
   RSS (the PostgreSQL server's own memory is not part of that figure);
2. --queries mixed queries (single words, two words, phrases, a name with a typo,
   filter-only, one word found in about 10% of the cases) through
   ``vorgang.search.engine.search`` as an agent with one department and as one with
   all: p50/p95/p99 per agent and per kind;
3. the first --naive-queries of the same queries the naive way (``icontains`` over
   title, article text and citizen name, what django-helpdesk does): p50/p95/p99 and
   the ratio to the search engine.

    DATABASE_URL=postgres://vorgang:vorgang@127.0.0.1:55432/vorgang \\
        .venv/bin/python bench/search.py --cases 20000
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from common import (
    SERVICES,
    MemorySampler,
    SentencePool,
    copy_rows,
    departments_and_two_agents,
    german_date,
    percentile,
    scratch_database,
    setup_django,
    vorgang_argv,
)

FIRST_NAMES = [
    "Jürgen",
    "Günther",
    "Björn",
    "Jörg",
    "Sören",
    "Lukas",
    "Leon",
    "Finn",
    "Jonas",
    "Paul",
    "Felix",
    "Maximilian",
    "Elias",
    "Noah",
    "Anna",
    "Emma",
    "Mia",
    "Hannah",
    "Sophie",
    "Lea",
    "Marie",
    "Lena",
    "Laura",
    "Jülide",
    "Özlem",
    "Ayşe",
    "Mehmet",
    "Ali",
    "Fatma",
    "Katharina",
    "Christina",
    "Sabine",
    "Petra",
    "Ursula",
    "Brigitte",
    "Renate",
    "Monika",
    "Karin",
    "Heike",
    "Andrea",
    "Sandra",
    "Stefan",
    "Thomas",
    "Michael",
    "Andreas",
    "Frank",
    "Uwe",
    "Dieter",
    "Klaus",
    "Wolfgang",
    "Hans",
    "Peter",
    "Gerd",
    "Rüdiger",
]
LAST_NAMES = [
    "Müller",
    "Schmidt",
    "Schneider",
    "Fischer",
    "Weber",
    "Meyer",
    "Wagner",
    "Becker",
    "Schulz",
    "Hoffmann",
    "Schäfer",
    "Koch",
    "Bauer",
    "Richter",
    "Klein",
    "Wolf",
    "Schröder",
    "Neumann",
    "Schwarz",
    "Zimmermann",
    "Braun",
    "Krüger",
    "Hofmann",
    "Hartmann",
    "Lange",
    "Schmitt",
    "Werner",
    "Schmitz",
    "Krause",
    "Meier",
    "Lehmann",
    "Schmid",
    "Schulze",
    "Maier",
    "Köhler",
    "Herrmann",
    "König",
    "Walter",
    "Mayer",
    "Huber",
    "Kaiser",
    "Fuchs",
    "Peters",
    "Lang",
    "Scholz",
    "Möller",
    "Weiß",
    "Jung",
    "Hahn",
    "Schubert",
    "Vogel",
    "Friedrich",
    "Keller",
    "Günther",
    "Frank",
    "Berger",
    "Winkler",
    "Roth",
    "Beck",
    "Lorenz",
    "Baumann",
    "Franke",
    "Albrecht",
    "Schuster",
    "Simon",
    "Ludwig",
    "Böhm",
    "Winter",
    "Kraus",
    "Martin",
    "Schumacher",
    "Krämer",
    "Vogt",
    "Stein",
    "Jäger",
    "Otto",
    "Sommer",
    "Groß",
    "Seidel",
    "Heinrich",
    "Brandt",
    "Haas",
    "Schreiber",
    "Graf",
    "Schulte",
    "Dietrich",
    "Ziegler",
    "Kuhn",
    "Kühn",
    "Pohl",
    "Engel",
    "Horn",
    "Busch",
    "Bergmann",
    "Thomas",
    "Voigt",
    "Sauer",
    "Arnold",
    "Wolff",
    "Pfeiffer",
    "Yılmaz",
    "Kaya",
    "Demir",
    "Şahin",
    "Çelik",
    "Nowak",
    "Kowalski",
    "Wiśniewski",
    "Popescu",
    "Ivanović",
    "Rossi",
    "Papadopoulos",
    "Nguyen",
]
STREETS = [
    "Hauptstraße",
    "Bahnhofstraße",
    "Schulstraße",
    "Gartenstraße",
    "Dorfstraße",
    "Bergstraße",
    "Lindenstraße",
    "Kirchstraße",
    "Waldstraße",
    "Ringstraße",
    "Mühlenweg",
    "Am",
    "Anger",
    "Marktplatz",
    "Goethestraße",
    "Schillerstraße",
    "Friedhofstraße",
    "Rosenweg",
    "Birkenweg",
    "Feldstraße",
    "Wiesenweg",
    "Jahnstraße",
    "Kastanienallee",
    "Uferstraße",
]
CITIES = [
    "Musterstadt",
    "Neustadt",
    "Altdorf",
    "Bergheim",
    "Talhausen",
    "Seedorf",
    "Oberau",
    "Unterbach",
]
NOUNS = [
    "Antrag",
    "Anträge",
    "Bescheid",
    "Unterlagen",
    "Nachweis",
    "Nachweise",
    "Frist",
    "Termin",
    "Gebühr",
    "Rechnung",
    "Widerspruch",
    "Vollmacht",
    "Kopie",
    "Original",
    "Formular",
    "Bestätigung",
    "Einkommensnachweis",
    "Mietvertrag",
    "Wohnungsgeberbestätigung",
    "Lichtbild",
    "Unterschrift",
    "Zahlung",
    "Erstattung",
    "Verlängerung",
    "Auskunft",
    "Rückfrage",
    "Nachreichung",
    "Bearbeitung",
    "Zustellung",
    "Anhörung",
    "Stellungnahme",
]
TEMPLATES = [
    "Sehr geehrte Damen und Herren, hiermit beantrage ich {service} für meinen Haushalt.",
    "Ich habe den {noun} für {service} bereits am {date} eingereicht.",
    "Bitte teilen Sie mir mit, welche {noun2} für den {noun} noch fehlen.",
    "Meine neue Anschrift lautet {street} {no}, {zip} {city}.",
    "Leider konnte ich den Termin am {date} nicht wahrnehmen, bitte um einen neuen {noun}.",
    "Anbei sende ich Ihnen die {noun2} als Kopie; das Original reiche ich nach.",
    "Wir haben Ihren {noun} zu {service} erhalten und prüfen ihn derzeit.",
    "Für die Bearbeitung benötigen wir noch einen {noun} sowie eine Kopie des {noun2}.",
    "Die Gebühr für {service} beträgt {fee} Euro und ist innerhalb von zwei Wochen fällig.",
    "Gegen den Bescheid vom {date} lege ich hiermit Widerspruch ein.",
    "Können Sie mir sagen, wie lange die Bearbeitung von {service} dauert?",
    "Vielen Dank für die schnelle Rückmeldung, die Unterlagen folgen per Post.",
    "Vermerk: {noun} geprüft, {noun2} vollständig, Weiterleitung an die Sachbearbeitung.",
]
COMPOUNDS = [s + n.lower() for s in SERVICES for n in NOUNS]  # "Wohngeldbescheid", ...
TEN_PERCENT_WORD = "Terminvereinbarung"
TEN_PERCENT_SENTENCE = "Für die Terminvereinbarung nutzen Sie bitte das Online-Portal."


# --- generated text ---------------------------------------------------------------------


class Text(SentencePool):
    """Citizens' messages with a long tail of rarer words."""

    def __init__(self, rng: random.Random, pool_size: int = 20_000) -> None:
        super().__init__(rng, pool_size)

    def sentence(self) -> str:
        rng = self.rng
        date = german_date(rng)
        return rng.choice(TEMPLATES).format(
            service=rng.choice(SERVICES),
            noun=rng.choice(NOUNS),
            noun2=rng.choice(NOUNS),
            date=date,
            street=rng.choice(STREETS),
            no=rng.randrange(1, 200),
            zip=rng.randrange(10000, 99999),
            city=rng.choice(CITIES),
            fee=rng.randrange(10, 300),
        )

    def body(self, name: str) -> str:
        parts = self.some(3, 7)
        # A rarer word (~0.5% of cases each), as real text has a long tail.
        parts.append(f"Betreff: {self.rng.choice(COMPOUNDS)}.")
        if self.rng.random() < 0.021:  # 1 - (1 - 0.021)^5 ≈ 10% of cases
            parts.append(TEN_PERCENT_SENTENCE)
        return self.signed(parts, name)


# --- bulk fill --------------------------------------------------------------------------


def fill(args: argparse.Namespace) -> dict[str, Any]:
    from django.db import connection, transaction

    from vorgang.accounts.models import Role, User
    from vorgang.tickets.models import Article, Priority, State, Ticket

    rng = random.Random(args.seed)  # noqa: S311 - test data
    tenant, departments, one, everyone = departments_and_two_agents(args.departments)
    states = {s.kind: s.pk for s in State.objects.all()}
    state_choices = [states["new"], states["open"], states["open"], states["closed"]]
    state_choices += [states["closed"], states["closed"], states.get("pending_reminder", 0)]
    state_choices = [s for s in state_choices if s]
    priority = Priority.objects.order_by("level").values_list("pk", flat=True)[1]
    text = Text(rng)
    n_cases = args.cases
    n_citizens = max(1, n_cases // 2)
    base_user = (User.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1
    now = datetime.now(UTC)
    started = time.monotonic()
    names: list[str] = []

    def citizens() -> Iterator[tuple[Any, ...]]:
        for i in range(n_citizens):
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            names.append(f"{first} {last}")
            local = f"{first}.{last}".lower().replace("ü", "ue").replace("ö", "oe")
            local = local.replace("ä", "ae").replace("ß", "ss")
            yield (
                base_user + i,
                f"citizen-{i}",
                first,
                last,
                f"{local}.{i}@example.org",
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
    created: list[datetime] = []

    # Cases are numbered in the order they come in: creation times rise with the id (and
    # the number), over two years, as in a real installation (random times would make
    # the index's date order unlike any real table's).
    ages = sorted((rng.randrange(2 * 365 * 86400) for _ in range(n_cases)), reverse=True)

    def tickets() -> Iterator[tuple[Any, ...]]:
        for i in range(n_cases):
            at = now - timedelta(seconds=ages[i])
            created.append(at)
            citizen = rng.randrange(n_citizens)
            yield (
                base_ticket + i,
                tenant.pk,
                str(1_000_000 + i),
                f"{rng.choice(SERVICES)}: {rng.choice(NOUNS)} {names[citizen].split()[-1]}",
                departments[rng.randrange(len(departments))].pk,
                rng.choice(state_choices),
                priority,
                base_user + citizen,
                secrets.token_hex(10),
                at,
                at,
            )

    ticket_cols = [
        "id", "tenant_id", "number", "title", "department_id", "state_id", "priority_id",
        "citizen_id", "reply_token", "created_at", "updated_at",
    ]  # fmt: skip
    with transaction.atomic():
        copy_rows(Ticket, ticket_cols, tickets())

    def articles() -> Iterator[tuple[Any, ...]]:
        for i in range(n_cases):
            name = names[(rng.randrange(n_citizens))]
            for j in range(args.articles):
                internal = j > 0 and rng.random() < 0.1
                yield (
                    base_ticket + i,
                    "note" if internal else "email",
                    "agent" if internal or j % 2 else "citizen",
                    internal,
                    rng.choice(SERVICES) if j == 0 else "",
                    text.body(name),
                    created[i] + timedelta(hours=j),
                )

    article_cols = ["ticket_id", "kind", "sender", "internal", "subject", "body", "created_at"]
    n_articles = 0
    batch = 200_000
    gen = articles()
    while True:
        with transaction.atomic():
            chunk = [row for _, row in zip(range(batch), gen, strict=False)]
            if not chunk:
                break
            n_articles += copy_rows(Article, article_cols, chunk)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return {
        "one": one,
        "all": everyone,
        "departments": departments,
        "names": names,
        "seconds": time.monotonic() - started,
        "articles": n_articles,
    }


# --- queries --------------------------------------------------------------------------------


def typo(name: str, rng: random.Random) -> str:
    """Swap two neighbouring letters inside the name (not the first one)."""
    if len(name) < 5:
        return name + name[-1]
    i = rng.randrange(1, len(name) - 2)
    return name[:i] + name[i + 1] + name[i] + name[i + 2 :]


def make_queries(n: int, rng: random.Random, data: dict[str, Any]) -> list[tuple[str, str]]:
    words = SERVICES + NOUNS
    dep = data["departments"][1].name
    kinds: list[tuple[str, float, Callable[[], str]]] = [
        ("one word", 0.35, lambda: rng.choice(words if rng.random() < 0.5 else COMPOUNDS)),
        ("two words", 0.20, lambda: f"{rng.choice(SERVICES)} {rng.choice(NOUNS)}"),
        ("phrase", 0.15, lambda: '"' + " ".join(rng.choice(Text.pool_sample).split()[2:5]) + '"'),
        ("name typo", 0.10, lambda: typo(rng.choice(data["names"]).split()[-1], rng)),
        (
            "filter only",
            0.10,
            lambda: rng.choice(
                ["state:open", f'department:"{dep}" state:new', "created:>=2026-06-01"]
            ),
        ),
        ("10% of cases", 0.10, lambda: TEN_PERCENT_WORD),
    ]
    out = []
    for kind, share, make in kinds:
        out += [(kind, make()) for _ in range(round(n * share))]
    rng.shuffle(out)
    return out[:n]


def percentiles(samples: list[float]) -> str:
    if not samples:
        return "-"
    p50, p95, p99 = (
        statistics.median(samples) * 1000,
        percentile(samples, 0.95) * 1000,
        percentile(samples, 0.99) * 1000,
    )
    return f"p50 {p50:7.1f}  p95 {p95:7.1f}  p99 {p99:7.1f} ms"


def run_engine(user: Any, queries: list[tuple[str, str]]) -> dict[str, list[float]]:
    from vorgang.search.engine import search

    times: dict[str, list[float]] = {}
    errors: dict[str, int] = {}
    for kind, q in queries:
        t0 = time.perf_counter()
        result = search(user, q)
        times.setdefault(kind, []).append(time.perf_counter() - t0)
        if result.error is not None:
            errors[result.error.code] = errors.get(result.error.code, 0) + 1
    if errors:
        print(f"  (answered with an error message: {errors})")
    return times


def naive(user: Any, q: str) -> int:
    """What django-helpdesk does: icontains over the text columns, joined."""
    from django.db.models import Q

    from vorgang.tickets import selectors

    words = [w.strip('"') for w in q.split() if ":" not in w] or [""]
    qs = selectors.visible_tickets(user)
    for word in words:
        qs = qs.filter(
            Q(title__icontains=word)
            | Q(articles__body__icontains=word)
            | Q(citizen__last_name__icontains=word)
            | Q(citizen__email__icontains=word)
        )
    qs = qs.distinct()
    total = qs.count()
    list(qs.order_by("-created_at").values_list("pk", flat=True)[:25])
    return total


def run_naive(user: Any, queries: list[tuple[str, str]]) -> list[float]:
    times = []
    for _kind, q in queries:
        t0 = time.perf_counter()
        naive(user, q)
        times.append(time.perf_counter() - t0)
    return times


def load(args: argparse.Namespace) -> dict[str, Any]:
    """The bench users, departments and citizen names of a kept database (--reuse)."""
    from vorgang.accounts.models import Department, Role, User

    citizens = User.objects.filter(role=Role.CITIZEN, username__startswith="citizen-")
    return {
        "one": User.objects.get(username="bench-one"),
        "all": User.objects.get(username="bench-all"),
        "departments": list(Department.objects.filter(name__startswith="Amt ").order_by("name")),
        "names": [
            f"{first} {last}"
            for first, last in citizens.order_by("pk").values_list("first_name", "last_name")
        ],
    }


def fill_and_reindex(args: argparse.Namespace) -> dict[str, Any]:
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    # Fill without indexing: events only come from the write path, COPY bypasses it.
    data = fill(args)
    print(
        f"filled {args.cases} cases, {data['articles']} articles, "
        f"{len(data['names'])} citizens in {data['seconds']:.1f} s"
    )
    connection.close()

    started = time.monotonic()
    # RSS sampled from /proc over the command and its worker processes: getrusage's
    # maxrss of a child would report this process's own peak (the fill), which a
    # fork inherits until exec.
    process = subprocess.Popen(  # noqa: S603 - our own command
        vorgang_argv("search", "reindex", "--no-attachments",
                     "--batch-size", str(args.batch_size), "--jobs", str(args.jobs)),
        env=os.environ.copy(),
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    sampler = MemorySampler(process.pid, interval=0.5)
    sampler.start()
    if process.wait() != 0:
        sys.exit(f"reindex failed (exit code {process.returncode})")
    sampler.stop()
    reindex_s = time.monotonic() - started
    peak_mib = sampler.peak_total / 1024
    largest_mib = max(sampler.peak_by_name.values(), default=0) / 1024
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE search_searchdocument")
        cursor.execute("ANALYZE search_nameword")
        cursor.execute("SELECT pg_total_relation_size('search_searchdocument')")
        size_mib = cursor.fetchone()[0] / 1024 / 1024
    print(
        f"reindex: {reindex_s:.1f} s ({args.cases / reindex_s:.0f} cases/s), "
        f"peak RSS of the reindex processes together {peak_mib:.0f} MiB (the largest kind "
        f"{largest_mib:.0f} MiB), index size {size_mib:.0f} MiB"
    )
    return data


def measure(args: argparse.Namespace, data: dict[str, Any]) -> None:
    rng = random.Random(args.seed + 1)  # noqa: S311 - test data
    Text.pool_sample = Text(rng, 500).pool  # type: ignore[attr-defined]
    queries = make_queries(args.queries, rng, data)
    print(f"load average before the queries: {os.getloadavg()[0]:.2f}")
    run_engine(data["all"], queries[:20])  # warm caches and connections
    for label, user in (("one department", data["one"]), ("all departments", data["all"])):
        times = run_engine(user, queries)
        flat = [t for ts in times.values() for t in ts]
        print(f"search as agent with {label:16}: {percentiles(flat)}  ({len(flat)} queries)")
        for kind, ts in times.items():
            print(f"    {kind:14} {percentiles(ts)}  ({len(ts)})")
    print(f"load average after the queries: {os.getloadavg()[0]:.2f}")
    if args.naive_queries:
        sample = queries[: args.naive_queries]
        for label, user in (("one department", data["one"]), ("all departments", data["all"])):
            engine_times = run_engine(user, sample)
            engine_flat = [t for ts in engine_times.values() for t in ts]
            naive_times = run_naive(user, sample)
            ratio = statistics.median(naive_times) / statistics.median(engine_flat)
            print(
                f"naive icontains, {label:16}: {percentiles(naive_times)}  "
                f"({len(sample)} queries); p50 naive / p50 search = {ratio:.0f}x"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--articles", type=int, default=5, help="articles per case")
    parser.add_argument("--departments", type=int, default=20)
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--naive-queries", type=int, default=50, help="0: skip the naive run")
    parser.add_argument("--batch-size", type=int, default=1000, help="reindex batch size")
    parser.add_argument("--jobs", type=int, default=2, help="reindex processes")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    parser.add_argument(
        "--reuse",
        metavar="DBNAME",
        help="query a database kept by an earlier --keep run (no fill, no reindex)",
    )
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        sys.exit("set DATABASE_URL to a PostgreSQL server (a scratch database is created there)")

    if args.reuse:
        os.environ["DATABASE_URL"] = urlsplit(url)._replace(path=f"/{args.reuse}").geturl()
        setup_django()
        from django.db import connection

        data = load(args)
        print(f"reusing {args.reuse}: {len(data['names'])} citizens")
        measure(args, data)
        connection.close()
        return
    with scratch_database(url, "vorgang_bench_search_", keep=args.keep) as scratch:
        os.environ["DATABASE_URL"] = scratch
        setup_django()
        from django.db import connection

        data = fill_and_reindex(args)
        measure(args, data)
        connection.close()


if __name__ == "__main__":
    main()
