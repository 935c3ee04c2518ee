"""The LMTP (and SMTP) listener: stores each message in the journal before saying 250.

- RCPT: only departments' addresses and their ``+token`` sub-addresses (550 otherwise);
  451 when the database cannot be asked; 452 past :data:`MAX_RECIPIENTS`. Known
  addresses are answered from ``addressing.AddressBook`` (reloaded every few seconds);
  an address it lacks is always looked up in the database.
- DATA: over ``VORGANG_MAIL_MAX_BYTES`` 552 (also for a single line longer than that);
  otherwise the raw bytes are stored durably (file fsynced, journal row committed) and
  only then answered 250. LMTP answers once per recipient (RFC 2033), each recipient
  stored on its own; SMTP stores all recipients in one transaction and answers once.
  A storage failure answers 451 (452 when the disk or the database is full), so the MTA
  keeps the message and tries again; nothing half-stored stays behind.
- Lines longer than 1,000 characters and 8-bit bodies are stored as they come. DATA is
  read in chunks, not line by line (``_ChunkedData``).

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
import re
import signal
import socket
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, AnyStr, TypeVar

from aiosmtpd.controller import Controller
from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import MISSING, SMTP, Envelope, Session
from django.conf import settings
from django.db import DatabaseError, connections, transaction

from vorgang.accounts.models import Department
from vorgang.channels import addressing, journal
from vorgang.channels.models import InboundChannel

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


def _resolve(book: addressing.AddressBook, address: str) -> addressing.Recipient | None:
    _check_connections()
    return book.resolve(address)


# A recipient as RCPT found it: (address as given, its department or None).
Resolved = tuple[str, Department | None]


def _accept(raw: bytes, channel: str, recipient: Resolved, envelope_from: str, digest: str) -> int:
    """The rows of one message for one recipient, in the caller's transaction."""
    address, department = recipient
    return journal.new_entry(
        raw,
        digest,  # journal.write_raw has put the bytes in place
        channel=channel,
        recipient=addressing.normalise(address),
        envelope_from=envelope_from,
        department=department,
    ).pk


# One message for one recipient: raw bytes, channel, recipient, envelope sender, and the
# SHA-256 that journal.write_raw returned for the bytes.
Item = tuple[bytes, str, Resolved, str, str]


class _RowFailed(Exception):
    """A row of a group failed (its cause); the group's transaction was rolled back."""


