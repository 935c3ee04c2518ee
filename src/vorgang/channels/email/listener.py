"""The LMTP (and SMTP) listener: stores each message in the journal before saying 250.

- RCPT: only departments' addresses and their ``+token`` sub-addresses (550 otherwise);
  451 when the database cannot be asked; 452 past :data:`MAX_RECIPIENTS`.
- DATA: over ``VORGANG_MAIL_MAX_BYTES`` 552 (also for a single line longer than that);
  otherwise the raw bytes are stored durably (file fsynced, journal row committed) and
  only then answered 250. LMTP answers once per recipient (RFC 2033), each recipient
  stored on its own; SMTP stores all recipients in one transaction and answers once.
  A storage failure answers 451 (452 when the disk or the database is full), so the MTA
  keeps the message and tries again; nothing half-stored stays behind.
- Lines longer than 1,000 characters and 8-bit bodies are stored as they come.

All database work runs in one dedicated thread (Django's connections are per thread);
the asyncio loop only talks the protocol. aiosmtpd's own logger (``mail.log``) logs
envelope addresses at INFO, so it is held at WARNING here: citizens' addresses and
bodies never reach the log, only journal ids and exception types.
"""

from __future__ import annotations

import asyncio
import errno
import functools
import logging
import signal
import socket
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, AnyStr, TypeVar

from aiosmtpd.controller import Controller
from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP, Envelope, Session
from django.conf import settings
from django.db import DatabaseError, connections, transaction

from vorgang.accounts.models import Department
from vorgang.channels import addressing, journal
from vorgang.channels.models import InboundChannel
from vorgang.channels.write_lock import write_transaction

log = logging.getLogger(__name__)

T = TypeVar("T")

MAX_RECIPIENTS = 100
# Threads that write and fsync message files for parallel sessions (no database).
FILE_THREADS = 4

REPLY_RCPT_OK = "250 2.1.5 Recipient OK"
REPLY_NO_SUCH_USER = "550 5.1.1 No such recipient here"
REPLY_TOO_MANY = "452 4.5.3 Too many recipients"
REPLY_TEMPORARY = "451 4.3.0 Temporary failure, please try again later"
REPLY_NOT_STORED = "451 4.3.0 Could not store the message, please try again later"
REPLY_NO_SPACE = "452 4.3.1 Insufficient system storage, please try again later"
REPLY_TOO_BIG = "552 5.3.4 Message too big"


def _check_connections() -> None:
    """Drop connections that broke (the database went away); keep healthy ones open.

    Unlike Django's ``close_old_connections`` this keeps a working SQLite connection
    (whose CONN_MAX_AGE is 0) instead of opening a new one for every command.
    """
    for conn in connections.all(initialized_only=True):
        if conn.connection is None:
            continue
        if conn.in_atomic_block:
            continue
        if conn.errors_occurred:
            if conn.is_usable():
                conn.errors_occurred = False
            else:
                conn.close()


def _resolve(address: str) -> addressing.Recipient | None:
    _check_connections()
    return addressing.resolve(address)


# A recipient as RCPT found it: (address as given, its department or None).
Resolved = tuple[str, Department | None]


def _accept(raw: bytes, channel: str, recipient: Resolved, envelope_from: str, digest: str) -> int:
    address, department = recipient
    entry = journal.accept(
        raw,
        channel=channel,
        recipient=addressing.normalise(address),
        envelope_from=envelope_from,
        department=department,
        digest=digest,  # journal.write_raw has put the bytes in place
        drain=False,  # asked for once per commit by the callers below
    )
    return entry.pk


# One message for one recipient: raw bytes, channel, recipient, envelope sender, and the
# SHA-256 that journal.write_raw returned for the bytes.
Item = tuple[bytes, str, Resolved, str, str]


def _store_group(items: list[Item]) -> list[int | Exception]:
    """Journal rows of several sessions' messages in one transaction (group commit).

    Each row in a savepoint of its own: one that fails is rolled back and reported
    alone, the others commit. One turn of the database's write lock for the group
    instead of one per message, which matters on SQLite, where the worker holds that
    lock most of the time under a flood of mail. A failing commit fails them all.
    """
    _check_connections()
    results: list[int | Exception] = []
    # On SQLite the write lock is asked for every millisecond (see write_lock).
    with write_transaction():
        for raw, channel, recipient, envelope_from, digest in items:
            try:
                results.append(_accept(raw, channel, recipient, envelope_from, digest))
            except Exception as exc:
                results.append(exc)
        # One drain request for the whole group, in the outer transaction: a row rolled
        # back in its own savepoint does not take it along.
        transaction.on_commit(journal.request_drain)
    return results


