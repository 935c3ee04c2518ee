"""Polling IMAP mailboxes into the inbound journal.

For every configured :class:`~vorgang.channels.models.Mailbox` the poller logs in
(IMAPS, or STARTTLS, or plain only to a server on this machine), selects the
folder and fetches new messages by UID with ``BODY.PEEK[]`` (the fetch itself
marks nothing as read). Each message goes into the journal with
:func:`vorgang.channels.journal.accept` *before* anything changes on the server;
only then the mailbox's "after fetching" action runs:

``delete``  ``UID STORE +FLAGS (\\Deleted)`` and one expunge per poll (``UID EXPUNGE``
            of exactly those messages where the server offers UIDPLUS).
``move``    ``UID MOVE`` where the server offers MOVE, else ``UID COPY`` and delete;
            the target folder is created when it is missing.
``keep``    nothing changes on the server (the folder is opened read-only); the
            mailbox remembers the folder's UIDVALIDITY and the last UID taken and
            asks only for newer UIDs. When UIDVALIDITY changes (the folder was
            recreated, the server migrated) it starts from the beginning again; the
            messages fetched a second time are new journal entries that the intake
            recognises as duplicates (same bytes, same Message-ID, same recipient).

Never lose a message: when the journal cannot store a message, the poll of this
mailbox stops there and that message, and all after it, stay on the server
untouched; the next poll tries again. A message that is in the journal already
(``source_ref`` ``imap:<mailbox>:<uidvalidity>:<uid>``, e.g. after a crash between
storing and deleting) is not stored twice, only the action is repeated.

At most ``batch_size`` messages (default 200) are fetched per poll, so a huge
mailbox is worked off in slices, one per poll.

Messages over ``settings.VORGANG_MAIL_MAX_BYTES`` are never fetched (their size is
known from ``RFC822.SIZE``). They are noted in ``Mailbox.last_error`` and do not
fail the poll. Where they go depends on the action: with ``move`` they are moved
to the folder ``Vorgang-zu-gross`` (created when missing), so the mailbox's owner
finds them in one place and the next poll does not see them again; with
``delete`` they stay where they are (nothing is deleted that the journal does not
hold) and are noted again on every poll until someone handles them; with ``keep``
they stay where they are and the UID tracking passes them (noted once).

Errors go to ``Mailbox.last_error`` (no password, no message content) and to the
log (mailbox id and exception type only).
"""

from __future__ import annotations

import base64
import contextlib
import imaplib
import logging
import re
import socket
import ssl
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.utils.translation import gettext as _

from vorgang.core import clock

from . import journal
from .models import AfterFetch, InboundChannel, InboundMessage, Mailbox, Security

log = logging.getLogger(__name__)

BATCH_SIZE = 200
TIMEOUT = 60  # seconds for connecting and for every answer of the server
TOO_BIG_FOLDER = "Vorgang-zu-gross"
LOCAL_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})

_UID = re.compile(rb"\bUID (\d+)", re.IGNORECASE)
_SIZE = re.compile(rb"\bRFC822\.SIZE (\d+)", re.IGNORECASE)


class PollError(Exception):
    """A problem that stops the poll of one mailbox; the message is meant for admins."""


@dataclass
class PollResult:
    mailbox_id: int
    name: str
    fetched: int = 0  # message bodies fetched from the server
    stored: int = 0  # new journal entries
    already_stored: int = 0  # in the journal from an earlier, interrupted poll
    too_big: list[int] = field(default_factory=list)  # UIDs over the size limit
    errors: list[str] = field(default_factory=list)  # the poll failed (at least in part)
    notices: list[str] = field(default_factory=list)  # worth knowing, not a failure

    @property
    def ok(self) -> bool:
        return not self.errors


# ------------------------------------------------------------------ entry points


def poll_due_mailboxes(*, ignore_interval: bool = False) -> list[PollResult]:
    """Poll every active mailbox whose interval has passed (all active ones if told so).

    Each mailbox is claimed first (``last_polled_at`` moves only if nobody else
    moved it meanwhile), so two pollers running at the same time do not both pick
    the same due mailbox; one broken mailbox never keeps the others from being polled.
    """
    now = clock.now()
    results = []
    for mailbox in Mailbox.objects.filter(active=True).select_related("department"):
        if not ignore_interval and not is_due(mailbox, now):
            continue
        claimed = Mailbox.objects.filter(
            pk=mailbox.pk, last_polled_at=mailbox.last_polled_at
        ).update(last_polled_at=now)
        if not claimed:
            continue
        try:
            results.append(poll_mailbox(mailbox))
        except Exception as exc:  # poll_mailbox records its own errors; this is the backstop
            log.error("imap mailbox %s: poll crashed (%s)", mailbox.pk, type(exc).__name__)
            results.append(
                PollResult(mailbox.pk, mailbox.name, errors=[_describe(exc, mailbox.password)])
            )
    return results


