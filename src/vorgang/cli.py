"""The ``vorgang`` command: Django's management commands with Vorgang's settings.

``vorgang migrate``, ``vorgang serve``, ``vorgang demo``, ``vorgang api-token LOGIN`` ...
Hyphenated command names map to the module names (``api-token`` runs ``api_token``).
Also runnable as ``python -m vorgang.cli``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

SETTINGS_MODULE = "vorgang.conf.settings"

# Vorgang's own commands, in the order the overview lists them.
COMMANDS = [
    "serve",
    "demo",
    "user",
    "department",
    "api_token",
    "stats",
    "audit",
    "web",
    "worker",
    "lmtp",
    "mail",
    "imap_poll",
    "scheduler",
    "services",
    "search",
]
# Django's commands that an operator needs most.
DJANGO_COMMANDS = ["migrate", "shell", "dbshell", "changepassword", "check"]


def command_name(name: str) -> str:
    """``api-token`` -> ``api_token``; options (``--help``) stay as they are."""
    return name if name.startswith("-") else name.replace("-", "_")


def display_name(name: str) -> str:
    return name.replace("_", "-")


def overview() -> str:
    """The text ``vorgang`` prints without arguments."""
    lines = [
        "Usage: vorgang <command> [options]",
        "",
        "Vorgang: case and ticket system for citizen services.",
        "",
        "Commands:",
    ]
    helps = _help_texts([*COMMANDS, *DJANGO_COMMANDS])
    width = max(len(display_name(n)) for n in [*COMMANDS, *DJANGO_COMMANDS]) + 2
    for name in COMMANDS:
        lines.append(f"  {display_name(name):<{width}}{helps.get(name, '')}")
    lines += ["", "Django commands used most:"]
    for name in DJANGO_COMMANDS:
        lines.append(f"  {display_name(name):<{width}}{helps.get(name, '')}")
    lines += [
        "",
        "First start:  vorgang migrate && vorgang demo && vorgang serve",
        "'vorgang <command> --help' describes a command; 'vorgang help' lists all commands.",
    ]
    return "\n".join(lines)


def _help_texts(names: Sequence[str]) -> dict[str, str]:
    """The first line of each command's help, or nothing if Django cannot load."""
    try:
        import django
        from django.core.management import get_commands, load_command_class

        django.setup()
        apps = get_commands()
        texts = {}
        for name in names:
            if name in apps:
                command = load_command_class(apps[name], name)
                first_line = str(command.help).strip().split("\n")[0]
                texts[name] = first_line.split(". ")[0].rstrip(".") if first_line else ""
        return texts
    except Exception:  # the overview must show even when the settings are broken
        return {}


def main(argv: Sequence[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", SETTINGS_MODULE)
    args = list(sys.argv[1:] if argv is None else argv)
    if not args:
        print(overview())
        return
    args[0] = command_name(args[0])
    if args[0] == "help" and len(args) > 1:
        args[1] = command_name(args[1])

    from django.core.management import execute_from_command_line

    execute_from_command_line(["vorgang", *args])


if __name__ == "__main__":
    main()
