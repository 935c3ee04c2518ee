"""The message file on disk: core.storage.DurableFileSystemStorage as the listener uses it.

Bytes in memory take a short way (written and fsynced on one descriptor); anything
else goes through Django's own saving. Either way the file and its directory are
fsynced once each before the name is returned, and a write that fails leaves no
partial file behind.
"""

from __future__ import annotations

import os
import smtplib
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.files import File
from django.core.files.base import ContentFile

from vorgang.accounts.models import Department
from vorgang.channels import journal
from vorgang.core.storage import DurableFileSystemStorage

from .conftest import ADDRESS, message


@pytest.fixture
def storage(tmp_path: Path) -> DurableFileSystemStorage:
    return DurableFileSystemStorage(location=tmp_path / "files")


@pytest.fixture
def fsynced(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The paths os.fsync is called on (the calls still happen)."""
    paths: list[str] = []
    real = os.fsync

    def record(fd: int) -> None:
        paths.append(os.readlink(f"/proc/self/fd/{fd}"))
        real(fd)

    monkeypatch.setattr(os, "fsync", record)
    yield paths


def test_bytes_are_written_and_fsynced_once_with_their_directory(
    storage: DurableFileSystemStorage, fsynced: list[str], settings: object
) -> None:
    name = storage.save("blobs/ab/cd/abcd", ContentFile("Grüße\r\n".encode() * 10_000))
    path = Path(storage.path(name))
    assert name == "blobs/ab/cd/abcd"
    assert path.read_bytes() == b"Gr\xc3\xbc\xc3\x9fe\r\n" * 10_000
    # The directories made for it, each into its parent; then the file and its directory.
    made = [path.parent, path.parent.parent, path.parent.parent.parent, Path(storage.location)]
    assert fsynced == [str(p.parent) for p in reversed(made)] + [str(path), str(path.parent)]
    mode = settings.FILE_UPLOAD_PERMISSIONS  # type: ignore[attr-defined]
    assert stat.S_IMODE(path.stat().st_mode) == mode
    # In a directory that is there already: the file and its directory only.
    fsynced.clear()
    other = Path(storage.path(storage.save("blobs/ab/cd/abce", ContentFile(b"zwei"))))
    assert fsynced == [str(other), str(other.parent)]


def test_a_taken_name_gets_another_one(storage: DurableFileSystemStorage) -> None:
    first = storage.save("blobs/x", ContentFile(b"eins"))
    second = storage.save("blobs/x", ContentFile(b"zwei"))
    assert first == "blobs/x"
    assert second != first
    assert second.startswith("blobs/x_")
    assert storage.open(first).read() == b"eins"
    assert storage.open(second).read() == b"zwei"


def test_other_content_goes_django_s_way_and_is_fsynced_too(
    storage: DurableFileSystemStorage, fsynced: list[str], tmp_path: Path
) -> None:
    source = tmp_path / "upload.txt"
    source.write_text("Anlage", encoding="utf-8")
    with source.open("rb") as fh:
        name = storage.save("uploads/anlage.txt", File(fh))
    path = Path(storage.path(name))
    assert path.read_text(encoding="utf-8") == "Anlage"
    made = [path.parent, path.parent.parent]
    assert fsynced == [str(p.parent) for p in reversed(made)] + [str(path), str(path.parent)]


def test_write_raw_fsyncs_a_new_message_once(
    db: None, fsynced: list[str], settings: object, tmp_path: Path
) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"  # type: ignore[attr-defined]
    raw = message(subject="Einmal")
    digest = journal.write_raw(raw)
    # The new directories into their parents, then the file and its directory, once each.
    assert fsynced[-2].endswith(digest)
    assert fsynced[-1] == os.path.dirname(fsynced[-2])
    assert len(fsynced) == len(set(fsynced))
    fsynced.clear()
    assert journal.write_raw(raw) == digest  # there already, complete: kept as it is
    assert fsynced == []


def test_a_full_disk_leaves_no_partial_file(
    department: Department, lmtp: smtplib.SMTP, full_storage: Path, settings: object
) -> None:
    with pytest.raises(smtplib.SMTPDataError) as failed:
        lmtp.sendmail("erika@example.org", [ADDRESS], message(body="Inhalt " * 4000 + "\r\n"))
    assert failed.value.smtp_code == 452
    media = Path(settings.MEDIA_ROOT)  # type: ignore[attr-defined]
    assert [p for p in media.rglob("*") if p.is_file()] == []