def is_due(mailbox: Mailbox, now: datetime) -> bool:
    if mailbox.last_polled_at is None:
        return True
    return mailbox.last_polled_at + timedelta(seconds=mailbox.poll_interval) <= now


def poll_mailbox(mailbox: Mailbox, *, batch_size: int = BATCH_SIZE) -> PollResult:
    """Fetch up to ``batch_size`` new messages of one mailbox into the journal."""
    result = PollResult(mailbox.pk, mailbox.name)
    mailbox.last_polled_at = clock.now()
    journal.make_commits_durable()  # the server's copy is deleted once it is journaled
    try:
        conn = connect(mailbox)
        try:
            _poll(conn, mailbox, result, batch_size)
        finally:
            _logout(conn)
    except Exception as exc:
        log.warning("imap mailbox %s: poll failed (%s)", mailbox.pk, type(exc).__name__)
        result.errors.append(_describe(exc, mailbox.password))
    mailbox.last_error = "\n".join([*result.errors, *result.notices])[:4000]
    mailbox.save(update_fields=["last_polled_at", "last_error", "uidvalidity", "last_uid"])
    log.info(
        "imap mailbox %s: fetched %d, stored %d, errors %d",
        mailbox.pk,
        result.fetched,
        result.stored,
        len(result.errors),
    )
    return result


# ------------------------------------------------------------------ connection


def check_settings(mailbox: Mailbox) -> None:
    """Refuse settings that cannot work or are not safe, before connecting."""
    host = mailbox.host.strip()
    if mailbox.security == Security.NONE and host.lower() not in LOCAL_HOSTS:
        raise PollError(
            _(
                "Unencrypted IMAP is allowed only to a server on this machine (127.0.0.1, ::1, "
                "localhost), not to %(host)s. Choose IMAPS or STARTTLS."
            )
            % {"host": host}
        )
    if mailbox.after_fetch == AfterFetch.MOVE:
        move_to = mailbox.move_to.strip()
        if not move_to:
            raise PollError(_("After fetching, messages are to be moved, but no folder is set."))
        if move_to == mailbox.folder:
            raise PollError(_("Messages cannot be moved to the folder they are fetched from."))


def connect(mailbox: Mailbox) -> imaplib.IMAP4:
    """An IMAP connection to the mailbox's server, logged in, with fresh capabilities."""
    check_settings(mailbox)
    host = mailbox.host.strip()
    context = ssl_context(mailbox.verify_certificate)
    conn: imaplib.IMAP4
    if mailbox.security == Security.IMAPS:
        conn = imaplib.IMAP4_SSL(host, mailbox.port, ssl_context=context, timeout=TIMEOUT)
    else:
        conn = imaplib.IMAP4(host, mailbox.port, timeout=TIMEOUT)
        if mailbox.security == Security.STARTTLS:
            try:
                if "STARTTLS" not in conn.capabilities:
                    raise PollError(
                        _("The server does not offer STARTTLS; the password is not sent.")
                    )
                conn.starttls(ssl_context=context)
            except BaseException:
                _close(conn)
                raise
    try:
        _login(conn, mailbox.username, mailbox.password)
        typ, data = conn.capability()
        if typ == "OK" and data and isinstance(data[-1], bytes):
            conn.capabilities = tuple(data[-1].decode("ascii", "replace").upper().split())
    except BaseException:
        _logout(conn)
        raise
    return conn


def ssl_context(verify: bool) -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def _login(conn: imaplib.IMAP4, username: str, password: str) -> None:
    try:
        if username.isascii() and password.isascii():
            conn.login(quote(username), password)
        elif "AUTH=PLAIN" in conn.capabilities:
            secret = f"\0{username}\0{password}".encode()
            conn.authenticate("PLAIN", lambda _challenge: secret)
        else:
            raise PollError(
                _(
                    "The user name or password contains characters that this server cannot "
                    "take (it offers no AUTH=PLAIN)."
                )
            )
    except imaplib.IMAP4.error as exc:
        raise PollError(
            _("Login failed: %(reason)s") % {"reason": _server_text(exc, password)}
        ) from exc


