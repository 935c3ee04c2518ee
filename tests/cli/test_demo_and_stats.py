"""``vorgang demo`` and ``vorgang stats``."""

from __future__ import annotations

import json
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from vorgang.accounts.models import DepartmentAccess, Organisation, Role, Tenant, User
from vorgang.channels.models import InboundMessage, InboundStatus
from vorgang.core import clock, demo
from vorgang.tickets import services
from vorgang.tickets.models import Article, Attachment, Link, StateKind, Ticket

pytestmark = pytest.mark.django_db

ALL_STATES = ["new", "open", "pending reminder", "pending close", "closed", "merged"]


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def stats(*args: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(run("stats", "--json", *args))
    return data


def test_stats_of_an_empty_system_lists_every_state_and_role() -> None:
    assert stats() == {
        "tickets": dict.fromkeys(ALL_STATES, 0),
        "articles": 0,
        "attachments": 0,
        "users": {"admin": 0, "agent": 0, "citizen": 0, "integration": 0},
        "inbound": dict.fromkeys(InboundStatus.values, 0),
    }


def test_stats_count_the_inbound_journal_by_status() -> None:
    from vorgang.accounts.services import create_department
    from vorgang.tickets.models import Blob

    other = Tenant.objects.create(name="Nachbargemeinde", slug="nachbar")
    mine = create_department("Bürgerbüro", address="buergerbuero@stadt.example")
    theirs = create_department("Rathaus", address="rathaus@nachbar.example", tenant=other)
    blob = Blob.store(b"Subject: Hallo\r\n\r\nText\r\n")
    for department, status in [
        (mine, "processed"),
        (mine, "processed"),
        (mine, "failed"),
        (theirs, "failed"),
        (None, "failed"),  # no known recipient: no tenant
    ]:
        InboundMessage.objects.create(
            channel="lmtp",
            tenant=department.tenant if department else None,
            department=department,
            raw=blob,
            status=status,
        )

    every = stats()["inbound"]
    assert (every["processed"], every["failed"]) == (2, 3)
    assert set(every) >= {"processed", "failed"}
    assert sum(every.values()) == 5
    one = stats("--tenant", "default")["inbound"]
    assert (one["processed"], one["failed"], sum(one.values())) == (2, 1, 3)
    assert "Inbound messages" in run("stats")


def test_demo_loads_a_city_administration() -> None:
    output = run("demo")

    assert [d.name for d in demo_departments()] == [
        "Bürgerbüro",
        "Führerscheinstelle",
        "Standesamt",
    ]
    assert User.objects.filter(role=Role.AGENT).count() == 6
    assert User.objects.filter(role=Role.ADMIN).count() == 1
    assert User.objects.filter(role=Role.CITIZEN).count() == 25
    assert Ticket.objects.count() == 40
    kinds = set(Ticket.objects.values_list("state__kind", flat=True))
    assert kinds == set(StateKind.values)
    reminders = Ticket.objects.filter(state__kind=StateKind.PENDING_REMINDER)
    assert reminders.filter(pending_until__gt=clock.now()).exists()
    assert reminders.filter(pending_until__lt=clock.now()).exists()
    merged = Ticket.objects.filter(state__kind=StateKind.MERGED)
    assert all(t.merged_into_id and not t.articles.exists() for t in merged)
    assert Attachment.objects.filter(content_type="application/pdf").exists()
    pdf = Attachment.objects.filter(content_type="application/pdf").first()
    assert pdf is not None and pdf.blob.read().startswith(b"%PDF-1.4")
    assert Article.objects.filter(kind="email", sender="citizen").exists()
    assert Article.objects.filter(kind="email", sender="agent", delivery_status="sent").exists()
    assert Article.objects.filter(kind="note", internal=True).exists()
    assert Ticket.objects.exclude(data={}).count() >= 3
    assert Ticket.objects.filter(tags__isnull=False).distinct().count() >= 20
    assert Link.objects.exclude(source__state__kind=StateKind.MERGED).exists()
    assert Organisation.objects.count() == 2
    citizens = User.objects.filter(role=Role.CITIZEN)
    assert citizens.exclude(external_id="").exists()
    assert citizens.exclude(phone="").exists()
    assert len(set(citizens.values_list("trust_level", flat=True))) == 4
    assert set(User.objects.values_list("language", flat=True)) == {"de"}
    # Every staff account with its password in the printed table.
    for spec in demo.STAFF:
        assert any(
            line.startswith(spec.login) and line.endswith(demo.PASSWORD)
            for line in output.splitlines()
        )
    assert User.objects.get(username="petra.wagner").check_password(demo.PASSWORD)


def demo_departments() -> list[Any]:
    from vorgang.accounts.models import Department

    return list(Department.objects.filter(email_address__in=demo.DEMO_ADDRESSES))


def test_demo_access_levels_differ_and_the_admin_sees_no_case() -> None:
    run("demo")

    def levels(login: str) -> set[tuple[str, str]]:
        return set(
            DepartmentAccess.objects.filter(user__username=login).values_list(
                "department__name", "level"
            )
        )

    assert levels("admin") == set()
    assert levels("petra.wagner") == {
        ("Bürgerbüro", "full"),
        ("Führerscheinstelle", "full"),
        ("Standesamt", "full"),
    }
    assert levels("michael.hoffmann") == {("Bürgerbüro", "full"), ("Führerscheinstelle", "create")}
    assert levels("thomas.schulz") == {
        ("Führerscheinstelle", "read"),
        ("Führerscheinstelle", "overview"),
        ("Führerscheinstelle", "change"),
    }
    assert ("Bürgerbüro", "full") not in levels("sabine.krueger")


def test_demo_twice_adds_nothing() -> None:
    run("demo")
    first = stats()

    output = run("demo")

    assert stats() == first
    assert "nothing added" in output


def test_demo_completes_what_is_missing() -> None:
    """A run that stopped half-way is completed by the next one, case by case."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(demo, "CASES", demo.CASES[:15])
        run("demo")
    assert Ticket.objects.count() == 15

    run("demo")

    assert Ticket.objects.count() == 40
    assert stats()["users"] == {"admin": 1, "agent": 6, "citizen": 25, "integration": 0}


def test_stats_after_demo() -> None:
    run("demo")

    data = stats()

    assert data["tickets"] == {
        "new": 10,
        "open": 10,
        "pending reminder": 6,
        "pending close": 3,
        "closed": 8,
        "merged": 3,
    }
    assert data["articles"] == Article.objects.count() > 40
    assert data["attachments"] == Attachment.objects.count() >= 1
    assert data["users"] == {"admin": 1, "agent": 6, "citizen": 25, "integration": 0}
    assert data["inbound"] == dict.fromkeys(InboundStatus.values, 0)
    table = run("stats")
    assert "Cases" in table and "pending reminder" in table and "40" in table


def test_stats_for_one_tenant() -> None:
    run("demo")
    other = Tenant.objects.create(name="Nachbargemeinde", slug="nachbar")
    from vorgang.accounts.services import create_department

    department = create_department("Rathaus", address="rathaus@nachbar.example", tenant=other)
    services.create_ticket(None, department=department, title="Anfrage")

    assert stats("--tenant", "nachbar")["tickets"]["new"] == 1
    assert stats("--tenant", "nachbar")["users"] == {
        "admin": 0,
        "agent": 0,
        "citizen": 0,
        "integration": 0,
    }
    assert stats("--tenant", "default")["tickets"]["new"] == 10
    assert stats()["tickets"]["new"] == 11
    with pytest.raises(CommandError, match="No tenant 'nix'"):
        stats("--tenant", "nix")


def test_demo_is_not_mixed_into_real_cases() -> None:
    from vorgang.accounts.services import create_department

    department = create_department("Ordnungsamt", address="ordnungsamt@stadt.example")
    services.create_ticket(None, department=department, title="Echter Vorgang")

    err = StringIO()
    call_command("demo", stdout=StringIO(), stderr=err)
    assert "Demo data not loaded" in err.getvalue()
    assert Ticket.objects.count() == 1

    run("demo", "--force")
    assert Ticket.objects.count() == 41
