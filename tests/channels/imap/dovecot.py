"""A throwaway Dovecot for the IMAP tests: private ports on 127.0.0.1, everything in a temp dir.

``Dovecot.start()`` writes a config that reads nothing from /etc/dovecot and runs
``dovecot -F -c <config>`` as a child of the test run:

- ``listen = 127.0.0.1``; an IMAP port (plain, with STARTTLS offered) and an IMAPS
  port, both picked free by binding to port 0;
- a self-signed certificate for ``localhost`` / ``127.0.0.1`` made with ``openssl req``;
- users in passwd-files with plain passwords, one file per user (``users/%u``:
  ``add_user`` writes a new one per test, which Dovecot reads at its first login;
  a shared file would be reread at most once a second), mail as maildir in their
  homes;
- base_dir, state_dir and the log file inside the temp dir, and an instance name
  of its own, so it never meets a system Dovecot;
- as root: Dovecot's own unprivileged users (``dovecot`` for its internal
  processes and for the mail files, ``dovenull`` for the login processes); as a
  normal user: that user everywhere, and no chroot (which would need root).

A user can get a userdb override of the capabilities it sees after login (e.g.
``IMAP4rev1`` only: no MOVE, no UIDPLUS) to test the poller's fallbacks.
"""

from __future__ import annotations

import ctypes
import grp
import imaplib
import itertools
import os
import pwd
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

PASSWORD = "geheim-Passwort-1"
START_TIMEOUT = 15.0


class DovecotUnavailable(Exception):
    """Dovecot (or openssl) is not installed here."""


def dovecot_binary() -> str | None:
    """``$VORGANG_TEST_DOVECOT`` if set (another build), else Debian's ``dovecot``."""
    chosen = os.environ.get("VORGANG_TEST_DOVECOT")
    if chosen:
        return chosen if os.access(chosen, os.X_OK) else None
    found = shutil.which("dovecot")
    if found:
        return found
    return "/usr/sbin/dovecot" if os.access("/usr/sbin/dovecot", os.X_OK) else None