def _close(conn: imaplib.IMAP4) -> None:
    """Drop the connection without a word (after a failed STARTTLS)."""
    with contextlib.suppress(OSError):
        conn.shutdown()


def _logout(conn: imaplib.IMAP4) -> None:
    try:
        conn.logout()  # swallows the server's errors itself
    except Exception as exc:
        log.debug("imap logout failed (%s)", type(exc).__name__)


# ------------------------------------------------------------------ the poll


@dataclass
class _Candidate:
    uid: int
    size: int


def _poll(conn: imaplib.IMAP4, mailbox: Mailbox, result: PollResult, batch_size: int) -> None:
    keep = mailbox.after_fetch == AfterFetch.KEEP
    move_to = mailbox.move_to.strip()
    exists = _select(conn, mailbox.folder, readonly=keep)
    uidvalidity = _uidvalidity(conn)
    if uidvalidity != mailbox.uidvalidity:
        if keep and mailbox.uidvalidity is not None:
            log.info("imap mailbox %s: UIDVALIDITY changed, fetching all again", mailbox.pk)
            result.notices.append(
                _(
                    "The folder's UIDVALIDITY changed: all its messages were fetched again "
                    "(copies already received are recognised as duplicates)."
                )
            )
        mailbox.uidvalidity = uidvalidity
        mailbox.last_uid = 0
    if not exists:
        return

    first = mailbox.last_uid + 1 if keep else 1
    limit = settings.VORGANG_MAIL_MAX_BYTES
    done: list[int] = []  # in the journal, so the after-fetch action may run
    for candidate, ref, kind in _slice(
        _sizes(conn, first), mailbox, uidvalidity, limit, batch_size
    ):
        if kind == "too big":
            result.too_big.append(candidate.uid)
        elif kind == "in journal":
            result.already_stored += 1
            done.append(candidate.uid)
        elif not _take(conn, mailbox, candidate.uid, ref, result):
            break  # never go past a message the journal did not take
        else:
            done.append(candidate.uid)
        if keep:
            mailbox.last_uid = candidate.uid

    acted = True
    if mailbox.after_fetch == AfterFetch.DELETE:
        acted = _delete(conn, done)
    elif mailbox.after_fetch == AfterFetch.MOVE:
        acted = _move(conn, done, move_to)
    if result.too_big:
        _handle_too_big(conn, mailbox, result, limit)
    if not acted:
        result.notices.append(
            _(
                "The server offers no UIDPLUS, and other messages in the folder are marked as "
                "deleted but not fetched yet; the fetched messages stay in the folder until "
                "those have been fetched too."
            )
        )


def _slice(
    candidates: list[_Candidate], mailbox: Mailbox, uidvalidity: int, limit: int, batch_size: int
) -> Iterator[tuple[_Candidate, str, str]]:
    """This poll's messages in UID order: (candidate, source_ref, what to do with it).

    ``fetch`` for at most ``batch_size`` messages; ``in journal`` (stored by an earlier,
    interrupted poll: only the after-fetch action is missing) and ``too big`` do not
    count towards the batch.
    """
    fetches = 0
    for start in range(0, len(candidates), 500):
        chunk = candidates[start : start + 500]
        refs = [f"imap:{mailbox.pk}:{uidvalidity}:{c.uid}" for c in chunk]
        known = set(
            InboundMessage.objects.filter(source_ref__in=refs).values_list("source_ref", flat=True)
        )
        for candidate, ref in zip(chunk, refs, strict=True):
            if candidate.size > limit:
                yield candidate, ref, "too big"
            elif ref in known:
                yield candidate, ref, "in journal"
            elif fetches == batch_size:
                return
            else:
                fetches += 1
                yield candidate, ref, "fetch"


def _take(conn: imaplib.IMAP4, mailbox: Mailbox, uid: int, ref: str, result: PollResult) -> bool:
    """Fetch one message into the journal; False when the journal refused it."""
    raw = _fetch(conn, uid)
    if raw is None:  # expunged by someone else meanwhile: nothing to take
        return True
    result.fetched += 1
    try:
        journal.accept(
            raw,
            channel=InboundChannel.IMAP,
            department=mailbox.department,
            recipient="",
            source_ref=ref,
        )
    except Exception as exc:
        log.warning(
            "imap mailbox %s: journal refused UID %s (%s)", mailbox.pk, uid, type(exc).__name__
        )
        result.errors.append(
            _(
                "Message UID %(uid)s could not be stored (%(reason)s); it stays on the server "
                "with all after it, the next poll tries again."
            )
            % {"uid": uid, "reason": _exception_summary(exc)}
        )
        return False
    result.stored += 1
    return True