def _store_all(
    raw: bytes, channel: str, recipients: list[Resolved], envelope_from: str, digest: str
) -> list[int]:
    """All recipients or none: SMTP has a single answer for the whole message."""
    _check_connections()
    with write_transaction():
        ids = [_accept(raw, channel, r, envelope_from, digest) for r in recipients]
        transaction.on_commit(journal.request_drain)
    return ids


def _close_connections() -> None:
    connections.close_all()


def temporary_reply(exc: BaseException) -> str:
    """The 4xx reply for a failure to store: 452 when space ran out, else 451."""
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return REPLY_NO_SPACE
    if isinstance(exc, DatabaseError) and "full" in str(exc).lower():
        return REPLY_NO_SPACE  # SQLite: "database or disk is full"
    return REPLY_NOT_STORED


def _describe(exc: BaseException) -> str:
    """An exception for the log: its type (and errno), never its text (may hold an address)."""
    name = type(exc).__name__
    if isinstance(exc, OSError) and exc.errno is not None:
        return f"{name} ({errno.errorcode.get(exc.errno, exc.errno)})"
    return name


def _resolved(envelope: Envelope) -> list[Resolved]:
    """The recipients accepted at RCPT, kept on the envelope (a new one per message)."""
    found: list[Resolved] | None = getattr(envelope, "vorgang_recipients", None)
    if found is None:
        found = []
        envelope.vorgang_recipients = found  # type: ignore[attr-defined]
    return found


