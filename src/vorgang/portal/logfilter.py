"""Keep case-page tokens out of the logs.

Django logs the path of every response with a status of 400 or more
(``django.request``, ``django.security.csrf``, ``django.server``); on the case
page that path holds the citizen's secret token. This filter replaces the token
by ``…`` in those records before any handler sees them.
"""

from __future__ import annotations

import logging
import re

TOKEN_PATH = re.compile(r"(/c/)(?!new/|legal/|language/|logo/)[A-Za-z0-9_-]{16,}")
LOGGERS = ("django.request", "django.security.csrf", "django.server", "django.security")


def redact(text: str) -> str:
    return TOKEN_PATH.sub(r"\1…", text)


class RedactCaseTokens(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken record is not ours to fix
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        return True


_FILTER = RedactCaseTokens()


def install() -> None:
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
