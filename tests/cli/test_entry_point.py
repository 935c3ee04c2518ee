"""The ``vorgang`` entry point: overview, hyphenated names, Django's commands."""

from __future__ import annotations

from vorgang import cli

from .helpers import run_vorgang


def test_hyphenated_names_map_to_modules() -> None:
    assert cli.command_name("api-token") == "api_token"
    assert cli.command_name("migrate") == "migrate"
    assert cli.command_name("--help") == "--help"


def test_no_arguments_lists_our_commands(cli_env: dict[str, str]) -> None:
    result = run_vorgang(cli_env)

    assert result.returncode == 0, result.stderr
    for command in ["serve", "demo", "user", "department", "api-token", "stats", "audit"]:
        assert f"\n  {command} " in result.stdout
    assert "migrate" in result.stdout
    assert "api_token" not in result.stdout


def test_runs_hyphenated_command(cli_env: dict[str, str]) -> None:
    result = run_vorgang(cli_env, "api-token", "--help")

    assert result.returncode == 0, result.stderr
    assert "--expires-days" in result.stdout


def test_runs_django_commands(cli_env: dict[str, str]) -> None:
    result = run_vorgang(cli_env, "check")

    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_commands_on_an_unmigrated_database_say_what_to_do(cli_env: dict[str, str]) -> None:
    result = run_vorgang(cli_env, "stats")

    assert result.returncode == 1
    assert "Run `vorgang migrate` first." in result.stderr
    assert "Traceback" not in result.stderr
