"""``vorgang audit verify``."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from vorgang.accounts.services import create_department
from vorgang.tickets import services
from vorgang.tickets.models import History, Ticket

from .helpers import run_vorgang

pytestmark = pytest.mark.django_db


@pytest.fixture
def cases() -> list[Ticket]:
    department = create_department("Bürgerbüro", address="buergerbuero@stadt.example")
    made = []
    for title in ("Anmeldung", "Personalausweis"):
        ticket = services.create_ticket(None, department=department, title=title)
        services.tag(None, ticket, "Melderecht")
        services.change_state(None, ticket, "open")
        made.append(ticket)
    return made


def verify() -> str:
    out = StringIO()
    call_command("audit", "verify", stdout=out)
    return out.getvalue()


def broken() -> str:
    out = StringIO()
    with pytest.raises(CommandError) as failure:
        call_command("audit", "verify", stdout=out)
    assert failure.value.returncode == 1
    return out.getvalue()


def test_intact_histories_verify(cases: list[Ticket]) -> None:
    assert verify() == f"OK: {History.objects.count()} entries in 2 cases verified\n"


def test_an_edited_entry_is_found(cases: list[Ticket]) -> None:
    entry = History.objects.filter(ticket=cases[0]).order_by("seq")[1]
    with connection.cursor() as cursor:
        cursor.execute("UPDATE tickets_history SET new_value = %s WHERE id = %s", ["X", entry.pk])

    assert broken() == (
        f"case {cases[0].number}: entry {entry.seq} (id {entry.pk}): "
        "content does not match its hash\n"
    )


def test_a_deleted_newest_entry_is_found(cases: list[Ticket]) -> None:
    newest = History.objects.filter(ticket=cases[1]).order_by("-seq").first()
    assert newest is not None
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM tickets_history WHERE id = %s", [newest.pk])

    output = broken()

    assert output.startswith(f"case {cases[1].number}: entry {newest.seq} (id ")
    assert output.endswith("newer entries are missing\n")
    assert cases[0].number not in output


def test_exit_codes_of_the_real_command(migrated_env: dict[str, str]) -> None:
    assert run_vorgang(migrated_env, "demo").returncode == 0
    ok = run_vorgang(migrated_env, "audit", "verify")
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith("OK: ") and "in 40 cases verified" in ok.stdout

    tamper = (
        "from django.db import connection\n"
        "with connection.cursor() as c:\n"
        "    c.execute(\"UPDATE tickets_history SET old_value = 'x' WHERE seq = 2\")\n"
    )
    assert run_vorgang(migrated_env, "shell", "-c", tamper).returncode == 0
    failed = run_vorgang(migrated_env, "audit", "verify")

    assert failed.returncode == 1
    lines = failed.stdout.splitlines()
    assert len(lines) == 40
    assert all(": entry 2 (id " in line for line in lines)
    assert "40 case histories do not verify" in failed.stderr
