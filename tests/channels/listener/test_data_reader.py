"""DATA read in chunks (listener._ChunkedData): the same message and replies as aiosmtpd's
line-by-line reading, for any way the bytes are cut into TCP reads.

The reader itself is checked against a reference of RFC 5321's rules (the end line,
dot-stuffing, the size limit) over generated input; then end to end with a real
socket: dots at line starts, the end line split across reads, the limit exactly, a
command pipelined after the end, and a connection lost in the middle.
"""

from __future__ import annotations

import asyncio
import itertools
import smtplib
import socket
import time
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vorgang.accounts.models import Department
from vorgang.channels.email.listener import IntakeController, _line_limit, _LMTPProtocol
from vorgang.channels.models import InboundMessage

from .conftest import ADDRESS, close, connect, message

SENDER = "erika@example.org"
Start = Callable[..., IntakeController]


def reference(stream: bytes, limit: int) -> tuple[bytes | None, bytes]:
    """RFC 5321 4.5.2 line by line, as aiosmtpd reads: (content or None when over
    ``limit``, what follows the end line)."""
    lines: list[bytes] = []
    size = 0
    position = 0
    while True:
        end = stream.index(b"\r\n", position) + 2
        line = stream[position:end]
        position = end
        if line == b".\r\n":
            break
        size += len(line)
        lines.append(line[1:] if line.startswith(b".") else line)
    content = None if limit and size > limit else b"".join(lines)
    return content, stream[position:]


class _Writer:
    def close(self) -> None:  # the reader closes it when the connection is lost
        pass


def read(pieces: list[bytes], limit: int, reader_limit: int) -> tuple[bytes | None, bytes]:
    """Run the listener's reader over ``pieces`` arriving one after another:
    (what it read, what it left in the stream)."""

    async def run() -> tuple[bytes | None, bytes]:
        protocol = _LMTPProtocol.__new__(_LMTPProtocol)
        protocol.data_size_limit = limit
        protocol._reader = asyncio.StreamReader(limit=reader_limit)
        protocol._writer = _Writer()  # type: ignore[assignment]
        reading = asyncio.ensure_future(protocol._read_data())
        for piece in pieces:
            protocol._reader.feed_data(piece)
            await asyncio.sleep(0)  # the reader sees each piece on its own
        protocol._reader.feed_eof()
        content = await reading
        rest = await protocol._reader.read()
        return content, rest

    return asyncio.run(run())


def cut(stream: bytes, points: list[int]) -> list[bytes]:
    bounds = sorted({0, len(stream), *(p % (len(stream) + 1) for p in points)})
    return [stream[a:b] for a, b in itertools.pairwise(bounds)]


# Pieces that make the edge cases likely: dots at line starts, CRLF split, bare CR/LF.
token = st.sampled_from(
    [b"a", b"Zeile", b".", b"..", b"\r\n", b"\r", b"\n", b"\r\n.", b".\r\n", b" ", b"\xc3\xa4"]
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    body=st.lists(token, max_size=40).map(b"".join),
    points=st.lists(st.integers(min_value=0, max_value=400), max_size=8),
    limit=st.integers(min_value=0, max_value=120),
    reader_limit=st.integers(min_value=3, max_value=64),
)
def test_the_reader_reads_what_the_rfc_says(
    body: bytes, points: list[int], limit: int, reader_limit: int
) -> None:
    # What a client sends: its (stuffed or not) lines, the end line, the next command.
    ending = b"" if not body or body.endswith(b"\r\n") else b"\r\n"
    stream = body + ending + b".\r\nNOOP\r\n"
    assert read(cut(stream, points), limit, reader_limit) == reference(stream, limit)


@pytest.mark.parametrize(
    ("stream", "content"),
    [
        (b".\r\n", b""),  # no lines at all: the DATA command's CRLF precedes the end
        (b".hidden\r\n.\r\n", b"hidden\r\n"),  # the first line starts with a dot
        (b"..\r\n.\r\n", b".\r\n"),  # a line that is a single (stuffed) dot
        (b"Ende.\r\nnoch.\r\n.\r\n", b"Ende.\r\nnoch.\r\n"),  # lines ending in a dot
        (b"a\r\n..b\r\n...c\r\n.\r\n", b"a\r\n.b\r\n..c\r\n"),
        (b"a\n.\nb\r\n.\r\n", b"a\n.\nb\r\n"),  # bare LF is no line end
        (b"a\r\n. \r\n.\r\n", b"a\r\n \r\n"),
    ],
)
def test_dot_stuffing_and_the_end_line(stream: bytes, content: bytes) -> None:
    assert read([stream + b"QUIT\r\n"], 0, _line_limit(0)) == (content, b"QUIT\r\n")
    # The same, one byte per read.
    pieces = [stream[i : i + 1] for i in range(len(stream))]
    assert read(pieces, 0, _line_limit(0)) == (content, b"")


