"""Test messages for the IMAP poller, written for this project."""

from __future__ import annotations

import os


def mail(
    n: int = 1,
    *,
    to: str = "buergerbuero@stadt.example",
    subject: str | None = None,
    body: str = "Guten Tag,\r\nich habe eine Frage zu meinem Antrag.\r\n",
    sender: str = "Erika Mustermann <erika@example.org>",
) -> bytes:
    headers = (
        f"From: {sender}\r\nTo: {to}\r\n"
        f"Subject: {subject or f'Anfrage Nummer {n}'}\r\n"
        f"Message-ID: <imap-test-{n}-{os.urandom(4).hex()}@example.org>\r\n"
        "Date: Sat, 28 Nov 2026 10:00:00 +0100\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 8bit\r\n\r\n"
    )
    return headers.encode() + body.encode()
