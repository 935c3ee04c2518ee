"""Outgoing e-mail: agents' replies, the automatic confirmation, and the message sent.

``reply`` and ``queue_confirmation`` write an e-mail article through
``tickets.services`` with every header it needs already decided (Message-ID,
In-Reply-To, References, subject tag); ``tickets.tasks.deliver_article`` sends it
with ``build_message`` and retries with backoff when the mail server fails
(``retry_delays``, ``classify_failure``). The article is the record of what was
sent: what the agent sees in the timeline is what the citizen got.
"""

from __future__ import annotations

import html
import re
import secrets
import smtplib
import string
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from email.headerregistry import Address
from email.utils import getaddresses
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from vorgang.accounts.models import AccessLevel, Department, User
from vorgang.channels import addressing
from vorgang.channels.email import confirmations
from vorgang.channels.email.filters.loop_guard import own_loop_value
from vorgang.core import batchcache
from vorgang.core.errors import InvalidInput
from vorgang.tickets import services
from vorgang.tickets.models import (
    Article,
    ArticleKind,
    History,
    SenderKind,
    Ticket,
)

SIGNATURE_SEPARATOR = "\n\n-- \n"
MAX_REFERENCES = 10
MAX_QUOTE_CHARS = 50_000
DEFAULT_RETRY_DELAYS = (60, 300, 900, 3600, 14400)  # seconds: 1, 5, 15, 60, 240 minutes
DEFAULT_SMTP_TIMEOUT = 60


class Undeliverable(InvalidInput):
    """A recipient is marked undeliverable (a permanent bounce); the agent may override."""

    def __init__(self, message: str, addresses: Sequence[str]) -> None:
        super().__init__(message)
        self.addresses = list(addresses)


# --- addresses, ids, subjects -------------------------------------------------------------


def department_sender(department: Department) -> str:
    """``Bürgerbüro <buergerbuero@stadt.example>`` (quoted where the name needs it)."""
    try:
        return str(Address(display_name=department.name, addr_spec=department.email_address))
    except (ValueError, IndexError):
        return department.email_address


def subject_tag(ticket: Ticket) -> str:
    tag = getattr(settings, "VORGANG_SUBJECT_TAG", "Vorgang")
    return f"[{tag}#{ticket.number}]"


def new_message_id(ticket: Ticket) -> str:
    """``<vorgang.<number>.<random>@<domain of the department address>>``."""
    domain = ticket.department.email_address.rpartition("@")[2] or "localhost"
    number = re.sub(r"[^A-Za-z0-9-]", "", ticket.number) or "0"
    return f"<vorgang.{number}.{secrets.token_hex(8)}@{domain}>"


def parse_recipients(value: str) -> list[str]:
    """Addresses typed by an agent (comma or semicolon separated), checked one by one.

    Returns them as ``Name <addr>`` or ``addr``; raises InvalidInput naming the first
    entry that is not an e-mail address.
    """
    value = (value or "").replace(";", ",").strip()
    if not value:
        return []
    if "\n" in value or "\r" in value:
        raise InvalidInput(_("Please put all addresses on one line."))
    found: list[str] = []
    for piece in _split_addresses(value):
        pairs = getaddresses([piece])
        if len(pairs) != 1 or not pairs[0][1]:
            raise InvalidInput(
                _("“%(address)s” is not a valid e-mail address.") % {"address": piece}
            )
        name, addr = pairs[0]
        try:
            validate_email(addr)
        except ValidationError:
            raise InvalidInput(
                _("“%(address)s” is not a valid e-mail address.") % {"address": piece}
            ) from None
        try:
            found.append(str(Address(display_name=name, addr_spec=addr)) if name else addr)
        except (ValueError, IndexError):
            found.append(addr)
    return found


def _split_addresses(value: str) -> list[str]:
    """Split at commas outside quotes and angle brackets (``"Muster, Max" <m@x.de>``)."""
    pieces: list[str] = []
    current: list[str] = []
    quoted = angle = False
    for char in value:
        if char == '"':
            quoted = not quoted
        elif char == "<" and not quoted:
            angle = True
        elif char == ">" and not quoted:
            angle = False
        if char == "," and not quoted and not angle:
            pieces.append("".join(current).strip())
            current = []
            continue
        current.append(char)
    pieces.append("".join(current).strip())
    return [p for p in pieces if p]


def bare_addresses(value: str) -> list[str]:
    return addressing.parse_list(value)


