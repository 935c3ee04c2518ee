"""``vorgang department create``."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from vorgang.accounts import services
from vorgang.accounts.models import Department, DepartmentAccess

pytestmark = pytest.mark.django_db


def create(*args: str) -> str:
    out = StringIO()
    call_command("department", "create", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def agents() -> None:
    for login in ("anna", "bert"):
        services.create_user(login, email=f"{login}@stadt.example", role="agent")
    services.create_user("cem", email="cem@example.org", role="citizen")


def test_prints_the_new_id_alone(agents: None) -> None:
    output = create("Bürgerbüro", "--address", "buergerbuero@stadt.example")

    department = Department.objects.get(name="Bürgerbüro")
    assert output == f"{department.pk}\n"
    assert department.email_address == "buergerbuero@stadt.example"


def test_grants_access_levels(agents: None) -> None:
    create(
        "Standesamt",
        "--address", "standesamt@stadt.example",
        "--agent", "anna:full",
        "--agent", "bert:read,overview",
    )  # fmt: skip

    granted = set(
        DepartmentAccess.objects.filter(department__name="Standesamt").values_list(
            "user__username", "level"
        )
    )
    assert granted == {("anna", "full"), ("bert", "read"), ("bert", "overview")}


@pytest.mark.parametrize(
    ("agent", "message"),
    [
        ("nobody:full", "No user 'nobody'"),
        ("anna:boss", "unknown access level 'boss'"),
        ("anna", "write LOGIN:LEVEL"),
        ("cem:read", "is a citizen"),
    ],
)
def test_a_bad_agent_creates_nothing(agents: None, agent: str, message: str) -> None:
    with pytest.raises(CommandError, match=message):
        create("Standesamt", "--address", "standesamt@stadt.example", "--agent", "anna:full",
               "--agent", agent)  # fmt: skip

    assert not Department.objects.filter(name="Standesamt").exists()
    assert not DepartmentAccess.objects.exists()


def test_a_taken_address_is_refused(agents: None) -> None:
    create("Bürgerbüro", "--address", "buergerbuero@stadt.example")

    with pytest.raises(CommandError, match="belongs to another department"):
        create("Bürgerservice", "--address", "Buergerbuero@stadt.example")