def test_the_limit_counts_the_bytes_as_sent() -> None:
    stream = b"..x\r\n.\r\n"  # 5 bytes before the end line, 4 of them content
    assert read([stream], 5, _line_limit(5)) == (b".x\r\n", b"")
    assert read([stream], 4, _line_limit(4)) == (None, b"")


# --- end to end -------------------------------------------------------------------------


class RawSession:
    """An LMTP session over a plain socket, to cut the data where a test wants."""

    def __init__(self, controller: IntakeController) -> None:
        self.sock = socket.create_connection((controller.hostname, controller.port), timeout=10)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = b""
        assert self.reply().startswith(b"220")
        self.command(b"LHLO test.example")
        while not self.reply().startswith(b"250 "):  # the last line of a multi-line reply
            pass

    def reply(self) -> bytes:
        while b"\r\n" not in self.buffer:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("closed")
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\r\n", 1)
        return line

    def command(self, line: bytes) -> None:
        self.sock.sendall(line + b"\r\n")

    def start_data(self) -> None:
        self.command(f"MAIL FROM:<{SENDER}>".encode())
        assert self.reply().startswith(b"250")
        self.command(f"RCPT TO:<{ADDRESS}>".encode())
        assert self.reply().startswith(b"250")
        self.command(b"DATA")
        assert self.reply().startswith(b"354")

    def send_in_pieces(self, *pieces: bytes) -> None:
        for piece in pieces:
            self.sock.sendall(piece)
            time.sleep(0.05)  # separate TCP reads on the listener's side


def test_the_end_line_split_across_reads(department: Department, start_listener: Start) -> None:
    session = RawSession(start_listener())
    raw = message(subject="Stückweise")
    session.start_data()
    session.send_in_pieces(raw[:-2], raw[-2:-1], raw[-1:] + b".", b"\r", b"\n")
    assert session.reply().startswith(b"250 2.0.0 Stored as")
    assert InboundMessage.objects.select_related("raw").get().raw.read() == raw


def test_a_command_right_after_the_end_line_is_answered(
    department: Department, start_listener: Start
) -> None:
    session = RawSession(start_listener())
    session.start_data()
    session.sock.sendall(message() + b".\r\nNOOP\r\n")  # in one write, as a pipelining MTA
    assert session.reply().startswith(b"250 2.0.0 Stored as")
    assert session.reply() == b"250 OK"
    assert InboundMessage.objects.count() == 1


def test_lines_starting_with_dots_arrive_unchanged(
    department: Department, lmtp: smtplib.SMTP
) -> None:
    body = ".\r\n..\r\n.Punkt am Anfang\r\nEnde.\r\n. \r\n"
    raw = message(body=body)
    assert lmtp.sendmail(SENDER, [ADDRESS], raw) == {}  # smtplib stuffs the dots
    assert InboundMessage.objects.select_related("raw").get().raw.read() == raw


def test_a_message_exactly_at_the_limit_is_taken_one_byte_more_is_not(
    department: Department, start_listener: Start, settings: object
) -> None:
    settings.VORGANG_MAIL_MAX_BYTES = 5000  # type: ignore[attr-defined]
    client = connect(start_listener())
    head = message(body="")
    exact = head + b"x" * (5000 - len(head) - 2) + b"\r\n"
    assert len(exact) == 5000
    client.mail(SENDER)
    client.rcpt(ADDRESS)
    assert client.data(exact)[0] == 250
    client.mail(SENDER)
    client.rcpt(ADDRESS)
    assert client.data(exact[:-2] + b"y\r\n") == (552, b"5.3.4 Message too big")
    assert client.noop()[0] == 250
    close(client)
    assert [e.raw.read() for e in InboundMessage.objects.select_related("raw")] == [exact]


def test_a_connection_lost_in_the_data_stores_nothing(
    department: Department, start_listener: Start
) -> None:
    controller = start_listener()
    session = RawSession(controller)
    session.start_data()
    session.send_in_pieces(message(subject="Abgebrochen")[:200])
    session.sock.close()
    time.sleep(0.2)
    # The listener goes on with the next session.
    client = connect(controller)
    assert client.sendmail(SENDER, [ADDRESS], message(subject="Danach")) == {}
    close(client)
    stored = [e.raw.read() for e in InboundMessage.objects.select_related("raw")]
    assert len(stored) == 1
    assert b"Danach" in stored[0]