class IntakeHandler:
    """aiosmtpd handler hooks; database work goes to ``executor`` (one thread)."""

    def __init__(
        self, lmtp: bool, executor: ThreadPoolExecutor, file_executor: ThreadPoolExecutor
    ) -> None:
        self.lmtp = lmtp
        self.channel = InboundChannel.LMTP if lmtp else InboundChannel.SMTP
        self.executor = executor
        self.file_executor = file_executor
        # Messages waiting for the database thread, and the coroutine that hands them over.
        self.waiting: list[tuple[Item, asyncio.Future[int]]] = []
        self.flushing: asyncio.Future[None] | None = None

    async def _in_db_thread(self, fn: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, functools.partial(fn, *args))

    async def handle_RCPT(  # aiosmtpd calls it by this name
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if len(envelope.rcpt_tos) >= MAX_RECIPIENTS:
            return REPLY_TOO_MANY
        try:
            found = await self._in_db_thread(_resolve, address)
        except Exception as exc:
            log.warning("recipient check failed: %s", _describe(exc))
            return REPLY_TEMPORARY
        if found is None:
            return REPLY_NO_SUCH_USER
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        # DATA stores each recipient with the department found here (no second lookup).
        _resolved(envelope).append((address, found.department))
        return REPLY_RCPT_OK

    async def handle_DATA(  # aiosmtpd calls it by this name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        raw = envelope.original_content or b""
        mail_from = envelope.mail_from or ""
        if mail_from == "<>":
            mail_from = ""
        recipients = _resolved(envelope)
        digest = ""
        if recipients:
            try:
                # The disk flush in a thread of its own: parallel sessions flush together,
                # and the database thread only writes rows (see journal.write_raw).
                loop = asyncio.get_running_loop()
                digest = await loop.run_in_executor(self.file_executor, journal.write_raw, raw)
            except Exception as exc:
                log.warning("storing a message failed: %s", _describe(exc))
                return "\r\n".join([temporary_reply(exc)] * (len(recipients) if self.lmtp else 1))
        if self.lmtp:
            # One reply per recipient, in RCPT order (RFC 2033 section 4.2).
            replies = []
            for recipient in recipients:
                replies.append(await self._store_one(raw, recipient, mail_from, digest))
            return "\r\n".join(replies)
        try:
            ids = await self._in_db_thread(
                _store_all, raw, self.channel, recipients, mail_from, digest
            )
        except Exception as exc:
            log.warning("storing a message failed: %s", _describe(exc))
            return temporary_reply(exc)
        return f"250 2.0.0 Stored as {', '.join(str(pk) for pk in ids)}"

    async def _store_one(self, raw: bytes, recipient: Resolved, mail_from: str, digest: str) -> str:
        """Store one recipient's copy; answered once its group has committed."""
        stored: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self.waiting.append(((raw, self.channel, recipient, mail_from, digest), stored))
        if self.flushing is None or self.flushing.done():
            self.flushing = asyncio.ensure_future(self._flush())
        try:
            pk = await stored
        except Exception as exc:
            log.warning("storing a message failed: %s", _describe(exc))
            return temporary_reply(exc)
        return f"250 2.0.0 Stored as {pk}"

    async def _flush(self) -> None:
        """Hand what the sessions left to the database thread, as groups, until none wait.

        While one group is being written, the next sessions' messages gather: under
        load each turn of the database stores several messages, when quiet just one.
        """
        while self.waiting:
            group, self.waiting = self.waiting, []
            results: list[int | Exception]
            try:
                results = await self._in_db_thread(_store_group, [item for item, _f in group])
            except Exception as exc:
                results = [exc] * len(group)
            for (_item, stored), result in zip(group, results, strict=True):
                if stored.done():
                    continue  # the session went away
                if isinstance(result, Exception):
                    stored.set_exception(result)
                else:
                    stored.set_result(result)

    async def handle_exception(self, error: Exception) -> str:
        # Anything unforeseen is temporary: the MTA keeps the message and tries again,
        # rather than bouncing it to the citizen (aiosmtpd would answer 500).
        log.error("listener error: %s", _describe(error))
        return REPLY_TEMPORARY


class _SizeLimitReplies:
    """Mixin: a message over the size limit gets 552 (per recipient in LMTP).

    aiosmtpd answers a line longer than its line limit with "500 Line too long"; that
    limit is set to the size limit here, so such a line means the message is too big.
    """

    lmtp_replies = False
    envelope: Envelope | None

    def _limit_reply(self, status: str) -> str | None:
        if status.startswith(("552 Error: Too much mail data", "500 Line too long")):
            count = len(self.envelope.rcpt_tos) if self.envelope and self.lmtp_replies else 1
            return "\r\n".join([REPLY_TOO_BIG] * max(count, 1))
        return None

    async def push(self, status: AnyStr) -> None:
        if isinstance(status, str):
            replaced = self._limit_reply(status)
            if replaced is not None:
                await super().push(replaced)  # type: ignore[misc]
                return
        await super().push(status)  # type: ignore[misc]


def _line_limit(data_size_limit: int) -> int:
    # Real-world mail breaks the 1000-character line limit; accept any line that fits
    # the size limit (and 64 MiB when there is none).
    return (data_size_limit or 64 * 1024 * 1024) + 1024


class _LMTPProtocol(_SizeLimitReplies, LMTP):
    lmtp_replies = True

    def __init__(self, handler: Any, **kwargs: Any) -> None:
        self.line_length_limit = _line_limit(kwargs.get("data_size_limit") or 0)
        super().__init__(handler, **kwargs)


class _SMTPProtocol(_SizeLimitReplies, SMTP):
    def __init__(self, handler: Any, **kwargs: Any) -> None:
        self.line_length_limit = _line_limit(kwargs.get("data_size_limit") or 0)
        super().__init__(handler, **kwargs)


class IntakeController(Controller):
    """The listener in a background thread: ``start()``, ``stop()``."""

    def __init__(self, host: str, port: int, *, lmtp: bool = True, **kwargs: Any) -> None:
        self.lmtp = lmtp
        # aiosmtpd logs envelope addresses at INFO and message lines at DEBUG.
        logging.getLogger("mail.log").setLevel(logging.WARNING)
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vorgang-intake")
        # Writing and fsyncing message files needs no database: several at once.
        self.file_executor = ThreadPoolExecutor(
            max_workers=FILE_THREADS, thread_name_prefix="vorgang-intake-file"
        )
        super().__init__(
            IntakeHandler(lmtp, self.executor, self.file_executor),
            hostname=host,
            port=port,
            **kwargs,
        )

    def factory(self) -> SMTP:
        protocol = _LMTPProtocol if self.lmtp else _SMTPProtocol
        return protocol(
            self.handler,
            data_size_limit=settings.VORGANG_MAIL_MAX_BYTES,
            enable_SMTPUTF8=True,
            decode_data=False,
            hostname=settings.VORGANG_MAIL_HOSTNAME,
            ident="Vorgang",
        )

    def _trigger_server(self) -> None:
        # The base class reads the greeting to make aiosmtpd build its protocol object;
        # a plain connect does that too and works the same for LMTP and SMTP.
        with socket.create_connection((self.hostname, self.port), timeout=5):
            pass

    def stop(self, no_assert: bool = False) -> None:
        super().stop(no_assert=no_assert)
        # The database thread closes its own connections, then ends.
        try:
            self.executor.submit(_close_connections).result(timeout=10)
        except Exception as exc:
            log.warning("closing the database connection failed: %s", _describe(exc))
        self.executor.shutdown(wait=True)
        self.file_executor.shutdown(wait=True)


def serve_forever(
    host: str, port: int, *, lmtp: bool = True, ready: Callable[[], None] | None = None
) -> None:
    """Run the listener until SIGTERM or SIGINT; ``ready`` is called once it listens."""
    journal.make_commits_durable()  # a 250 promises the message survives a power loss
    controller = IntakeController(host, port, lmtp=lmtp)
    controller.start()
    log.info("%s listener on %s:%s", "LMTP" if lmtp else "SMTP", host, port)
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        if ready is not None:
            ready()
        loop.run_until_complete(stop.wait())
    finally:
        log.info("stopping the %s listener", "LMTP" if lmtp else "SMTP")
        controller.stop()
        loop.close()
        log.info("stopped")