def _check_undeliverable(ticket: Ticket, addresses: Iterable[str], allow: bool) -> None:
    wanted = {a.lower() for a in addresses}
    if not wanted or allow:
        return
    query = Q()
    for address in wanted:
        query |= Q(email__iexact=address)
    marked = list(
        User.objects.filter(query, tenant_id=ticket.tenant_id, email_undeliverable=True)
        .order_by("pk")
        .values_list("email", "email_undeliverable_reason")
    )
    if not marked:
        return
    address, reason = marked[0]
    message = _("The address %(address)s is marked as undeliverable.") % {"address": address}
    if reason:
        message += " " + _("Reason: %(reason)s") % {"reason": reason}
    raise Undeliverable(message, [m[0] for m in marked])


# --- threading ----------------------------------------------------------------------------


def thread_parent(ticket: Ticket) -> Article | None:
    """The message a reply answers by default: the latest citizen e-mail with a Message-ID,
    else the latest public e-mail of the case with one (our own earlier reply)."""
    mails = Article.objects.filter(ticket=ticket, kind=ArticleKind.EMAIL, internal=False).exclude(
        message_id=""
    )
    latest_citizen = mails.filter(sender=SenderKind.CITIZEN).order_by("-created_at", "-pk").first()
    return latest_citizen or mails.order_by("-created_at", "-pk").first()


def references_for(parent: Article | None) -> list[str]:
    """The thread's Message-IDs, oldest first: the root and the last ones (RFC 5322 3.6.4)."""
    if parent is None:
        return []
    ids: list[str] = []
    for ref in [*re.findall(r"<[^<>\s]+>", parent.references or ""), parent.message_id]:
        if ref and ref not in ids:
            ids.append(ref)
    if len(ids) > MAX_REFERENCES:
        ids = ids[:1] + ids[-(MAX_REFERENCES - 1) :]
    return ids


_REPLY_PREFIX = re.compile(r"^\s*(?:(?:re|aw|antw|wg|fwd?|sv)\s*(?:\[\d+\])?\s*:\s*)+", re.I)


def reply_subject(ticket: Ticket, parent: Article | None, subject: str | None = None) -> str:
    """``[Vorgang#n] <title>``; ``Re: <their subject>`` when the citizen's mail carries the tag."""
    tag = subject_tag(ticket)
    if subject and subject.strip():
        cleaned = " ".join(subject.split())
        return cleaned if tag.lower() in cleaned.lower() else f"{tag} {cleaned}"
    if (
        parent is not None
        and parent.sender == SenderKind.CITIZEN
        and tag.lower() in (parent.subject or "").lower()
    ):
        return "Re: " + _REPLY_PREFIX.sub("", " ".join(parent.subject.split()))
    return f"{tag} {ticket.title}"


# --- bodies ---------------------------------------------------------------------------------

_ATTRIBUTION = {"de": "Am {date} schrieb {name}:", "en": "On {date}, {name} wrote:"}
_DATE_FORMAT = {"de": "%d.%m.%Y um %H:%M", "en": "%d/%m/%Y at %H:%M"}
_BLOCK_END = re.compile(
    r"<\s*(?:br|hr|/p|/div|/li|/tr|/h[1-6]|/blockquote|/table|/ul|/ol)\b[^>]*>", re.I
)
_INVISIBLE = re.compile(r"<(style|script|head|title)\b.*?</\1\s*>", re.I | re.S)
_TAG = re.compile(r"(?s)<[^>]*>")


def _plain_text(article: Article) -> str:
    if article.content_type != "text/html":
        return article.body
    text = re.sub(r"(?i)</p\s*>", "\n\n", _INVISIBLE.sub("", article.body))
    text = _BLOCK_END.sub("\n", text)
    text = html.unescape(_TAG.sub("", text))
    return re.sub(r"\n{3,}", "\n\n", "\n".join(line.rstrip() for line in text.splitlines()))


def _language(ticket: Ticket) -> str:
    citizen = ticket.citizen
    return "en" if citizen is not None and citizen.language == "en" else "de"


