"""``vorgang api-token LOGIN``: issue a REST API token and print it (shown only once)."""

from __future__ import annotations

from argparse import ArgumentParser
from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from vorgang.accounts.models import ApiToken, User
from vorgang.core import clock
from vorgang.core.management.utils import require_migrated


class Command(BaseCommand):
    help = "Issue an API token for a user and print it (it is shown only once)."

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        # Usage lines say `vorgang api-token`, the name people type.
        return super().create_parser(prog_name, "api-token", **kwargs)

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("login", help="the user the token acts as")
        parser.add_argument("--name", default="default", help="a name to tell tokens apart")
        parser.add_argument(
            "--expires-days", type=int, default=None, help="valid for N days (default: no expiry)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        require_migrated()
        user = User.objects.filter(username=options["login"]).first()
        if user is None:
            raise CommandError(f"No user with the login {options['login']!r}.")
        if not user.is_active:
            raise CommandError(f"The user {user.username!r} is deactivated.")
        name = (options["name"] or "").strip()
        if not name or len(name) > 100:
            raise CommandError("--name must be 1 to 100 characters.")
        expires_at = None
        if options["expires_days"] is not None:
            if options["expires_days"] < 1:
                raise CommandError("--expires-days must be at least 1.")
            expires_at = clock.now() + timedelta(days=options["expires_days"])
        self.stdout.write(ApiToken.issue(user, name=name, expires_at=expires_at))