def _handle_too_big(conn: imaplib.IMAP4, mailbox: Mailbox, result: PollResult, limit: int) -> None:
    uids = ", ".join(str(uid) for uid in result.too_big[:20])
    if len(result.too_big) > 20:
        uids += ", …"
    if mailbox.after_fetch == AfterFetch.MOVE and _move(conn, result.too_big, TOO_BIG_FOLDER):
        text = _(
            "%(count)d message(s) larger than %(limit)s bytes were not fetched and were moved "
            "to the folder %(folder)s (UID %(uids)s)."
        )
    else:
        text = _(
            "%(count)d message(s) larger than %(limit)s bytes were not fetched and stay on the "
            "server (UID %(uids)s)."
        )
    result.notices.append(
        text
        % {"count": len(result.too_big), "limit": limit, "folder": TOO_BIG_FOLDER, "uids": uids}
    )


def _select(conn: imaplib.IMAP4, folder: str, *, readonly: bool) -> int:
    """Open the folder; the number of messages in it."""
    typ, data = conn.select(quote(encode_folder(folder)), readonly=readonly)
    if typ != "OK":
        raise PollError(
            _("The folder %(folder)s cannot be opened: %(reason)s")
            % {"folder": folder, "reason": _response_text(data)}
        )
    try:
        return int(data[0] or 0)
    except (TypeError, ValueError):
        return 1  # unclear: look anyway


def _uidvalidity(conn: imaplib.IMAP4) -> int:
    _typ, data = conn.response("UIDVALIDITY")
    value = data[-1] if data else None
    if not isinstance(value, bytes) or not value.strip().isdigit():
        raise PollError(_("The server did not tell the folder's UIDVALIDITY."))
    return int(value)


def _sizes(conn: imaplib.IMAP4, first: int) -> list[_Candidate]:
    """UIDs from ``first`` on with their sizes, in UID order."""
    typ, data = conn.uid("FETCH", f"{first}:*", "(UID RFC822.SIZE)")
    _check(typ, data, "UID FETCH")
    found: dict[int, int] = {}
    for item in data:
        line = item[0] if isinstance(item, tuple) else item
        if not isinstance(line, bytes):
            continue
        uid, size = _UID.search(line), _SIZE.search(line)
        if uid and size and int(uid.group(1)) >= first:  # "n:*" also names the last message
            found[int(uid.group(1))] = int(size.group(1))
    return [_Candidate(uid, found[uid]) for uid in sorted(found)]


def _fetch(conn: imaplib.IMAP4, uid: int) -> bytes | None:
    typ, data = conn.uid("FETCH", str(uid), "(BODY.PEEK[])")
    _check(typ, data, "UID FETCH")
    for item in data:
        if isinstance(item, tuple) and b"BODY[]" in item[0].upper():
            return item[1]
    return None


def _delete(conn: imaplib.IMAP4, uids: list[int]) -> bool:
    """Flag and expunge exactly these messages; False (nothing done) where that is not safe."""
    if not uids:
        return True
    uid_set = compact_uids(uids)
    if "UIDPLUS" not in conn.capabilities and not _only_these_deleted(conn, uids):
        return False
    typ, data = conn.uid("STORE", uid_set, "+FLAGS.SILENT", r"(\Deleted)")
    _check(typ, data, "UID STORE")
    if "UIDPLUS" in conn.capabilities:
        typ, data = conn.uid("EXPUNGE", uid_set)
    else:
        typ, data = conn.expunge()
    _check(typ, data, "EXPUNGE")
    return True


def _only_these_deleted(conn: imaplib.IMAP4, uids: list[int]) -> bool:
    """Without UIDPLUS an EXPUNGE removes every message flagged \\Deleted: may it?

    Not while the folder holds flagged messages that this poll did not take (someone
    else's, beyond this slice): they would be gone before Vorgang fetched them.
    """
    typ, data = conn.uid("SEARCH", "DELETED")
    _check(typ, data, "UID SEARCH")
    flagged = {int(uid) for line in data if isinstance(line, bytes) for uid in line.split()}
    return flagged <= set(uids)


