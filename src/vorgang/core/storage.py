"""File storage that makes a saved file survive a crash before anyone is told "stored".

Mail intake answers 250 only after the raw message is on disk; Django's
FileSystemStorage leaves the bytes in the page cache, so this one fsyncs the
file and its directory.
"""

from __future__ import annotations

import os
from typing import Any

from django.core.files.storage import FileSystemStorage


class DurableFileSystemStorage(FileSystemStorage):
    def _save(self, name: str, content: Any) -> str:
        saved: str = super()._save(name, content)  # type: ignore[misc]
        path = self.path(saved)
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        dir_fd = os.open(os.path.dirname(path), os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
        return saved