def quote(article: Article, language: str = "de") -> str:
    """``Am <date> schrieb <name>:`` and the article's text with ``> `` in front of each line."""
    pairs = getaddresses([article.from_addr or ""])
    name = (pairs[0][0] or pairs[0][1]) if pairs and (pairs[0][0] or pairs[0][1]) else ""
    if not name and article.created_by is not None:
        name = article.created_by.display_name
    citizen = article.ticket.citizen
    if not name and article.sender == SenderKind.CITIZEN and citizen is not None:
        name = citizen.display_name
    when = timezone.localtime(article.created_at).strftime(_DATE_FORMAT[language])
    text = _plain_text(article).replace("\r\n", "\n").strip("\n")[:MAX_QUOTE_CHARS]
    lines = [(">" if line.startswith(">") else "> ") + line for line in text.split("\n")]
    lines = [line.rstrip() for line in lines]
    head = _ATTRIBUTION[language].format(date=when, name=name or "?")
    return head + "\n" + "\n".join(lines)


def compose_body(text: str, signature: str, quoted: str = "") -> str:
    """The agent's text, the quote, then ``-- `` and the department's signature."""
    body = (text or "").replace("\r\n", "\n").replace("\r", "\n").rstrip()
    if quoted:
        body += "\n\n" + quoted
    signature = (signature or "").replace("\r\n", "\n").strip("\n")
    if signature.strip():
        body += SIGNATURE_SEPARATOR + signature
    return body + "\n"


# --- agent replies --------------------------------------------------------------------------


def reply(
    agent: User,
    ticket: Ticket,
    *,
    body: str,
    to: str | None = None,
    cc: str = "",
    attachments: Sequence[services.AttachmentInput] = (),
    quote_article: Article | None = None,
    subject: str | None = None,
    allow_undeliverable: bool = False,
) -> Article:
    """An agent's e-mail to the citizen (or ``to``), queued for sending after commit.

    Raises NotFound/PermissionDenied like every service, InvalidInput for bad
    addresses, an empty text or too large attachments, and Undeliverable when a
    recipient is marked undeliverable and ``allow_undeliverable`` is not set.
    """
    services.require(agent, ticket, AccessLevel.CHANGE)
    if not (body or "").strip():
        raise InvalidInput(_("Please write the message before sending it."))
    if to is None:
        citizen = ticket.citizen
        to = citizen.email if citizen is not None and citizen.email else ""
    to_list = parse_recipients(to)
    if not to_list:
        raise InvalidInput(_("The message needs a recipient address."))
    cc_list = parse_recipients(cc)
    _check_undeliverable(
        ticket, bare_addresses(", ".join([*to_list, *cc_list])), allow_undeliverable
    )
    limit = int(getattr(settings, "VORGANG_MAIL_MAX_BYTES", 25 * 1024 * 1024))
    if sum(len(a.content) for a in attachments) > limit:
        raise InvalidInput(
            _("The attachments are too large: together at most %(size)s.")
            % {"size": _megabytes(limit)}
        )
    if quote_article is not None and (
        quote_article.ticket_id != ticket.pk or quote_article.internal
    ):
        raise InvalidInput(_("Only a public message of this case can be quoted."))
    parent = quote_article if quote_article is not None else thread_parent(ticket)
    if parent is not None and not parent.message_id:
        parent = thread_parent(ticket)
    department = ticket.department
    quoted = quote(quote_article, _language(ticket)) if quote_article is not None else ""
    return services.add_article(
        agent,
        ticket,
        services.ArticleInput(
            body=compose_body(body, department.signature, quoted),
            kind=ArticleKind.EMAIL,
            sender=SenderKind.AGENT,
            subject=reply_subject(ticket, parent, subject),
            from_addr=department_sender(department),
            to=", ".join(to_list),
            cc=", ".join(cc_list),
            message_id=new_message_id(ticket),
            in_reply_to=parent.message_id if parent is not None else "",
            references=" ".join(references_for(parent)),
            attachments=list(attachments),
        ),
    )


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.0f} MB"


# --- the automatic confirmation -------------------------------------------------------------

