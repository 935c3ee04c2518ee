"""The local outbox of the embedded default: the mail Vorgang would have sent.

With no ``VORGANG_EMAIL_URL`` Django's file backend writes each outgoing e-mail
to ``VORGANG_DATA_DIR/outbox/*.log`` (one or more messages per file, each
followed by a line of 79 dashes). Admins read it here, so a newcomer sees what
citizens would get. Only admins, only while no relay is configured, and only
mail sent from a department address of the admin's own tenant.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses, parsedate_to_datetime
from pathlib import Path

from django.conf import settings
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from vorgang.accounts.models import Department, User

from .common import current_user, desk_view, error_page

FILE_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
SEPARATOR = b"\n" + b"-" * 79 + b"\n"
FILE_NAME = re.compile(r"^[\w.-]+\.log$")
# A message written by Django starts with these headers; a line of dashes inside a
# body is followed by anything else, so it does not split the message.
MESSAGE_START = re.compile(rb"^(?:Content-Type|MIME-Version):", re.IGNORECASE)
MAX_FILES = 1000
PAGE_SIZE = 50


@dataclass
class OutboxMail:
    name: str  # the file
    index: int  # the message's position in the file
    message: EmailMessage
    written_at: datetime

    @property
    def from_address(self) -> str:
        pairs = getaddresses([str(self.message.get("From", ""))])
        return pairs[0][1].lower() if pairs else ""

    @property
    def sender(self) -> str:
        return str(self.message.get("From", ""))

    @property
    def subject(self) -> str:
        return str(self.message.get("Subject", ""))

    @property
    def to(self) -> str:
        return str(self.message.get("To", ""))

    @property
    def date(self) -> datetime:
        try:
            parsed = parsedate_to_datetime(str(self.message.get("Date", "")))
        except (TypeError, ValueError):
            return self.written_at
        return parsed if parsed.tzinfo else self.written_at


def outbox_dir() -> Path | None:
    """The directory of the local outbox, or None when mail goes to a real relay."""
    if settings.EMAIL_BACKEND != FILE_BACKEND:
        return None
    path = getattr(settings, "EMAIL_FILE_PATH", None)
    return Path(path) if path else None


def split_messages(data: bytes) -> list[bytes]:
    """The messages of one file of Django's file backend, in the order written."""
    chunks = data.split(SEPARATOR)
    messages: list[bytes] = []
    for chunk in chunks:
        if messages and not MESSAGE_START.match(chunk) and chunk.strip():
            messages[-1] += SEPARATOR + chunk  # a line of dashes inside a message body
        elif chunk.strip():
            messages.append(chunk)
    return messages


def read_file(path: Path) -> list[OutboxMail]:
    try:
        data = path.read_bytes()
        written_at = datetime.fromtimestamp(
            path.stat().st_mtime, tz=timezone.get_current_timezone()
        )
    except OSError:
        return []
    parser = BytesParser(policy=policy.default)
    found = []
    for index, raw in enumerate(split_messages(data)):
        message = parser.parsebytes(raw)
        if isinstance(message, EmailMessage):
            found.append(OutboxMail(path.name, index, message, written_at))
    return found


def tenant_addresses(user: User) -> set[str]:
    return {
        address.lower()
        for address in Department.objects.filter(tenant_id=user.tenant_id).values_list(
            "email_address", flat=True
        )
    }


def visible_mail(directory: Path, user: User) -> list[OutboxMail]:
    """The newest first, only mail from the user's tenant's department addresses."""
    if not directory.is_dir():
        return []
    files = [p for p in directory.iterdir() if FILE_NAME.match(p.name) and p.is_file()]
    # The name breaks ties of the time (coarse file systems, one clock tick), so the order
    # and the pages stay the same from one load to the next. Django names a file by the
    # second it was opened in and appends to it within that second, so a file's time (its
    # last message's) can put its earlier messages too high only among mail of that second.
    files.sort(key=lambda p: (p.stat().st_mtime, p.name), reverse=True)
    allowed = tenant_addresses(user)
    found: list[OutboxMail] = []
    for path in files[:MAX_FILES]:
        found.extend(reversed([m for m in read_file(path) if m.from_address in allowed]))
    return found


def _refuse(request: HttpRequest) -> HttpResponse | None:
    user = current_user(request)
    if not user.is_admin:
        return error_page(request, 403, message=_("Only administrators may read the local outbox."))
    if outbox_dir() is None:
        return error_page(
            request,
            404,
            title=_("No local outbox"),
            message=_(
                "Outgoing mail goes to a mail server (VORGANG_EMAIL_URL is set), "
                "so there is no local outbox to show."
            ),
        )
    return None


@desk_view
def outbox(request: HttpRequest) -> HttpResponse:
    refused = _refuse(request)
    if refused is not None:
        return refused
    directory = outbox_dir()
    assert directory is not None
    paginator = Paginator(visible_mail(directory, current_user(request)), PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    return TemplateResponse(
        request,
        "desk/outbox.html",
        {"page": page, "paginator": paginator, "nav": "outbox"},
    )


@desk_view
def outbox_message(request: HttpRequest, name: str, index: int) -> HttpResponse:
    refused = _refuse(request)
    if refused is not None:
        return refused
    directory = outbox_dir()
    assert directory is not None
    path = directory / name
    if not FILE_NAME.match(name) or not path.is_file():
        return error_page(request, 404)
    mails = read_file(path)
    allowed = tenant_addresses(current_user(request))
    if index >= len(mails) or mails[index].from_address not in allowed:
        return error_page(request, 404)
    mail = mails[index]
    body_part = mail.message.get_body(("plain", "html"))
    text = ""
    if body_part is not None:
        try:
            text = str(body_part.get_content())
        except (LookupError, ValueError):
            text = body_part.get_payload(decode=True).decode("utf-8", "replace")  # type: ignore[union-attr]
    attachments = [
        {
            "filename": part.get_filename() or _("(no name)"),
            "content_type": part.get_content_type(),
            "size": len(part.get_payload(decode=True) or b""),
        }
        for part in mail.message.iter_attachments()
    ]
    return TemplateResponse(
        request,
        "desk/outbox_message.html",
        {
            "mail": mail,
            "headers": [(key, str(value)) for key, value in mail.message.items()],
            "text": text.replace("\r\n", "\n"),
            "is_html": body_part is not None and body_part.get_content_type() == "text/html",
            "attachments": attachments,
            "nav": "outbox",
        },
    )
