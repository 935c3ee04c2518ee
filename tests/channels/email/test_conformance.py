"""Conformance with Zammad's e-mail parser on its corpus of real-world mail.

The corpus (``../shared/corpus/zammad-mail``, AGPL, personal data) stays outside
the repository; point ``VORGANG_MAIL_CORPUS`` elsewhere if needed. Each
``mailNNN.box`` is parsed and compared with ``mailNNN.yml`` (what Zammad's
``Channel::EmailParser`` returned). Per-field agreement is printed in the
terminal summary and asserted against the targets below.

Where we disagree on purpose because Zammad is wrong, the message and field are
listed in KNOWN_DIFFERENCES with the reason; only those count as agreeing. An
entry that no longer differs fails the test, so the list stays honest.
"""

from __future__ import annotations

import base64
import hashlib
import html
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from vorgang.channels.email.parsing import ParsedMessage, parse

yaml = pytest.importorskip("yaml")

CORPUS = Path(
    os.environ.get("VORGANG_MAIL_CORPUS")
    or Path(__file__).parents[3] / ".." / "shared" / "corpus" / "zammad-mail"
).resolve()

#: minimum share of messages that must agree (after KNOWN_DIFFERENCES)
TARGETS = {
    "from_email": 0.97,
    "subject": 0.97,
    "attachment contents": 0.97,
    "attachment names": 0.97,
    "body": 0.90,
    "content_type": 0.95,
}
#: reported, not asserted
REPORTED = ["from_display_name", "from", "to", "cc", "reply-to"]

_UTF7 = "UTF-7 (charset unicode-1-1-utf-7) is decoded; Zammad leaves the raw '+ANw-' sequences"
_MIXED = (
    "mostly UTF-8 with stray Latin-1 bytes: we decode each part in its charset; "
    "Zammad reads everything as Windows-1250 (mojibake)"
)

_APPLE_MIXED = (
    "Apple Mail sends the reply, then the signature and quote as a second HTML part of a "
    "multipart/mixed: we show both in order (as Zammad's own 2024 MessageWalker does); "
    "Zammad 5.5 hid the second part as an attachment 'document.html'"
)

KNOWN_DIFFERENCES: dict[str, dict[str, str]] = {
    "mail018": {"subject": _UTF7, "body": _UTF7},
    "mail020": {
        "body": "HTML5 maps &lang;/&rang; to U+27E8/U+27E9; Zammad's HTML4 parser gives U+3008/U+3009",
    },
    "mail021": {"body": _MIXED + "; also &lang;/&rang; as in mail020"},
    "mail025": {
        "body": "the 'begin 644 rulesets-report.csv' uuencoded block is decoded into an "
        "attachment instead of being shown as encoded text",
    },
    "mail027": {
        "subject": "a CRLF inside an encoded word becomes a space: a line break in a subject "
        "would break reply headers (header injection); Zammad keeps '\\r\\n'",
    },
    "mail054": {
        "body": "the boundary parameter on an unindented continuation line is recovered, "
        "so the text shows; Zammad loses the structure and shows nothing",
        "content_type": "see body: the recovered multipart/alternative has an HTML part",
    },
    "mail060": {"body": _MIXED},
    "mail064": {
        "attachment names": "the name is windows-1258 (Vietnamese, combining accents): we decode "
        "it as such ('d’écran … à'); Zammad falls back to Windows-1252 ('d’eìcran … aÌ')",
    },
    "mail072": {
        "body": "the body is Latin-1 as declared ('à', 'août'); Zammad's detector picked "
        "Windows-1250 ('ŕ', 'aoűt')",
    },
    "mail073": {
        "attachment names": "filename*=us-ascii''…W%F6lbung: the byte 0xF6 cannot be US-ASCII, so "
        "it is read as Windows-1252 ('Wölbung') instead of U+FFFD",
    },
    "mail085": {
        "body": _APPLE_MIXED,
        "attachment contents": _APPLE_MIXED,
        "attachment names": _APPLE_MIXED,
    },
    "mail087": {
        "attachment contents": "a part without Content-Type is text/plain (RFC 2045 5.2) and "
        "shown as body; Zammad stores it as an attachment named 'file'",
        "attachment names": "see attachment contents: no 'file' attachment",
        "body": "see attachment contents: the fax notice is the body",
    },
    "mail105": {
        "body": "multipart/mixed without any boundary line: the text is shown rather than "
        "'no visible content' (never lose the citizen's words)",
    },
}


