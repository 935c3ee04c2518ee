"""Property tests: the parser never raises and round-trips what a mailer wrote."""

from __future__ import annotations

import hashlib
import os
import re
from collections import Counter
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vorgang.channels.email.parsing import NO_VISIBLE_CONTENT, ParsedMessage, parse

FIXTURES = Path(__file__).parent / "fixtures"
SAMPLES = [path.read_bytes() for path in sorted(FIXTURES.glob("*.eml"))]

#: raise for a longer hunt: VORGANG_HYPOTHESIS_EXAMPLES=5000 pytest ...
PROPERTY_SETTINGS = settings(
    max_examples=int(os.environ.get("VORGANG_HYPOTHESIS_EXAMPLES", "200")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


#: text a person types into a subject or a name: no control characters
human_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Co", "Cn", "Cf", "Zl", "Zp")),
    max_size=80,
)
file_stem = (
    st.text(
        alphabet=st.characters(
            whitelist_categories=("Lu", "Ll", "Nd"), whitelist_characters="-_ äöüßÄÖÜ()"
        ),
        min_size=1,
        max_size=30,
    )
    .map(str.strip)
    .filter(bool)
)
extension = st.sampled_from(["pdf", "png", "jpg", "txt", "docx", "bin", "eml2"])
mime_types = st.sampled_from(
    [
        ("application", "pdf"),
        ("image", "png"),
        ("image", "jpeg"),
        ("text", "plain"),
        ("text", "csv"),
        ("application", "octet-stream"),
        ("application", "vnd.openxmlformats-officedocument.wordprocessingml.document"),
    ]
)
local_part = st.from_regex(r"[a-z][a-z0-9._-]{0,15}[a-z0-9]", fullmatch=True).filter(
    lambda s: ".." not in s
)
domain = st.from_regex(r"[a-z][a-z0-9-]{0,10}[a-z0-9]\.(de|org|example)", fullmatch=True)


def _blanks(text: str) -> str:
    return re.sub(r"[ \t]+", " ", text)


def _no_blanks(text: str) -> str:
    return re.sub(r"[ \t]+", "", text)


def _check_shape(parsed: ParsedMessage) -> None:
    assert parsed.content_type in ("text/plain", "text/html")
    assert isinstance(parsed.body, str) and parsed.body
    assert isinstance(parsed.subject, str)
    for attachment in parsed.attachments:
        assert isinstance(attachment.content, bytes)
        assert attachment.filename
        assert attachment.content_type == attachment.content_type.lower()
        assert "<" not in attachment.content_id
    if parsed.date is not None:
        assert parsed.date.tzinfo is not None


@PROPERTY_SETTINGS
@given(st.binary(max_size=4096))
def test_arbitrary_bytes_never_raise(raw):
    _check_shape(parse(raw))


@PROPERTY_SETTINGS
@given(
    st.sampled_from(SAMPLES),
    st.lists(
        st.tuples(st.integers(min_value=0, max_value=4000), st.binary(min_size=0, max_size=8)),
        max_size=6,
    ),
    st.integers(min_value=0, max_value=4000),
)
def test_mangled_real_messages_never_raise(sample, splices, cut):
    """Fixtures with random bytes spliced in and the tail cut off."""
    data = bytearray(sample)
    for position, junk in splices:
        index = position % (len(data) + 1)
        data[index : index + len(junk)] = junk
    _check_shape(parse(bytes(data[: max(cut, len(data) // 2)])))


@PROPERTY_SETTINGS
@given(subject=human_text, display=human_text, local=local_part, host=domain)
def test_headers_round_trip(subject, display, local, host):
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = Address(display_name=display, username=local, domain=host)
    message["To"] = "poststelle@musterstadt.example"
    message.set_content("Hallo")

    parsed = parse(message.as_bytes())

    # outer blanks of a header value carry no meaning (RFC 5322 unfolding)
    assert parsed.subject == subject.strip(" \t")
    assert parsed.from_email == f"{local}@{host}"
    # display names are cleaned as Zammad does (no quotes, no outer blanks) and
    # compared modulo runs of blanks (between the words of a phrase they are one)
    expected_name = display.replace('"', "").strip()
    expected_name = expected_name.removeprefix("'").removesuffix("'").strip()
    if expected_name.isascii():
        assert _blanks(parsed.from_display_name) == _blanks(expected_name)
    else:
        # The stdlib writer may split encoded words at a blank and fold there; blanks
        # between two encoded words carry no meaning (RFC 2047 section 6.2), so a
        # reader rightly drops that blank: compare without blanks.
        assert _no_blanks(parsed.from_display_name) == _no_blanks(expected_name)
    assert parsed.to_addresses == ["poststelle@musterstadt.example"]


attachment_specs = st.lists(
    st.tuples(st.binary(max_size=2048), mime_types, file_stem, extension),
    max_size=5,
)


def _tree(children: st.SearchStrategy) -> st.SearchStrategy:
    return st.lists(children, min_size=1, max_size=3)


#: an attachment spec, or a list of nested trees (a multipart/mixed level)
nesting = st.recursive(
    st.tuples(st.binary(max_size=1024), mime_types, file_stem, extension), _tree, max_leaves=8
)


def _attachment_part(spec: tuple) -> EmailMessage:
    data, (maintype, subtype), stem, ext = spec
    part = EmailMessage()
    part.set_content(data, maintype=maintype, subtype=subtype, filename=f"{stem}.{ext}")
    return part


def _build(node: object) -> tuple[EmailMessage, list[bytes]]:
    if isinstance(node, tuple):
        return _attachment_part(node), [node[0]]
    container = EmailMessage()
    container.make_mixed()
    contents: list[bytes] = []
    assert isinstance(node, list)
    for child in node:
        part, found = _build(child)
        container.attach(part)
        contents += found
    return container, contents


@PROPERTY_SETTINGS
@given(body=human_text, specs=attachment_specs)
def test_attachments_round_trip_exactly(body, specs):
    message = EmailMessage()
    message["From"] = "buerger@example.org"
    message["Subject"] = "Anhänge"
    message.set_content(body or "-")
    for spec in specs:
        data, (maintype, subtype), stem, ext = spec
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=f"{stem}.{ext}")

    parsed = parse(message.as_bytes(policy=default_policy))

    _check_shape(parsed)
    ours = [a for a in parsed.attachments if not a.original_body]
    assert Counter(a.sha256 for a in ours) == Counter(
        hashlib.sha256(spec[0]).hexdigest() for spec in specs
    )
    wanted_names = {f"{stem}.{ext}" for _data, _type, stem, ext in specs}
    assert wanted_names <= {a.filename for a in ours} | {
        a.filename.replace("1.", ".", 1) for a in ours
    }
    text = (body or "-").replace("\r\n", "\n").replace("\r", "\n")
    if text.strip():
        assert parsed.body.rstrip("\n") == text.rstrip("\n")
    else:
        assert parsed.body == NO_VISIBLE_CONTENT


@PROPERTY_SETTINGS
@given(tree=nesting)
def test_nested_multiparts_round_trip(tree):
    root, contents = _build(tree if isinstance(tree, list) else [tree])
    root["From"] = "buerger@example.org"
    root["Subject"] = "Verschachtelt"

    parsed = parse(root.as_bytes(policy=default_policy))

    _check_shape(parsed)
    assert Counter(a.sha256 for a in parsed.attachments) == Counter(
        hashlib.sha256(data).hexdigest() for data in contents
    )