def _store_group(items: list[Item]) -> list[int | Exception]:
    """Journal rows of several sessions' messages in one transaction (group commit).

    One turn of the database's write lock for the group instead of one per message,
    which matters on SQLite, where the worker holds that lock most of the time under a
    flood of mail. A failing commit fails them all. A row that fails fails alone: the
    group is written again with each row in a savepoint of its own, which is rolled
    back and reported alone while the others commit. Rows hardly ever fail, so the
    first try goes without savepoints (two statements less per row).
    """
    _check_connections()
    try:
        # On SQLite the write lock is asked for often (vorgang.core.sqlite).
        with transaction.atomic():
            ids: list[int | Exception] = []
            for item in items:
                try:
                    ids.append(_accept(*item))
                except Exception as exc:
                    raise _RowFailed from exc
            transaction.on_commit(journal.request_drain)
        return ids
    except _RowFailed as failed:
        assert isinstance(failed.__cause__, Exception)
        if len(items) == 1:
            return [failed.__cause__]
    _check_connections()
    results: list[int | Exception] = []
    with transaction.atomic():
        for item in items:
            try:
                with transaction.atomic():
                    results.append(_accept(*item))
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
    with transaction.atomic():
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
        # Department addresses for RCPT, read on the loop, loaded in the database thread.
        self.addresses = addressing.AddressBook()

    async def _in_db_thread(self, fn: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, functools.partial(fn, *args))

    async def handle_RCPT(  # aiosmtpd calls it by this name
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if len(envelope.rcpt_tos) >= MAX_RECIPIENTS:
            return REPLY_TOO_MANY
        found = self.addresses.cached(address)
        if found is None:  # not in the map, or the map is old: ask the database
            try:
                found = await self._in_db_thread(_resolve, self.addresses, address)
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


# <local@domain> with a dot-atom local part and a plain domain: nearly every address an
# MTA gives; anything else is left to aiosmtpd's full parser.
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_PLAIN_ADDRESS = re.compile(
    rf"[ \t]*<({_ATOM}(?:\.{_ATOM})*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*)>[ \t]*"
)


class _PlainAddresses(SMTP):
    """MAIL and RCPT addresses read with one regular expression when they are plain.

    aiosmtpd parses each address with the email package's RFC 5322 header parser
    (~0.2 ms of CPU per MAIL or RCPT, a third of the listener's work on the event
    loop). A plain ``<local@domain>`` gives the same address and parameters with a
    regular expression; anything else (quoted local parts, address literals, comments,
    non-ASCII, the null sender ``<>``) still goes through aiosmtpd's parser.
    """

    def _getaddr(self, arg: str) -> tuple[str | None, str | None]:
        found = _PLAIN_ADDRESS.match(arg)
        if found is None or arg.startswith("(", found.end()):
            return super()._getaddr(arg)
        address = found.group(1)
        if self.local_part_limit and len(address.rpartition("@")[0]) > self.local_part_limit:
            return None, None
        return address, arg[found.end() :]


# Every line of a message ends in CRLF; the data ends with a line that is a lone dot.
_END = b".\r\n"


class _ChunkedData(SMTP):
    """DATA read in large chunks instead of line by line.

    aiosmtpd reads the message one line at a time (a read, two joins and list appends
    per line): a 200 KB attachment is 3,500 lines and cost about as much CPU as storing
    the message. Here the reader is asked for everything up to the next ``.<CRLF>``;
    that is the end when a CRLF precedes it (or it starts the data), otherwise just a
    line ending in a dot, and reading goes on. The dots of dot-stuffed lines (RFC 5321
    4.5.2: a line that starts with a dot loses that dot) are removed in one pass at the
    end. Size limit and replies as aiosmtpd's: the bytes before the end line count,
    stuffing dots included; over the limit the rest is read and dropped, then
    "552 Error: Too much mail data" (which ``_SizeLimitReplies`` answers per recipient).
    """

    async def smtp_DATA(self, arg: str) -> None:
        if self._decode_data:  # not how the listener runs; aiosmtpd's own reading then
            await super().smtp_DATA(arg)
            return
        if await self.check_helo_needed():
            return
        if await self.check_auth_needed("DATA"):
            return
        assert self.envelope is not None
        if not self.envelope.rcpt_tos:
            await self.push("503 Error: need RCPT command")
            return
        if arg:
            await self.push("501 Syntax: DATA")
            return
        await self.push("354 End data with <CR><LF>.<CR><LF>")
        content = await self._read_data()
        if content is None:
            await self.push("552 Error: Too much mail data")
            self._set_post_data_state()
            return
        self.envelope.content = content
        self.envelope.original_content = content
        status = await self._call_handler_hook("DATA")
        self._set_post_data_state()
        await self.push("250 OK" if status is MISSING else status)

    async def _read_data(self) -> bytes | None:
        """The message up to the end line, dot-stuffing undone; None when too big."""
        limit = self.data_size_limit or 0
        parts: list[memoryview] = []  # views: the message is copied once, by the join
        size = 0
        too_big = False
        # The last two bytes read: the end line must follow a CRLF, and the DATA
        # command's own CRLF comes before the first byte.
        tail = b"\r\n"
        while True:
            try:
                chunk = await self._reader.readuntil(_END)
                ends = (tail + chunk[-5:])[-5:-3] == b"\r\n"
            except asyncio.LimitOverrunError as exc:
                # No end in the reader's limit (the size limit plus a little): take what
                # it holds; it keeps the last bytes, in case a ".<CRLF>" begins there.
                chunk = await self._reader.read(exc.consumed)
                ends = False
            except (asyncio.CancelledError, asyncio.IncompleteReadError) as exc:
                # The connection went away in the middle of the data (aiosmtpd cancels
                # the session then; an EOF the reader sees first ends it the same way).
                log.info("connection lost during DATA")
                self._writer.close()
                if isinstance(exc, asyncio.IncompleteReadError):
                    raise ConnectionResetError from exc
                raise
            body = memoryview(chunk)[: -len(_END)] if ends else memoryview(chunk)
            size += len(body)
            if limit and size > limit:
                too_big = True
                parts.clear()  # drop at once, not only at the end
            elif not too_big:
                parts.append(body)
            tail = (tail + chunk[-2:])[-2:]
            if ends:
                break
        if too_big:
            return None
        data = b"".join(parts)
        # Each line that starts with a dot loses it. The first line has no CRLF before
        # it; it cannot be a lone dot (that would have been the end line).
        if data.startswith(b"."):
            data = data[1:]
        return data.replace(b"\r\n.", b"\r\n")


def _line_limit(data_size_limit: int) -> int:
    # Real-world mail breaks the 1000-character line limit; accept any line that fits
    # the size limit (and 64 MiB when there is none).
    return (data_size_limit or 64 * 1024 * 1024) + 1024


class _LMTPProtocol(_SizeLimitReplies, _ChunkedData, _PlainAddresses, LMTP):
    lmtp_replies = True

    def __init__(self, handler: Any, **kwargs: Any) -> None:
        self.line_length_limit = _line_limit(kwargs.get("data_size_limit") or 0)
        super().__init__(handler, **kwargs)


class _SMTPProtocol(_SizeLimitReplies, _ChunkedData, _PlainAddresses, SMTP):
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
