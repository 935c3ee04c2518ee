"""Fixtures of the desk tests: data built through the services, the one write path."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client

from vorgang.accounts import services as accounts
from vorgang.accounts.models import Department, Role, Tenant, User
from vorgang.tickets import services
from vorgang.tickets.models import Ticket

PASSWORD = "ein-langes-passwort-42"
LOCALE_DIR = Path(__file__).resolve().parents[2] / "src" / "vorgang" / "locale"


@pytest.fixture(scope="session")
def compiled_locale(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The committed .po files compiled into a temporary dir (what `make install` builds)."""
    msgfmt = shutil.which("msgfmt")
    if msgfmt is None:
        pytest.fail("msgfmt (GNU gettext) is needed for the desk tests: apt-get install gettext")
    target = tmp_path_factory.mktemp("locale")
    for po in LOCALE_DIR.glob("*/LC_MESSAGES/*.po"):
        mo = target / po.relative_to(LOCALE_DIR).with_suffix(".mo")
        mo.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([msgfmt, "--check-format", "-o", str(mo), str(po)], check=True)
    return target


@pytest.fixture(autouse=True)
def _translations(settings: Any, compiled_locale: Path) -> None:
    settings.LOCALE_PATHS = [compiled_locale]


@pytest.fixture(autouse=True)
def _no_cached_counts() -> None:
    """The overviews keep their counts in the cache under a change stamp (desk.overviews);
    SQLite rolls ids back between tests, so a stamp may repeat: each test starts empty."""
    cache.clear()


def make_agent(login: str, department: Department | None, *levels: str, **extra: str) -> User:
    user = accounts.create_user(
        login,
        email=f"{login}@stadt.example",
        role=extra.pop("role", Role.AGENT),
        password=PASSWORD,
        first_name=extra.pop("first_name", login.capitalize()),
        last_name=extra.pop("last_name", "Muster"),
        tenant=department.tenant if department is not None else None,
    )
    if department is not None:
        for level in levels:
            accounts.grant_access(department, login, level)
    return user


def make_ticket(
    department: Department, title: str = "Antrag auf Anwohnerparkausweis", **kw: Any
) -> Ticket:
    citizen = kw.pop("citizen", None) or accounts.find_or_create_citizen(
        department.tenant, "max.mustermann@example.org", first_name="Max", last_name="Mustermann"
    )
    article = kw.pop(
        "article",
        services.ArticleInput(
            body="Sehr geehrte Damen und Herren,\nanbei mein Antrag.\n<b>Gruß</b>",
            kind="email",
            sender="citizen",
            subject="Mein Antrag",
            from_addr="max.mustermann@example.org",
            to=department.email_address,
        ),
    )
    return services.create_ticket(
        None, department=department, title=title, citizen=citizen, article=article, **kw
    )


@dataclass
class World:
    tenant: Tenant
    department: Department
    other_department: Department
    agent: User
    reader: User
    ticket: Ticket
    other_ticket: Ticket


@pytest.fixture
def world(tenant: Tenant) -> World:
    department = accounts.create_department("Bürgerbüro", address="buergerbuero@stadt.example")
    other = accounts.create_department("Ordnungsamt", address="ordnungsamt@stadt.example")
    agent = make_agent("anna", department, "full", first_name="Anna", last_name="Agentin")
    reader = make_agent("rudi", department, "read", first_name="Rudi", last_name="Leser")
    ticket = make_ticket(department, data={"Kennzeichen": "B-XY 123", "Zone": 4})
    other_ticket = make_ticket(other, title="Lärmbeschwerde Hauptstraße")
    return World(tenant, department, other, agent, reader, ticket, other_ticket)


@pytest.fixture
def agent_client(client: Client, world: World) -> Client:
    client.force_login(world.agent)
    return client


@pytest.fixture
def reader_client(client: Client, world: World) -> Client:
    client.force_login(world.reader)
    return client