def _move(conn: imaplib.IMAP4, uids: list[int], folder: str) -> bool:
    if not uids:
        return True
    _ensure_folder(conn, folder)
    target = quote(encode_folder(folder))
    uid_set = compact_uids(uids)
    if "MOVE" in conn.capabilities:
        typ, data = conn.uid("MOVE", uid_set, target)
        _check(typ, data, "UID MOVE")
        return True
    if "UIDPLUS" not in conn.capabilities and not _only_these_deleted(conn, uids):
        return False  # copying now would copy them again on the next poll
    typ, data = conn.uid("COPY", uid_set, target)
    _check(typ, data, "UID COPY")
    return _delete(conn, uids)


def _ensure_folder(conn: imaplib.IMAP4, folder: str) -> None:
    name = quote(encode_folder(folder))
    typ, data = conn.list('""', name)
    if typ == "OK" and any(item for item in data):
        return
    typ, data = conn.create(name)
    _check(typ, data, "CREATE")
    conn.subscribe(name)  # so that mail clients show it; a refusal does not matter


def _check(typ: str, data: list, command: str) -> None:
    if typ != "OK":
        raise PollError(
            _("The server refused %(command)s: %(reason)s")
            % {"command": command, "reason": _response_text(data)}
        )


# ------------------------------------------------------------------ helpers


def quote(value: str) -> str:
    """An IMAP quoted string."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def encode_folder(name: str) -> str:
    """A folder name in IMAP's modified UTF-7 (RFC 3501 5.1.3): "Entwürfe" -> "Entw&APw-rfe"."""
    out: list[str] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            encoded = base64.b64encode("".join(pending).encode("utf-16-be")).decode("ascii")
            out.append("&" + encoded.rstrip("=").replace("/", ",") + "-")
            pending.clear()

    for char in name:
        if 0x20 <= ord(char) <= 0x7E:
            flush()
            out.append("&-" if char == "&" else char)
        else:
            pending.append(char)
    flush()
    return "".join(out)


def compact_uids(uids: Iterable[int]) -> str:
    """``[1, 2, 3, 7, 9, 10]`` -> ``"1:3,7,9:10"``."""
    ordered = sorted(set(uids))
    parts: list[str] = []
    start = prev = ordered[0]
    for uid in [*ordered[1:], None]:
        if uid is not None and uid == prev + 1:
            prev = uid
            continue
        parts.append(str(start) if start == prev else f"{start}:{prev}")
        if uid is not None:
            start = prev = uid
    return ",".join(parts)


def _response_text(data: list) -> str:
    for item in reversed(data or []):
        if isinstance(item, bytes):
            return item.decode("utf-8", "replace")[:300]
    return "-"


def _server_text(exc: BaseException, password: str) -> str:
    args = exc.args
    value = args[0] if args else ""
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    return _mask(text, password)[:300]


def _mask(text: str, password: str) -> str:
    return text.replace(password, "***") if password else text


def _exception_summary(exc: BaseException) -> str:
    """The type, and for OS errors the reason; never the arguments (they may hold mail data)."""
    if isinstance(exc, OSError) and exc.strerror:
        return f"{type(exc).__name__}: {exc.strerror}"
    return type(exc).__name__


def _describe(exc: BaseException, password: str) -> str:
    """An admin-readable reason for a failed poll, with no password and no mail content."""
    if isinstance(exc, PollError):
        return _mask(str(exc), password)
    if isinstance(exc, ssl.SSLCertVerificationError):
        return _(
            "The server's certificate was not accepted (%(reason)s). Check the server name; "
            "for a server with a self-signed certificate turn certificate verification off."
        ) % {"reason": exc.verify_message or exc.reason or "-"}
    if isinstance(exc, ssl.SSLError):
        return _("TLS failed: %(reason)s") % {"reason": exc.reason or type(exc).__name__}
    if isinstance(exc, TimeoutError):
        return _("The server did not answer in time.")
    if isinstance(exc, socket.gaierror):
        return _("The server name cannot be resolved.")
    if isinstance(exc, OSError):
        return _("Cannot connect to the server: %(reason)s") % {
            "reason": exc.strerror or type(exc).__name__
        }
    if isinstance(exc, imaplib.IMAP4.error):
        return _("IMAP error: %(reason)s") % {"reason": _server_text(exc, password)}
    return _("Unexpected error: %(type)s") % {"type": type(exc).__name__}
