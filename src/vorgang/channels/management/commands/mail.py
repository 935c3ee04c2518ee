"""``vorgang mail ingest|retry|parse|list``: the mail journal from the command line.

``vorgang mail ingest [--recipient ADDR] [--sender ADDR] < message.eml``
    For an MTA's pipe transport. Stores the message in the journal and exits 0 once it
    is durable; processing follows in the worker. Exit codes (sysexits.h, which MTAs
    understand): 0 stored; 75 EX_TEMPFAIL could not store (database or storage down:
    the MTA keeps the message and tries again); 67 EX_NOUSER ``--recipient`` is given
    and is no department's address (the MTA bounces); 65 EX_DATAERR empty input or
    over ``VORGANG_MAIL_MAX_BYTES`` (bounced). Postfix, in master.cf::

        vorgang unix - n n - - pipe flags=Rq user=vorgang
          argv=/path/to/vorgang mail ingest --recipient ${recipient} --sender ${sender}

``vorgang mail retry ID ...`` / ``vorgang mail retry --all``
    Queues journal entries for processing again: the given ones (unless already
    processed), or every failed one plus those left ``received``/``processing`` for
    longer than ``--stale-after`` seconds (a worker died while holding them).

``vorgang mail parse FILE ... [--json]``
    Prints what the parser reads from each file: with ``--json`` one JSON object per
    file and line (the parser's summary plus ``file``), else a short readable summary.

``vorgang mail list [--status STATUS] [--limit N]``
    The newest journal entries: id, received, channel, status, department, attempts and
    the first line of the error. Addresses are left out (and masked in errors).
"""

from __future__ import annotations

import json
import re
import sys
from argparse import ArgumentParser
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from vorgang.core.management.utils import require_migrated

EX_OK = 0
EX_DATAERR = 65
EX_NOUSER = 67
EX_TEMPFAIL = 75

_ADDRESS = re.compile(r"[^\s<>\"'(),;:]+@[^\s<>\"'(),;:]+")


def mask_addresses(text: str) -> str:
    """``Kein Fall für anna@example.org`` -> ``Kein Fall für <address>``."""
    return _ADDRESS.sub("<address>", text)


def first_line(text: str, width: int = 80) -> str:
    line = (text or "").strip().split("\n", 1)[0].strip()
    return line if len(line) <= width else line[: width - 1] + "…"


