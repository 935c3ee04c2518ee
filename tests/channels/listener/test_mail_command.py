"""``vorgang mail ingest|retry|parse|list``."""

from __future__ import annotations

import json
import subprocess
from datetime import timedelta
from io import BytesIO, StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django_tasks_db.models import DBTaskResult

from tests.cli.helpers import free_port, run_vorgang, vorgang_argv
from tests.factories import DepartmentFactory
from vorgang.accounts.models import Department
from vorgang.channels import journal
from vorgang.channels.email.intake import process
from vorgang.channels.models import InboundMessage, InboundStatus
from vorgang.core import clock
from vorgang.tickets.models import Blob

from .conftest import ADDRESS, message


@pytest.fixture
def department(db: None) -> Department:
    department: Department = DepartmentFactory(name="Bürgerbüro", email_address=ADDRESS)
    return department


def mail(*args: str, stdin: bytes | None = None) -> tuple[int, str, str]:
    """Run ``vorgang mail ARGS`` in this process: (exit code, stdout, stderr)."""
    out, err = StringIO(), StringIO()
    options = {"stdout": out, "stderr": err}
    if stdin is not None:
        options["stdin"] = BytesIO(stdin)  # type: ignore[assignment]
    try:
        call_command("mail", *args, **options)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    return code, out.getvalue(), err.getvalue()


# --- ingest -------------------------------------------------------------------------------


def test_ingest_stores_and_exits_0(department: Department) -> None:
    raw = message(message_id="<pipe-1@example.org>")
    code, out, _err = mail(
        "ingest", "--recipient", ADDRESS, "--sender", "erika@example.org", stdin=raw
    )
    entry = InboundMessage.objects.get()
    assert code == 0
    assert out == f"stored as {entry.pk}\n"
    assert entry.channel == "pipe"
    assert entry.department == department
    assert entry.recipient == ADDRESS
    assert entry.envelope_from == "erika@example.org"
    assert entry.raw.read() == raw
    assert process(entry.pk) == InboundStatus.PROCESSED


def test_ingest_without_recipient_routes_by_the_headers(department: Department) -> None:
    code, _out, _err = mail("ingest", stdin=message(to=f"Bürgerbüro <{ADDRESS}>"))
    entry = InboundMessage.objects.get()
    assert code == 0
    assert entry.department is None
    assert process(entry.pk) == InboundStatus.PROCESSED
    entry.refresh_from_db()
    assert entry.department == department


def test_ingest_unknown_recipient_exits_67(department: Department) -> None:
    code, out, err = mail("ingest", "--recipient", "niemand@stadt.example", stdin=message())
    assert code == 67
    assert out == ""
    assert "no such recipient" in err
    assert "niemand" not in err
    assert not InboundMessage.objects.exists()


def test_ingest_empty_or_too_big_exits_65(department: Department, settings: object) -> None:
    assert mail("ingest", "--recipient", ADDRESS, stdin=b"")[0] == 65
    settings.VORGANG_MAIL_MAX_BYTES = 1000  # type: ignore[attr-defined]
    code, _out, err = mail("ingest", "--recipient", ADDRESS, stdin=message(body="x" * 1000))
    assert code == 65
    assert "too big" in err
    assert not InboundMessage.objects.exists()


def test_ingest_with_unwritable_storage_exits_75(
    department: Department, broken_storage: None
) -> None:
    code, out, err = mail("ingest", "--recipient", ADDRESS, stdin=message())
    assert code == 75
    assert out == ""
    assert "could not store" in err
    assert not InboundMessage.objects.exists()
    assert not Blob.objects.exists()