@dataclass
class Outcome:
    """One message: per field, agreement and (for the report) both values."""

    name: str
    agree: dict[str, bool] = field(default_factory=dict)
    detail: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    zammad_kept_html: bool = False
    we_kept_html: bool = False


def _loader() -> type:
    base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class Loader(base):  # type: ignore[misc, valid-type]
        pass

    Loader.add_multi_constructor(
        "!ruby/hash:", lambda loader, _suffix, node: loader.construct_mapping(node, deep=True)
    )
    Loader.add_constructor(
        "!binary", lambda loader, node: base64.b64decode(loader.construct_scalar(node))
    )
    return Loader


_BLOCK = re.compile(
    r"(?i)<\s*(?:br|hr|/?(?:p|div|tr|td|th|li|dt|dd|h[1-6]|table|blockquote|pre|center|ul|ol))\b[^>]*>"
)
_TAG = re.compile(r"(?s)<[^>]*>")


def visible(markup: str) -> str:
    """Text as read: tags stripped (blocks and cells separate words), entities
    unescaped, whitespace collapsed."""
    text = _TAG.sub("", _BLOCK.sub(" ", markup))
    return " ".join(html.unescape(text).split())


def _is_original_html_copy(attachment: dict[str, Any]) -> bool:
    preferences = attachment.get("preferences") or {}
    return attachment.get("filename") == "message.html" and bool(
        preferences.get("content-alternative")
    )


def _as_bytes(data: Any) -> bytes:
    if isinstance(data, bytes):
        return data
    return str(data or "").encode("utf-8")


def compare(name: str, expected: dict[str, Any], parsed: ParsedMessage) -> Outcome:
    outcome = Outcome(name)
    ours = {
        "from_email": parsed.from_email,
        "subject": parsed.subject,
        "from_display_name": parsed.from_display_name,
        "content_type": parsed.content_type,
        "from": parsed.from_,
        "to": parsed.to,
        "cc": parsed.cc,
        "reply-to": parsed.reply_to,
    }
    for key, value in ours.items():
        if key in ("cc", "reply-to", "from") and key not in expected:
            continue  # Zammad leaves out nil values
        wanted = expected.get(key) or ""
        outcome.agree[key] = value == wanted
        outcome.detail[key] = (wanted, value)

    wanted_attachments = [a for a in expected["attachments"] if not _is_original_html_copy(a)]
    our_md5 = {hashlib.md5(a.content).hexdigest() for a in parsed.attachments}  # noqa: S324
    missing = [
        a["filename"]
        for a in wanted_attachments
        if hashlib.md5(_as_bytes(a["data"])).hexdigest() not in our_md5  # noqa: S324
    ]
    outcome.agree["attachment contents"] = not missing
    outcome.detail["attachment contents"] = (missing, [a.filename for a in parsed.attachments])

    wanted_names = {a["filename"] for a in wanted_attachments}
    our_names = {a.filename for a in parsed.attachments if not a.original_body}
    outcome.agree["attachment names"] = wanted_names <= our_names
    outcome.detail["attachment names"] = (sorted(wanted_names - our_names), sorted(our_names))

    outcome.zammad_kept_html = any(_is_original_html_copy(a) for a in expected["attachments"])
    outcome.we_kept_html = any(
        a.original_body and a.filename == "message.html" for a in parsed.attachments
    )

    wanted_body, our_body = visible(expected["body"]), visible(parsed.body)
    outcome.agree["body"] = wanted_body == our_body
    outcome.detail["body"] = (wanted_body[:200], our_body[:200])
    return outcome


