"""Fixtures of the case page tests: a department with an online service and a case."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.test import Client

from vorgang.accounts import services as accounts
from vorgang.accounts.models import Department, Role, Tenant, User
from vorgang.catalogue.models import OnlineService
from vorgang.portal import links
from vorgang.tickets import services
from vorgang.tickets.models import Ticket

PASSWORD = "ein-langes-passwort-42"
ROOT = Path(__file__).resolve().parents[2]
LOCALE_DIR = ROOT / "src" / "vorgang" / "locale"
# The German texts of the case page until they are merged into the project catalogue;
# where both have a string, the project's wins.
PORTAL_PO = Path(__file__).with_name("portal_de.po")
MB = 1024 * 1024
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32

DOCUMENTS = [
    {
        "key": "passport",
        "name_de": "Reisepass oder Personalausweis",
        "name_en": "Passport or identity card",
        "accept": ["application/pdf", ".jpg", ".png"],
        "max_bytes": 5 * MB,
        "required": True,
    },
    {
        "key": "eye_test",
        "name_de": "Sehtest",
        "name_en": "Eye test",
        "accept": ["application/pdf"],
        "max_bytes": 1 * MB,
    },
    {
        "key": "photo",
        "name_de": "Passfoto",
        "name_en": "Passport photo",
        "accept": [".jpg", ".png"],
    },
]


@pytest.fixture(scope="session")
def compiled_locale(tmp_path_factory: pytest.TempPathFactory) -> Path:
    msgfmt, msgcat = shutil.which("msgfmt"), shutil.which("msgcat")
    if msgfmt is None or msgcat is None:
        pytest.fail("GNU gettext (msgfmt, msgcat) is needed: apt-get install gettext")
    target = tmp_path_factory.mktemp("locale")
    for po in LOCALE_DIR.glob("*/LC_MESSAGES/*.po"):
        mo = target / po.relative_to(LOCALE_DIR).with_suffix(".mo")
        mo.parent.mkdir(parents=True, exist_ok=True)
        source = po
        if po.parent.parent.name == "de" and PORTAL_PO.exists():
            source = mo.with_suffix(".po")
            subprocess.run(
                [msgcat, "--use-first", "-o", str(source), str(po), str(PORTAL_PO)], check=True
            )
        subprocess.run([msgfmt, "--check-format", "-o", str(mo), str(source)], check=True)
    return target


@pytest.fixture(autouse=True)
def _portal_settings(settings: Any, compiled_locale: Path) -> None:
    settings.LOCALE_PATHS = [compiled_locale]
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    settings.BASE_URL = "http://testserver"
    settings.LANGUAGE_CODE = "de"


def make_agent(login: str, department: Department, *levels: str, **extra: Any) -> User:
    user = accounts.create_user(
        login,
        email=f"{login}@stadt.example",
        role=extra.pop("role", Role.AGENT),
        password=PASSWORD,
        first_name=extra.pop("first_name", login.capitalize()),
        last_name=extra.pop("last_name", "Muster"),
        tenant=department.tenant,
    )
    for level in levels:
        accounts.grant_access(department, login, level)
    return user


def make_service(department: Department, **extra: Any) -> OnlineService:
    values: dict[str, Any] = {
        "tenant": department.tenant,
        "slug": "fuehrerschein",
        "name_de": "Führerscheinantrag",
        "name_en": "Driving licence application",
        "department": department,
        "schema": {"type": "object"},
        "documents": DOCUMENTS,
        "processing_days": 21,
    }
    values.update(extra)
    return OnlineService.objects.create(**values)


def make_case(
    department: Department,
    citizen: User,
    *,
    service: OnlineService | None = None,
    owner: User | None = None,
    title: str = "Antrag auf einen Führerschein",
    body: str = "Hiermit beantrage ich einen Führerschein der Klasse B.",
) -> Ticket:
    return services.create_ticket(
        None,
        department=department,
        title=title,
        citizen=citizen,
        service=service,
        owner=owner,
        article=services.ArticleInput(body=body, kind="web", sender="citizen"),
    )


def path_of(url: str) -> str:
    return urlsplit(url).path


@dataclass
class World:
    tenant: Tenant
    department: Department
    agent: User
    reader: User
    citizen: User
    service: OnlineService
    ticket: Ticket

    def link(self, ticket: Ticket | None = None) -> str:
        """A fresh case page path (``/c/<token>/``) for the case."""
        return path_of(links.issue_link(ticket or self.ticket))


@pytest.fixture
def world(tenant: Tenant) -> World:
    department = accounts.create_department("Führerscheinstelle", address="fs@stadt.example")
    agent = make_agent("anna", department, "full", first_name="Anna", last_name="Agentin")
    reader = make_agent("rudi", department, "read", first_name="Rudi", last_name="Leser")
    citizen = accounts.find_or_create_citizen(
        tenant, "max.mustermann@example.org", first_name="Max", last_name="Mustermann"
    )
    service = make_service(department)
    ticket = make_case(department, citizen, service=service, owner=agent)
    return World(tenant, department, agent, reader, citizen, service, ticket)


@pytest.fixture
def agent_client(client: Client, world: World) -> Client:
    client.force_login(world.agent)
    return client