CONFIRMATION_SUBJECT = {
    "de": "Ihre Nachricht ist eingegangen",
    "en": "We have received your message",
}
_CONFIRMATION = {
    "de": (
        "{greeting}\n\n"
        "vielen Dank für Ihre Nachricht. Sie ist bei uns angekommen.\n\n"
        "Ihre Vorgangsnummer ist: {number}\n"
        "Ihr Anliegen: {title}\n"
        "Zuständig ist: {department}\n\n"
        "Wie geht es weiter?\n"
        "Wir lesen Ihre Nachricht und melden uns bei Ihnen. "
        "Wenn wir noch etwas von Ihnen brauchen, schreiben wir Ihnen.\n\n"
        "Sie möchten noch etwas ergänzen? Dann antworten Sie einfach auf diese E-Mail. "
        "Bitte lassen Sie die Vorgangsnummer im Betreff stehen.\n\n"
        "Diese E-Mail wurde automatisch verschickt."
    ),
    "en": (
        "{greeting}\n\n"
        "Thank you for your message. We have received it.\n\n"
        "Your case number is: {number}\n"
        "Your request: {title}\n"
        "Responsible: {department}\n\n"
        "What happens next?\n"
        "We will read your message and get back to you. "
        "If we need anything else from you, we will write to you.\n\n"
        "Would you like to add something? Just reply to this e-mail. "
        "Please keep the case number in the subject line.\n\n"
        "This e-mail was sent automatically."
    ),
}
_GREETING = {"de": ("Guten Tag {name},", "Guten Tag,"), "en": ("Hello {name},", "Hello,")}
PLACEHOLDERS = ("number", "title", "department", "name")


def render_template(template: str, values: Mapping[str, str]) -> str:
    """``{number}`` etc. replaced; anything else (unknown names, ``{0}``, ``{x.y}``, stray
    braces) stays as written, so a department's text can never break the confirmation."""
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError:
        # A lone "{" or "}": replace the known placeholders literally, keep the rest.
        text = template
        for key in PLACEHOLDERS:
            text = text.replace("{" + key + "}", values.get(key, ""))
        return text
    out: list[str] = []
    for literal, field_name, spec, conversion in parsed:
        out.append(literal)
        if field_name is None:
            continue
        if field_name in values and not spec and not conversion:
            out.append(values[field_name])
            continue
        original = (
            field_name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "")
        )
        out.append("{" + original + "}")
    return "".join(out)


def confirmation_text(ticket: Ticket, language: str) -> str:
    citizen = ticket.citizen
    name = citizen.get_full_name().strip() if citizen is not None else ""
    values = {
        "number": ticket.number,
        "title": ticket.title,
        "department": ticket.department.name,
        "name": name,
    }
    department = ticket.department
    custom = department.confirmation_en if language == "en" else department.confirmation_de
    if custom.strip():
        text = render_template(custom.replace("\r\n", "\n"), values)
    else:
        with_name, without = _GREETING[language]
        greeting = with_name.format(name=name) if name else without
        text = _CONFIRMATION[language].format(greeting=greeting, **values)
    return compose_body(text, department.signature)


def queue_confirmation(
    ticket: Ticket, citizen_article: Article, *, allowed: bool
) -> Article | None:
    """The automatic confirmation of a new case that arrived by e-mail, queued for sending.

    ``allowed`` is the loop guard's answer (``filters.loop_guard.may_auto_respond``);
    nothing is written when it is false. Also nothing for a case without a citizen
    address, an address marked undeliverable, or one of our own addresses.
    """
    if not allowed or citizen_article.kind != ArticleKind.EMAIL:
        return None
    citizen = ticket.citizen
    if citizen is None or not citizen.email or citizen.email_undeliverable:
        return None
    if addressing.resolve(citizen.email) is not None:
        return None
    language = _language(ticket)
    parent = citizen_article if citizen_article.message_id else None
    # No savepoint of its own: intake calls this inside the message's transaction, and a
    # failure fails the whole message anyway (add_article has its own).
    with transaction.atomic(savepoint=False):
        article = services.add_article(
            None,
            ticket,
            services.ArticleInput(
                body=confirmation_text(ticket, language),
                kind=ArticleKind.EMAIL,
                sender=SenderKind.SYSTEM,
                subject=f"{subject_tag(ticket)} {CONFIRMATION_SUBJECT[language]}",
                from_addr=_confirmation_sender(ticket.department),
                to=citizen.email,
                message_id=new_message_id(ticket),
                in_reply_to=parent.message_id if parent is not None else "",
                references=" ".join(references_for(parent)),
                send=True,
            ),
        )
        # Sent once the case is committed: by a task of its own, or inside the worker's
        # drain with the batch's other confirmations in one task.
        confirmations.queue(article.pk)
    return article


def _confirmation_sender(department: Department) -> str:
    """``department_sender``, worked out once per drain batch (the key holds what it reads)."""
    name, address = department.name, department.email_address
    return batchcache.memo(
        ("department-sender", name, address), lambda: department_sender(department)
    )


# --- the message the delivery task sends ----------------------------------------------------