def test_ingest_as_an_mta_runs_it(migrated_env: dict[str, str]) -> None:
    created = run_vorgang(
        migrated_env, "department", "create", "Bürgerbüro", "--address", ADDRESS, timeout=60
    )
    assert created.returncode == 0, created.stderr

    piped = subprocess.run(
        vorgang_argv("mail", "ingest", "--recipient", ADDRESS),
        input=message(subject="Über die Pipe"),
        env=migrated_env,
        capture_output=True,
        timeout=60,
    )
    assert piped.returncode == 0, piped.stderr.decode()
    assert piped.stdout.decode().startswith("stored as ")

    unknown = subprocess.run(
        vorgang_argv("mail", "ingest", "--recipient", "niemand@stadt.example"),
        input=message(),
        env=migrated_env,
        capture_output=True,
        timeout=60,
    )
    assert unknown.returncode == 67

    listed = run_vorgang(migrated_env, "mail", "list", timeout=60)
    assert listed.returncode == 0, listed.stderr
    rows = listed.stdout.splitlines()
    assert len(rows) == 2  # the header and the one stored message
    assert rows[1].split()[3:6] == ["pipe", "received", "Bürgerbüro"]


def test_ingest_with_the_database_down_exits_75(cli_env: dict[str, str]) -> None:
    # Nothing listens on this port: a PostgreSQL server that is down.
    env = {**cli_env, "DATABASE_URL": f"postgresql://vorgang@127.0.0.1:{free_port()}/vorgang"}
    piped = subprocess.run(
        vorgang_argv("mail", "ingest", "--recipient", ADDRESS),
        input=message(),
        env=env,
        capture_output=True,
        timeout=60,
    )
    assert piped.returncode == 75, piped.stderr.decode()
    assert "4.3.0 could not store the message (OperationalError)" in piped.stderr.decode()
    assert not list((Path(cli_env["VORGANG_DATA_DIR"]) / "files").glob("blobs/*/*/*"))


# --- retry --------------------------------------------------------------------------------


def failed_entry() -> InboundMessage:
    """A message to no known department: processing fails until an admin routes it."""
    entry = journal.accept(message(to="unbekannt@stadt.example"), channel="lmtp")
    assert process(entry.pk) == InboundStatus.FAILED
    entry.refresh_from_db()
    return entry


def test_retry_by_id_requeues_and_the_retry_succeeds(db: None) -> None:
    entry = failed_entry()
    assert "NoDepartment" in entry.error
    DepartmentFactory(email_address="unbekannt@stadt.example")  # the admin fixes the cause
    DBTaskResult.objects.all().delete()

    code, out, _err = mail("retry", str(entry.pk))

    assert (code, out) == (0, "1 message(s) queued for processing again.\n")
    assert list(DBTaskResult.objects.values_list("args_kwargs", flat=True)) == [
        {"args": [entry.pk], "kwargs": {}}
    ]
    assert process(entry.pk) == InboundStatus.PROCESSED
    entry.refresh_from_db()
    assert (entry.status, entry.error, entry.attempts) == (InboundStatus.PROCESSED, "", 2)


def test_retry_all_takes_failed_and_stale_but_not_done_or_fresh(department: Department) -> None:
    failed = failed_entry()
    stale = journal.accept(message(), channel="lmtp", recipient=ADDRESS)
    fresh = journal.accept(message(), channel="lmtp", recipient=ADDRESS)
    done = journal.accept(message(), channel="lmtp", recipient=ADDRESS)
    process(done.pk)
    InboundMessage.objects.filter(pk=stale.pk).update(
        status=InboundStatus.PROCESSING, started_at=clock.now() - timedelta(hours=1)
    )
    DBTaskResult.objects.all().delete()

    code, out, _err = mail("retry", "--all")

    assert (code, out) == (0, "2 message(s) queued for processing again.\n")
    queued = {task.args_kwargs["args"][0] for task in DBTaskResult.objects.all()}
    assert queued == {failed.pk, stale.pk}
    assert fresh.pk not in queued

    # With --stale-after 0 the fresh one counts as stuck too.
    assert mail("retry", "--all", "--stale-after", "0")[1].startswith("3 message(s)")


def test_retry_needs_ids_or_all(db: None) -> None:
    with pytest.raises(CommandError, match="--all"):
        call_command("mail", "retry")
    with pytest.raises(CommandError, match="not both"):
        call_command("mail", "retry", "1", "--all")


def test_retry_of_a_processed_entry_queues_nothing(department: Department) -> None:
    entry = journal.accept(message(), channel="lmtp", recipient=ADDRESS)
    process(entry.pk)
    assert mail("retry", str(entry.pk))[1] == "0 message(s) queued for processing again.\n"