@dataclass
class Report:
    outcomes: list[Outcome]

    def fields(self) -> list[str]:
        return [*TARGETS, *REPORTED]

    def counts(self, key: str) -> tuple[int, int, int]:
        """(agree as is, agree counting known differences, messages with the field)."""
        relevant = [o for o in self.outcomes if key in o.agree]
        plain = sum(o.agree[key] for o in relevant)
        known = sum(
            1
            for o in relevant
            if not o.agree[key] and KNOWN_DIFFERENCES.get(o.name, {}).get(key, "").strip()
        )
        return plain, plain + known, len(relevant)

    def table(self) -> list[str]:
        lines = [
            f"Zammad mail corpus: {len(self.outcomes)} messages ({CORPUS})",
            f"{'field':<22}{'agree':>8}{'+known':>8}{'of':>5}{'rate':>9}{'target':>8}",
        ]
        for key in self.fields():
            plain, effective, total = self.counts(key)
            rate = effective / total if total else 1.0
            target = f"{TARGETS[key]:.0%}" if key in TARGETS else "report"
            lines.append(f"{key:<22}{plain:>8}{effective:>8}{total:>5}{rate:>9.1%}{target:>8}")
        return lines


_REPORT_PLUGIN_NAME = "vorgang-mail-conformance-report"


class _SummaryPlugin:
    def __init__(self, report: Report) -> None:
        self.report = report

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        terminalreporter.section("e-mail parser conformance (Zammad corpus)")
        for line in self.report.table():
            terminalreporter.write_line(line)


@pytest.fixture(scope="module")
def report(request: pytest.FixtureRequest) -> Report:
    if not CORPUS.is_dir():
        pytest.skip(f"Zammad mail corpus not found at {CORPUS}")
    loader = _loader()
    outcomes = []
    for box in sorted(CORPUS.glob("*.box")):
        expected_file = box.with_suffix(".yml")
        expected = yaml.load(expected_file.read_bytes(), Loader=loader)
        outcomes.append(compare(box.stem, expected, parse(box.read_bytes())))
    result = Report(outcomes)
    manager = request.config.pluginmanager
    if manager.get_plugin(_REPORT_PLUGIN_NAME) is None:
        manager.register(_SummaryPlugin(result), _REPORT_PLUGIN_NAME)
    print("\n" + "\n".join(result.table()))
    return result


def test_reads_all_106_messages(report: Report):
    assert len(report.outcomes) == 106


@pytest.mark.parametrize("key", list(TARGETS))
def test_agreement_meets_target(report: Report, key: str):
    _plain, effective, total = report.counts(key)
    failures = [
        f"{o.name}: expected {o.detail[key][0]!r}, got {o.detail[key][1]!r}"
        for o in report.outcomes
        if key in o.agree
        and not o.agree[key]
        and not KNOWN_DIFFERENCES.get(o.name, {}).get(key, "").strip()
    ]
    assert effective / total >= TARGETS[key], "\n".join(failures)


def test_known_differences_are_real_and_explained(report: Report):
    by_name = {o.name: o for o in report.outcomes}
    stale = []
    for name, fields in KNOWN_DIFFERENCES.items():
        assert name in by_name, f"{name} is not in the corpus"
        for key, reason in fields.items():
            assert reason.strip(), f"{name}/{key} needs a reason"
            if by_name[name].agree.get(key, True):
                stale.append(f"{name}/{key}")
    assert not stale, f"these now agree with Zammad; remove them from KNOWN_DIFFERENCES: {stale}"


def test_original_html_is_kept_for_html_mails(report: Report):
    """Zammad keeps the unsanitised HTML as message.html; so do we."""
    html_mails = [o for o in report.outcomes if o.zammad_kept_html]
    assert len(html_mails) > 40
    assert [o.name for o in html_mails if not o.we_kept_html] == []