def build_message(article: Article) -> EmailMessage:
    """The e-mail for an article: the article's own fields plus the headers of its case.

    Reply-To is the case's reply address (``department+<token>@...``), X-Loop marks
    our mail, and system mail (the confirmation) says it is automatic (RFC 3834) in
    the way ``filters.loop_guard`` describes.
    """
    ticket = article.ticket
    department = ticket.department
    message_id = article.message_id or _fallback_message_id(article)
    headers: dict[str, str] = {
        "From": article.from_addr or department_sender(department),
        "Message-ID": message_id,
        "Reply-To": addressing.reply_address(department, ticket.reply_token),
        "X-Loop": own_loop_value(),  # the loop guard knows our own mail by it
    }
    if article.in_reply_to:
        headers["In-Reply-To"] = article.in_reply_to
    if article.references:
        headers["References"] = article.references
    if article.sender == SenderKind.SYSTEM:
        headers["Auto-Submitted"] = "auto-replied" if article.in_reply_to else "auto-generated"
        headers["X-Auto-Response-Suppress"] = "All"
        headers["Precedence"] = "bulk"  # older vacation responders honour only this
    mail = EmailMessage(
        subject=article.subject or f"{subject_tag(ticket)} {ticket.title}",
        body=article.body,
        from_email=department.email_address,  # the envelope sender: bounces come back to us
        to=bare_addresses(article.to),
        cc=bare_addresses(article.cc),
        headers=headers,
    )
    if article.content_type == "text/html":
        mail.content_subtype = "html"
    for attachment in article.attachments.all():
        mail.attach(attachment.filename, attachment.blob.read(), attachment.content_type)
    return mail


def _fallback_message_id(article: Article) -> str:
    """For an article written without one (e.g. through the API): the same on every try."""
    ticket = article.ticket
    domain = ticket.department.email_address.rpartition("@")[2] or "localhost"
    number = re.sub(r"[^A-Za-z0-9-]", "", ticket.number) or "0"
    return f"<vorgang.{number}.a{article.pk}@{domain}>"


# --- retries ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Failure:
    permanent: bool
    reason: str  # for the agent (may name the address the server refused)
    code: int | None = None  # for the log


_AUTH_CODES = {530, 534, 535, 538}  # authentication: the relay's configuration, fixable


def classify_failure(exc: BaseException) -> Failure:
    """Permanent (5xx for the message or its recipients) or worth another try."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        refused = list(exc.recipients.items())
        codes = [code for _addr, (code, _msg) in refused]
        reason = "; ".join(f"{addr}: {code} {_text(msg)}" for addr, (code, msg) in refused)
        permanent = bool(codes) and all(500 <= code < 600 for code in codes)
        return Failure(permanent, reason or "recipients refused", codes[0] if codes else None)
    if isinstance(exc, smtplib.SMTPResponseException):
        code = exc.smtp_code
        reason = f"{code} {_text(exc.smtp_error)}".strip()
        permanent = 500 <= code < 600 and code not in _AUTH_CODES
        return Failure(permanent, reason, code)
    if isinstance(exc, OSError | smtplib.SMTPException):
        # refused or dropped connection, timeout, DNS: the server may be back later
        return Failure(False, str(exc) or type(exc).__name__)
    return Failure(True, f"{type(exc).__name__}: {exc}")


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def retry_delays() -> tuple[int, ...]:
    """Seconds before each further attempt; their number + 1 is the number of attempts."""
    configured = getattr(settings, "VORGANG_MAIL_RETRY_DELAYS", None)
    if configured is None:
        return DEFAULT_RETRY_DELAYS
    return tuple(max(0, int(value)) for value in configured)


def failed_attempts(article: Article) -> int:
    """Attempts that failed in a row so far: the ``retry`` entries since the last queueing.

    Read from the case history (and from cases merged into it, where the entries
    stay), so no extra field is needed.
    """
    merged = Ticket.objects.filter(merged_into_id=article.ticket_id).values_list("pk", flat=True)
    tickets = [article.ticket_id, *merged]
    values = (
        History.objects.filter(
            ticket_id__in=tickets, action="delivery", field=f"article:{article.pk}"
        )
        .order_by("-created_at", "-pk")
        .values_list("new_value", flat=True)
    )
    count = 0
    for value in values:
        if value != "retry":
            break
        count += 1
    return count


def smtp_timeout() -> float:
    return float(getattr(settings, "EMAIL_TIMEOUT", None) or DEFAULT_SMTP_TIMEOUT)