# --- parse --------------------------------------------------------------------------------


@pytest.fixture
def eml_files(tmp_path: Path) -> list[Path]:
    first = tmp_path / "erste.eml"
    first.write_bytes(message(subject="Anmeldung", sender="Anna Alt <anna@example.org>"))
    second = tmp_path / "zweite.eml"
    second.write_bytes(
        b"From: bert@example.org\r\nSubject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\n"
        b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
        b"--b\r\nContent-Type: text/plain\r\n\r\nText\r\n"
        b"--b\r\nContent-Type: application/pdf\r\n"
        b"Content-Disposition: attachment; filename=antrag.pdf\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--b--\r\n"
    )
    return [first, second]


def test_parse_json_prints_one_object_per_file_and_line(eml_files: list[Path]) -> None:
    code, out, _err = mail("parse", *map(str, eml_files), "--json")

    assert code == 0
    lines = out.splitlines()
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    assert first["file"] == str(eml_files[0])
    assert first["from_email"] == "anna@example.org"
    assert first["from_display_name"] == "Anna Alt"
    assert first["subject"] == "Anmeldung"
    assert first["content_type"] == "text/plain"
    assert first["attachments"] == []
    assert second["subject"] == "Grüße"
    assert [(a["filename"], a["content_type"], a["size"]) for a in second["attachments"]] == [
        ("antrag.pdf", "application/pdf", 9)
    ]
    assert {"to", "cc", "reply_to", "body", "from"} <= set(first)
    assert set(second["attachments"][0]) == {
        "filename",
        "content_type",
        "size",
        "sha256",
        "content_id",
    }


def test_parse_without_json_prints_a_summary(eml_files: list[Path]) -> None:
    code, out, _err = mail("parse", *map(str, eml_files))
    assert code == 0
    assert f"== {eml_files[0]}" in out
    assert "Subject: Anmeldung" in out
    assert "Attachments: 1" in out
    assert "antrag.pdf (application/pdf, 9 bytes)" in out


def test_parse_reports_an_unreadable_file_and_goes_on(
    eml_files: list[Path], tmp_path: Path
) -> None:
    missing = tmp_path / "fehlt.eml"
    code, out, _err = mail("parse", str(missing), str(eml_files[0]), "--json")
    assert code == 1
    error, parsed = (json.loads(line) for line in out.splitlines())
    assert error["file"] == str(missing)
    assert error["error"].startswith("FileNotFoundError")
    assert parsed["subject"] == "Anmeldung"


# --- list ---------------------------------------------------------------------------------


def test_list_shows_entries_without_addresses(department: Department) -> None:
    ok = journal.accept(
        message(sender="erika@example.org"),
        channel="lmtp",
        recipient=ADDRESS,
        envelope_from="erika@example.org",
        department=department,
    )
    process(ok.pk)
    bad = failed_entry()
    InboundMessage.objects.filter(pk=bad.pk).update(
        error="ValueError: kein Fall für erika@example.org\nzweite Zeile"
    )

    code, out, _err = mail("list")

    assert code == 0
    header, *rows = out.splitlines()
    assert header.split() == [
        "ID",
        "RECEIVED",
        "CHANNEL",
        "STATUS",
        "DEPARTMENT",
        "ATTEMPTS",
        "ERROR",
    ]
    assert [row.split()[0] for row in rows] == [str(bad.pk), str(ok.pk)]  # newest first
    assert "processed" in rows[1]
    assert "Bürgerbüro" in rows[1]
    assert rows[0].endswith("ValueError: kein Fall für <address>")
    assert "@" not in out
    assert "zweite Zeile" not in out


def test_list_filters_by_status(department: Department) -> None:
    journal.accept(message(), channel="lmtp", recipient=ADDRESS)
    bad = failed_entry()
    _code, out, _err = mail("list", "--status", "failed")
    rows = out.splitlines()[1:]
    assert [row.split()[0] for row in rows] == [str(bad.pk)]
    assert mail("list", "--status", "duplicate")[1] == "No journal entries.\n"
