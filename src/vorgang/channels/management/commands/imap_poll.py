"""``vorgang imap-poll [--mailbox ID] [--all]``: fetch new mail from the IMAP mailboxes."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from vorgang.channels import imap
from vorgang.channels.models import Mailbox
from vorgang.core.management.utils import require_migrated


class Command(BaseCommand):
    help = (
        "Poll the IMAP mailboxes into the inbound journal: those whose interval has passed, "
        "every active one (--all) or the given ones (--mailbox). Exit 1 if any failed."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--mailbox",
            metavar="ID",
            type=int,
            action="append",
            help="poll this mailbox now, whether due or not (repeatable)",
        )
        parser.add_argument(
            "--all",
            action="store_true",
            help="poll every active mailbox now, whether its interval has passed or not",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        require_migrated()
        ids: list[int] | None = options["mailbox"]
        if ids and options["all"]:
            raise CommandError("Give either --mailbox or --all, not both.")
        if ids:
            mailboxes = {m.pk: m for m in Mailbox.objects.filter(pk__in=ids)}
            missing = [str(pk) for pk in ids if pk not in mailboxes]
            if missing:
                raise CommandError(f"No IMAP mailbox with id {', '.join(missing)}.")
            results = [imap.poll_mailbox(mailboxes[pk]) for pk in dict.fromkeys(ids)]
        else:
            results = imap.poll_due_mailboxes(ignore_interval=options["all"])
            if not results:
                self.stdout.write("No mailbox is due." if not options["all"] else "No mailbox.")
        for result in results:
            self.stdout.write(self.summary(result))
            for error in result.errors:
                self.stdout.write(f"  error: {error}")
            for notice in result.notices:
                self.stdout.write(f"  note: {notice}")
        failed = [r for r in results if not r.ok]
        if failed:
            raise CommandError(f"{len(failed)} of {len(results)} mailbox(es) failed.", returncode=1)

    @staticmethod
    def summary(result: imap.PollResult) -> str:
        line = (
            f"mailbox {result.mailbox_id} ({result.name}): fetched {result.fetched}, "
            f"stored {result.stored}, errors {len(result.errors)}"
        )
        if result.already_stored:
            line += f", already in the journal {result.already_stored}"
        if result.too_big:
            line += f", too large {len(result.too_big)}"
        return line
