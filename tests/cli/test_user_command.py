"""``vorgang user create``."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from vorgang.accounts.models import Role, User

from .helpers import run_vorgang

pytestmark = pytest.mark.django_db


def create(*args: str) -> str:
    out = StringIO()
    call_command("user", "create", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_creates_an_agent_with_password_and_names() -> None:
    output = create(
        "anna",
        "--email", "anna.schmidt@stadt.example",
        "--role", "agent",
        "--password", "lang-genug-1",
        "--first-name", "Anna",
        "--last-name", "Schmidt",
    )  # fmt: skip

    user = User.objects.get(username="anna")
    assert (user.email, user.role, user.get_full_name()) == (
        "anna.schmidt@stadt.example",
        Role.AGENT,
        "Anna Schmidt",
    )
    assert user.check_password("lang-genug-1")
    assert f"id {user.pk}" in output


def test_admin_role_reaches_the_configuration() -> None:
    create("root", "--email", "root@stadt.example", "--role", "admin", "--password", "x" * 12)

    user = User.objects.get(username="root")
    assert user.is_admin and user.is_staff


def test_password_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VORGANG_PASSWORD", "aus-der-umgebung")

    create("bert", "--email", "bert@stadt.example", "--role", "agent")

    assert User.objects.get(username="bert").check_password("aus-der-umgebung")


def test_without_password_the_user_cannot_log_in(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VORGANG_PASSWORD", raising=False)

    create("carla", "--email", "carla@stadt.example", "--role", "citizen", "--no-input")

    assert not User.objects.get(username="carla").has_usable_password()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--email", "not-an-address", "--role", "agent"], "not a valid e-mail address"),
        (["--email", "d@stadt.example", "--role", "boss"], "Unknown role 'boss'"),
        (
            ["--email", "d@stadt.example", "--role", "agent", "--password", "kurz"],
            "Password refused",
        ),
        (["--email", "d@stadt.example", "--role", "agent", "--tenant", "nix"], "No tenant"),
    ],
)
def test_bad_input_is_refused_and_nothing_written(args: list[str], message: str) -> None:
    with pytest.raises(CommandError, match=message):
        create("dora", *args)

    assert not User.objects.filter(username="dora").exists()


def test_duplicate_login_is_refused() -> None:
    create("emil", "--email", "emil@stadt.example", "--role", "agent", "--password", "x" * 10)

    with pytest.raises(CommandError, match="exists already"):
        create("emil", "--email", "other@stadt.example", "--role", "agent")

    assert User.objects.get(username="emil").email == "emil@stadt.example"


def test_errors_exit_non_zero_with_a_message(migrated_env: dict[str, str]) -> None:
    args = ["user", "create", "fritz", "--email", "fritz@stadt.example", "--role", "agent"]
    first = run_vorgang(migrated_env, *args, "--password", "geheim-genug")
    second = run_vorgang(migrated_env, *args, "--password", "geheim-genug")

    assert first.returncode == 0, first.stderr
    assert second.returncode == 1
    assert "CommandError" in second.stderr and "'fritz'" in second.stderr
    assert "Traceback" not in second.stderr