def _die_with_parent() -> Callable[[], None] | None:
    """Linux: Dovecot gets SIGTERM when the test run dies, so no server is left behind."""
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(None, use_errno=True)

    def hook() -> None:
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG

    return hook


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Dovecot:
    root: Path
    binary: str
    plain_port: int = 0
    imaps_port: int = 0
    process: subprocess.Popen[bytes] | None = None

    _users = itertools.count(1)

    @property
    def cert(self) -> Path:
        return self.root / "cert.pem"

    @property
    def users_dir(self) -> Path:
        return self.root / "users"

    @property
    def log_file(self) -> Path:
        return self.root / "dovecot.log"

    def log(self) -> str:
        try:
            return self.log_file.read_text(errors="replace")[-4000:]
        except OSError:
            return "(no log)"

    # -------------------------------------------------------------- life cycle

    @classmethod
    def start(cls) -> Dovecot:
        binary = dovecot_binary()
        if binary is None:
            raise DovecotUnavailable(
                "Dovecot is not installed (Debian: apt-get install dovecot-imapd; "
                "`make test-deps` installs it when run as root)"
            )
        if shutil.which("openssl") is None:
            raise DovecotUnavailable("openssl is not installed (needed for a test certificate)")
        # Not below pytest's tmp dir: that is private to this user, and as root Dovecot's
        # own users must reach their mail and sockets here.
        root = Path(tempfile.mkdtemp(prefix="vorgang-dovecot-"))
        root.chmod(0o755)
        server = cls(root=root, binary=binary)
        try:
            server._prepare()
            for attempt in range(3):  # a port taken between probing and binding: try others
                server.plain_port, server.imaps_port = free_port(), free_port()
                if server._launch(attempt):
                    return server
            raise RuntimeError(f"Dovecot did not start:\n{server.log()}")
        except BaseException:
            server.stop()
            raise

    def _prepare(self) -> None:
        subprocess.run(
            [
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "2",
                "-subj",
                "/CN=localhost",
                "-addext",
                "subjectAltName=DNS:localhost,IP:127.0.0.1",
                "-keyout",
                str(self.root / "key.pem"),
                "-out",
                str(self.cert),
            ],
            check=True,
            capture_output=True,
            timeout=60,
        )
        (self.root / "home").mkdir()
        if os.geteuid() == 0:
            mail_user = pwd.getpwnam("dovecot")
            os.chown(self.root / "home", mail_user.pw_uid, mail_user.pw_gid)
        self.users_dir.mkdir()
        self.users_dir.chmod(0o755)

    def _identity(self) -> dict[str, str | int]:
        if os.geteuid() == 0:
            internal = pwd.getpwnam("dovecot")
            pwd.getpwnam("dovenull")  # KeyError: the package did not create it
            return {
                "internal_user": "dovecot",
                "internal_group": grp.getgrgid(internal.pw_gid).gr_name,
                "login_user": "dovenull",
                "uid": internal.pw_uid,
                "gid": internal.pw_gid,
            }
        me = pwd.getpwuid(os.getuid())
        return {
            "internal_user": me.pw_name,
            "internal_group": grp.getgrgid(os.getgid()).gr_name,
            "login_user": me.pw_name,
            "uid": os.getuid(),
            "gid": os.getgid(),
        }

    def config(self, instance: str) -> str:
        ident = self._identity()
        root = self.root
        return f"""\
# Throwaway Dovecot for Vorgang's IMAP tests; nothing here is read from /etc/dovecot.
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
instance_name = {instance}
log_path = {root}/dovecot.log
default_internal_user = {ident["internal_user"]}
default_internal_group = {ident["internal_group"]}
default_login_user = {ident["login_user"]}
first_valid_uid = {ident["uid"]}
last_valid_uid = {ident["uid"]}
ssl = yes
ssl_cert = <{root}/cert.pem
ssl_key = <{root}/key.pem
ssl_min_protocol = TLSv1.2
disable_plaintext_auth = no
auth_mechanisms = plain login
# Wrong passwords are part of the tests: answer them at once.
auth_failure_delay = 0
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {self.users_dir}/%u
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {self.users_dir}/%u
}}
mail_location = maildir:~/Maildir
service anvil {{
  chroot =
  # No growing delay after the tests' wrong passwords (Dovecot's documented switch).
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.plain_port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {self.imaps_port}
    ssl = yes
  }}
}}
"""

    def _launch(self, attempt: int) -> bool:
        conf = self.root / "dovecot.conf"
        conf.write_text(self.config(f"vorgang-test-{os.getpid()}-{attempt}"))
        self.process = subprocess.Popen(
            [self.binary, "-F", "-c", str(conf)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=_die_with_parent(),
        )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.process = None
                return False
            if self._greets(self.plain_port) and self._greets(self.imaps_port, tls=True):
                return True
            time.sleep(0.05)
        self._terminate()
        return False

    def _greets(self, port: int, *, tls: bool = False) -> bool:
        try:
            if tls:
                conn: imaplib.IMAP4 = imaplib.IMAP4_SSL(
                    "127.0.0.1", port, ssl_context=_unverified(), timeout=2
                )
            else:
                conn = imaplib.IMAP4("127.0.0.1", port, timeout=2)
        except (OSError, imaplib.IMAP4.error):
            return False
        conn.logout()
        return True

    def _terminate(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)

    def stop(self) -> None:
        self._terminate()
        shutil.rmtree(self.root, ignore_errors=True)

    # -------------------------------------------------------------- accounts

    def add_user(self, *, capability: str | None = None, password: str = PASSWORD) -> Account:
        """A new mail user with an empty INBOX; ``capability`` overrides what it sees."""
        name = f"user{next(self._users)}"
        ident = self._identity()
        extra = f"userdb_imap_capability={capability}" if capability else ""
        line = (
            f"{name}:{{PLAIN}}{password}:{ident['uid']}:{ident['gid']}::"
            f"{self.root}/home/{name}::{extra}\n"
        )
        # One passwd-file per user: Dovecot rereads a changed file at most once a second,
        # but opens a file it has not seen before at once.
        fresh = self.users_dir / f".{name}.new"
        fresh.write_text(line, encoding="utf-8")
        fresh.chmod(0o644)
        fresh.replace(self.users_dir / name)
        return Account(self, name, password)


def _unverified() -> ssl.SSLContext:
    return ssl._create_unverified_context()  # noqa: S323 - the test server's own certificate


@dataclass
class Account:
    """One mail user on the test server, driven over plain IMAP on 127.0.0.1."""

    server: Dovecot
    user: str
    password: str

    def connect(self) -> imaplib.IMAP4:
        conn = imaplib.IMAP4("127.0.0.1", self.server.plain_port, timeout=10)
        if self.password.isascii():
            conn.login(self.user, self.password)
        else:
            secret = f"\0{self.user}\0{self.password}".encode()
            conn.authenticate("PLAIN", lambda _challenge: secret)
        return conn

    def append(self, raw: bytes, folder: str = "INBOX") -> int:
        """Deliver a message (IMAP APPEND); its UID."""
        conn = self.connect()
        try:
            typ, data = conn.append(_quote(folder), "", None, raw)
            assert typ == "OK", data
            # "[APPENDUID <uidvalidity> <uid>] Append completed."
            return int(data[-1].split(b"]")[0].split()[-1])
        finally:
            conn.logout()

    def uids(self, folder: str = "INBOX") -> list[int]:
        conn = self.connect()
        try:
            typ, data = conn.select(_quote(folder), readonly=True)
            assert typ == "OK", data
            typ, data = conn.uid("SEARCH", None, "ALL")
            assert typ == "OK", data
            return [int(uid) for uid in data[0].split()]
        finally:
            conn.logout()

    def messages(self, folder: str = "INBOX") -> list[bytes]:
        conn = self.connect()
        try:
            typ, data = conn.select(_quote(folder), readonly=True)
            assert typ == "OK", data
            if data[0] == b"0":
                return []
            typ, data = conn.uid("FETCH", "1:*", "(BODY.PEEK[])")
            assert typ == "OK", data
            return [item[1] for item in data if isinstance(item, tuple)]
        finally:
            conn.logout()

    def flags(self, uid: int, folder: str = "INBOX") -> bytes:
        conn = self.connect()
        try:
            conn.select(_quote(folder), readonly=True)
            typ, data = conn.uid("FETCH", str(uid), "(FLAGS)")
            assert typ == "OK", data
            return b" ".join(item for item in data if isinstance(item, bytes))
        finally:
            conn.logout()

    def folders(self) -> set[str]:
        conn = self.connect()
        try:
            typ, data = conn.list()
            assert typ == "OK", data
            names = set()
            for item in data:
                assert isinstance(item, bytes)
                # (\HasNoChildren) "." "Name" or ... "." Name
                name = item.rsplit(b' "." ', 1)[-1].decode()
                names.add(name.strip('"'))
            return names
        finally:
            conn.logout()

    def recreate(self, folder: str) -> None:
        """Delete and create the folder again: a new UIDVALIDITY, no messages."""
        conn = self.connect()
        try:
            typ, data = conn.delete(_quote(folder))
            assert typ == "OK", data
            typ, data = conn.create(_quote(folder))
            assert typ == "OK", data
        finally:
            conn.logout()

    def create(self, folder: str) -> None:
        conn = self.connect()
        try:
            typ, data = conn.create(_quote(folder))
            assert typ == "OK", data
        finally:
            conn.logout()

    def uidvalidity(self, folder: str = "INBOX") -> int:
        conn = self.connect()
        try:
            conn.select(_quote(folder), readonly=True)
            _typ, data = conn.response("UIDVALIDITY")
            return int(data[-1])
        finally:
            conn.logout()


def _quote(folder: str) -> str:
    from vorgang.channels.imap import encode_folder, quote

    return quote(encode_folder(folder))
