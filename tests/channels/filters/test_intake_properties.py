"""Property: any message, however broken, ends processed, failed or duplicate, once.

Messages are built with ``email.message.EmailMessage`` from random headers,
bodies and attachments, then some get random byte mutations. Each example goes
through journal.accept and intake.process (a real database), so the number of
examples is kept modest.
"""

from __future__ import annotations

from email.message import EmailMessage
from email.policy import SMTP

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.channels.filters.helpers import ADDRESS
from vorgang.channels import journal
from vorgang.channels.email.intake import process
from vorgang.channels.models import InboundStatus
from vorgang.tickets.models import Article

pytestmark = pytest.mark.django_db

FINAL = {InboundStatus.PROCESSED, InboundStatus.FAILED, InboundStatus.DUPLICATE}

text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=0, max_size=80)
header_names = st.sampled_from(
    [
        "Subject",
        "From",
        "Reply-To",
        "Cc",
        "In-Reply-To",
        "References",
        "Auto-Submitted",
        "Precedence",
        "X-Loop",
        "List-Id",
        "X-Auto-Response-Suppress",
        "Return-Path",
        "Content-Language",
    ]
)
senders = st.one_of(
    st.emails().map(str),
    st.sampled_from(
        ["MAILER-DAEMON@example.net", "noreply@example.org", ADDRESS, "Ärger <ä@example.org>"]
    ),
    text,
)
attachments = st.lists(
    st.tuples(
        st.sampled_from(["application/pdf", "image/png", "text/plain", "application/x-foo"]),
        st.binary(max_size=2048),
        text,
    ),
    max_size=3,
)


def _as_bytes(message: EmailMessage) -> bytes:
    for policy in (SMTP, SMTP.clone(utf8=True)):
        try:
            return message.as_bytes(policy=policy)
        except (ValueError, TypeError, UnicodeError, IndexError, AttributeError):
            continue
    return ("To: " + ADDRESS + "\r\n\r\n" + str(message.get_payload())).encode("utf-8", "replace")


@st.composite
def messages(draw: st.DrawFn) -> bytes:
    message = EmailMessage()
    try:
        message["To"] = ADDRESS
        message["From"] = draw(senders)
        for _ in range(draw(st.integers(0, 4))):
            message[draw(header_names)] = draw(text)
    except (ValueError, TypeError, IndexError):
        pass  # the email package refuses some headers: keep the ones it took
    body = draw(text)
    if draw(st.booleans()):
        message.set_content(body, subtype=draw(st.sampled_from(["plain", "html"])))
    else:
        message.set_content(body)
    for content_type, content, name in draw(attachments):
        maintype, subtype = content_type.split("/")
        try:
            message.add_attachment(
                content, maintype=maintype, subtype=subtype, filename=name or None
            )
        except ValueError:  # a file name the email package refuses (a line break)
            message.add_attachment(content, maintype=maintype, subtype=subtype)
    for number, part in enumerate(message.walk()):
        if part.is_multipart():
            part.set_boundary(f"=_boundary_{number}")  # else the email package uses random
    raw = _as_bytes(message)
    for _ in range(draw(st.integers(0, 6))):  # random byte mutations
        if not raw:
            break
        at = draw(st.integers(0, len(raw) - 1))
        kind = draw(st.sampled_from(["flip", "cut", "insert", "truncate"]))
        if kind == "flip":
            raw = raw[:at] + bytes([draw(st.integers(0, 255))]) + raw[at + 1 :]
        elif kind == "cut":
            raw = raw[:at] + raw[at + draw(st.integers(1, 40)) :]
        elif kind == "insert":
            raw = raw[:at] + draw(st.binary(min_size=1, max_size=40)) + raw[at:]
        else:
            raw = raw[:at]
    return raw


@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(raw=messages())
def test_any_message_ends_in_a_final_state_once(department, raw: bytes) -> None:
    entry = journal.accept(raw, channel="lmtp", recipient=ADDRESS, envelope_from="x@example.org")
    status = process(entry.pk)
    entry.refresh_from_db()
    assert status == entry.status
    assert entry.status in FINAL, entry.status
    if entry.status == InboundStatus.FAILED:
        assert entry.error
    articles = Article.objects.count()
    assert process(entry.pk) in FINAL
    assert Article.objects.count() == articles