class Command(BaseCommand):
    help = "Incoming mail: ingest a message from an MTA pipe, retry, parse, list the journal."

    # `ingest` must not touch the database before it tries to store (exit 75, not a crash).
    requires_system_checks: list[str] = []
    stealth_options = ("stdin",)

    def add_arguments(self, parser: ArgumentParser) -> None:
        actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

        ingest = actions.add_parser(
            "ingest",
            help="store a message read from standard input (MTA pipe transport)",
            description="Store the message on standard input in the journal. Exit codes: "
            "0 stored, 75 could not store (try again later), 67 unknown --recipient, "
            "65 empty or too big.",
        )
        ingest.add_argument(
            "--recipient",
            default="",
            metavar="ADDR",
            help="the envelope recipient; refused (exit 67) unless it is a department's "
            "address or its +token sub-address. Without it, the To/Cc headers decide.",
        )
        ingest.add_argument("--sender", default="", metavar="ADDR", help="the envelope sender")

        retry = actions.add_parser(
            "retry",
            help="queue failed or stuck messages for processing again",
            description="Queue journal entries for processing again and print how many.",
        )
        retry.add_argument("ids", nargs="*", type=int, metavar="ID", help="journal entry ids")
        retry.add_argument(
            "--all",
            action="store_true",
            help="every failed entry, and those stuck in received/processing",
        )
        retry.add_argument(
            "--stale-after",
            type=int,
            default=600,
            metavar="SECONDS",
            help="with --all: an entry counts as stuck after this long (default: 600)",
        )

        parse = actions.add_parser(
            "parse",
            help="print what the parser reads from .eml files",
            description="Parse each file and print the result.",
        )
        parse.add_argument("files", nargs="+", metavar="FILE")
        parse.add_argument("--json", action="store_true", help="one JSON object per line")

        listing = actions.add_parser(
            "list",
            help="list journal entries, newest first",
            description="List journal entries, newest first (no addresses).",
        )
        listing.add_argument(
            "--status",
            choices=["received", "processing", "processed", "duplicate", "failed"],
            help="only entries with this status",
        )
        listing.add_argument(
            "--limit", type=int, default=50, help="at most this many (default: 50)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "ingest":
            code = self.ingest(options)
            if code:
                sys.exit(code)
        elif action == "retry":
            self.retry(options)
        elif action == "parse":
            if not self.parse(options):
                sys.exit(1)
        elif action == "list":
            self.list_entries(options)

    # --- ingest ------------------------------------------------------------------------

    def ingest(self, options: dict[str, Any]) -> int:
        stdin: IO[bytes] = options.get("stdin") or sys.stdin.buffer
        limit = settings.VORGANG_MAIL_MAX_BYTES
        raw = stdin.read(limit + 1) if limit else stdin.read()
        if not raw:
            self.stderr.write("5.6.0 empty message: nothing to store")
            return EX_DATAERR
        if limit and len(raw) > limit:
            self.stderr.write(f"5.3.4 message too big (limit {limit} bytes)")
            return EX_DATAERR
        try:
            from vorgang.channels import addressing, journal
            from vorgang.channels.models import InboundChannel

            recipient = options["recipient"]
            department = None
            if recipient:
                found = addressing.resolve(recipient)
                if found is None:
                    self.stderr.write("5.1.1 no such recipient here")
                    return EX_NOUSER
                department = found.department
            journal.make_commits_durable()  # exit 0 tells the MTA it may drop its copy
            entry = journal.accept(
                raw,
                channel=InboundChannel.PIPE,
                recipient=addressing.normalise(recipient) if recipient else "",
                envelope_from=options["sender"],
                department=department,
            )
        except Exception as exc:
            # Only the type: the message may hold addresses. The MTA keeps the mail.
            self.stderr.write(f"4.3.0 could not store the message ({type(exc).__name__})")
            return EX_TEMPFAIL
        self.stdout.write(f"stored as {entry.pk}")
        return EX_OK

    # --- retry -------------------------------------------------------------------------

    def retry(self, options: dict[str, Any]) -> None:
        from vorgang.channels import journal

        ids: list[int] = options["ids"]
        if bool(ids) == bool(options["all"]):
            raise CommandError("Give the ids of journal entries, or --all (not both).")
        require_migrated()
        if options["all"]:
            count = journal.retry(None, failed=True, stale_after=options["stale_after"])
        else:
            count = journal.retry(ids)
        self.stdout.write(f"{count} message(s) queued for processing again.")

    # --- parse -------------------------------------------------------------------------

    def parse(self, options: dict[str, Any]) -> bool:
        from vorgang.channels.email.parsing import parse, to_json_dict

        ok = True
        for name in options["files"]:
            try:
                raw = Path(name).read_bytes()
                result = to_json_dict(parse(raw))
            except Exception as exc:
                ok = False
                if options["json"]:
                    error = {"file": name, "error": f"{type(exc).__name__}: {exc}"}
                    self.stdout.write(json.dumps(error, ensure_ascii=False))
                else:
                    self.stderr.write(f"{name}: {type(exc).__name__}: {exc}")
                continue
            if options["json"]:
                self.stdout.write(json.dumps({"file": name, **result}, ensure_ascii=False))
            else:
                self.stdout.write(self._summary(name, result))
        return ok

    @staticmethod
    def _summary(name: str, result: dict[str, Any]) -> str:
        body = " ".join(str(result.get("body") or "").split())
        lines = [
            f"== {name}",
            f"From:    {result.get('from') or ''}",
            f"To:      {result.get('to') or ''}",
        ]
        if result.get("cc"):
            lines.append(f"Cc:      {result['cc']}")
        if result.get("reply_to"):
            lines.append(f"Reply-To: {result['reply_to']}")
        lines += [
            f"Subject: {result.get('subject') or ''}",
            f"Body:    {result.get('content_type')}, {len(str(result.get('body') or ''))} "
            f"characters: {body[:200]}{'…' if len(body) > 200 else ''}",
        ]
        attachments = result.get("attachments") or []
        lines.append(f"Attachments: {len(attachments)}")
        for attachment in attachments:
            cid = f" cid:{attachment['content_id']}" if attachment.get("content_id") else ""
            lines.append(
                f"  {attachment['filename']} ({attachment['content_type']}, "
                f"{attachment['size']} bytes){cid}"
            )
        return "\n".join(lines)

    # --- list --------------------------------------------------------------------------

    def list_entries(self, options: dict[str, Any]) -> None:
        from django.utils import timezone

        from vorgang.channels.models import InboundMessage

        require_migrated()
        entries = InboundMessage.objects.select_related("department").order_by("-pk")
        if options["status"]:
            entries = entries.filter(status=options["status"])
        rows = [("ID", "RECEIVED", "CHANNEL", "STATUS", "DEPARTMENT", "ATTEMPTS", "ERROR")]
        for entry in entries[: max(options["limit"], 0)]:
            received = timezone.localtime(entry.received_at).strftime("%Y-%m-%d %H:%M:%S")
            rows.append(
                (
                    str(entry.pk),
                    received,
                    entry.channel,
                    entry.status,
                    entry.department.name if entry.department else "-",
                    str(entry.attempts),
                    mask_addresses(first_line(entry.error)),
                )
            )
        if len(rows) == 1:
            self.stdout.write("No journal entries.")
            return
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
        for row in rows:
            cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
            self.stdout.write("  ".join([*cells, row[-1]]).rstrip())
