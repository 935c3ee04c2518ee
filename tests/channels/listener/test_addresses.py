"""RCPT without the database each time: the listener's AddressBook, and MAIL/RCPT
addresses read by a regular expression when they are plain (listener._PlainAddresses).
"""

from __future__ import annotations

import smtplib
from collections.abc import Callable

import pytest
from aiosmtpd.smtp import SMTP
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.factories import DepartmentFactory
from vorgang.accounts.models import Department
from vorgang.channels import addressing
from vorgang.channels.email.listener import IntakeController, _LMTPProtocol
from vorgang.channels.models import InboundMessage

from .conftest import ADDRESS, OTHER_ADDRESS, close, connect, message

SENDER = "erika@example.org"
Start = Callable[..., IntakeController]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# --- the address book -------------------------------------------------------------------


@pytest.mark.django_db
def test_a_loaded_book_answers_without_the_database() -> None:
    department = DepartmentFactory(email_address=ADDRESS)
    book = addressing.AddressBook(ttl=5, clock=Clock())
    assert book.cached(ADDRESS) is None  # not loaded yet: "ask", not "unknown"
    assert book.resolve(ADDRESS) == addressing.Recipient(department, "")

    with CaptureQueriesContext(connection) as queries:
        found = book.cached("Buergerbuero+abc123@Stadt.Example")
    assert len(queries) == 0
    assert found is not None
    assert (found.department, found.token) == (department, "abc123")


@pytest.mark.django_db
def test_an_address_the_book_lacks_is_asked_for_every_time() -> None:
    DepartmentFactory(email_address=ADDRESS)
    book = addressing.AddressBook(ttl=5, clock=Clock())
    book.resolve(ADDRESS)
    assert book.cached(OTHER_ADDRESS) is None
    assert book.resolve(OTHER_ADDRESS) is None  # really unknown

    added = DepartmentFactory(email_address=OTHER_ADDRESS)  # within the ttl
    found = book.resolve(OTHER_ADDRESS)
    assert found is not None
    assert found.department == added


@pytest.mark.django_db
def test_a_deactivated_department_is_noticed_after_the_ttl() -> None:
    department = DepartmentFactory(email_address=ADDRESS)
    clock = Clock()
    book = addressing.AddressBook(ttl=5, clock=clock)
    book.resolve(ADDRESS)
    Department.objects.filter(pk=department.pk).update(active=False)

    clock.now += 4.9
    assert book.cached(ADDRESS) is not None  # the promise: at most ttl seconds late
    clock.now += 0.2
    assert book.cached(ADDRESS) is None
    assert book.resolve(ADDRESS) is None


# --- in the listener --------------------------------------------------------------------


def test_rcpt_is_answered_from_the_book(department: Department, start_listener: Start) -> None:
    controller = start_listener()
    client = connect(controller)
    assert client.sendmail(SENDER, [ADDRESS], message(subject="Erste")) == {}
    book = controller.handler.addresses
    assert book.fresh()
    assert book.cached(ADDRESS) is not None
    assert client.sendmail(SENDER, [ADDRESS], message(subject="Zweite")) == {}
    close(client)
    assert InboundMessage.objects.filter(department=department).count() == 2


def test_a_department_added_while_listening_is_taken_at_once(
    department: Department, start_listener: Start
) -> None:
    client = connect(start_listener())
    assert client.sendmail(SENDER, [ADDRESS], message()) == {}  # the book is loaded
    added = DepartmentFactory(name="Standesamt", email_address=OTHER_ADDRESS)
    assert client.sendmail(SENDER, [OTHER_ADDRESS], message(to=OTHER_ADDRESS)) == {}
    close(client)
    assert InboundMessage.objects.filter(department=added).count() == 1


def test_a_deactivated_department_is_refused_once_the_book_is_old(
    department: Department, start_listener: Start
) -> None:
    controller = start_listener()
    clock = Clock()
    controller.handler.addresses.clock = clock
    client = connect(controller)
    assert client.sendmail(SENDER, [ADDRESS], message()) == {}
    Department.objects.filter(pk=department.pk).update(active=False)
    clock.now += controller.handler.addresses.ttl
    client.mail(SENDER)
    assert client.rcpt(ADDRESS)[0] == 550
    close(client)


# --- plain addresses --------------------------------------------------------------------


def _protocol() -> _LMTPProtocol:
    return _LMTPProtocol.__new__(_LMTPProtocol)


def outcome(read: Callable[[str], object], arg: str) -> object:
    """The answer, or the exception type (aiosmtpd's parser raises IndexError on "<")."""
    try:
        return read(arg)
    except Exception as exc:
        return type(exc)


_noise = st.text(alphabet=st.sampled_from(list('ab.@<> \t()"[]-+=_üZ9\r\n:;,\\')), max_size=30)
_part = st.text(alphabet=st.sampled_from(list('aZ9.-+_=ü "()')), min_size=0, max_size=8)
# Mostly address-shaped: [space] < local @ domain > [rest], each part a little off at times.
_shaped = st.builds(
    lambda lead, local, domain, rest: f"{lead}<{local}@{domain}>{rest}",
    st.sampled_from(["", " ", "\t", "("]),
    _part,
    _part,
    st.sampled_from(["", " ", "  SIZE=1", "\tBODY=8BITMIME ", " (c) X", "(c)", ' "q"', "\r"]),
)


@settings(max_examples=500, deadline=None)
@given(st.one_of(_noise, _shaped))
def test_plain_addresses_are_read_as_aiosmtpd_reads_them(arg: str) -> None:
    protocol = _protocol()
    assert outcome(protocol._getaddr, arg) == outcome(lambda a: SMTP._getaddr(protocol, a), arg)


@pytest.mark.parametrize(
    "arg",
    [
        "<erika.mustermann+x@stadt.example>",
        "<a@b.de> SIZE=1234 BODY=8BITMIME",
        "<a@b.de>  (comment) SIZE=1",
        "<>",
        '<"quoted local"@stadt.example>',
        "<jürgen@bücher.example> SMTPUTF8",
        "<a@[192.0.2.1]>",
        "<a@b..de>",
    ],
)
def test_addresses_mtas_send(arg: str) -> None:
    protocol = _protocol()
    assert protocol._getaddr(arg) == SMTP._getaddr(protocol, arg)


def test_a_malformed_address_is_still_refused(department: Department, lmtp: smtplib.SMTP) -> None:
    code, _reply = lmtp.docmd("MAIL FROM:<a@b..de>")
    assert code == 553
    assert lmtp.mail(SENDER)[0] == 250
    assert lmtp.rcpt(ADDRESS)[0] == 250
