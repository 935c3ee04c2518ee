"""Writing e-mail from the case view: the files agents attach, and forwarding a message.

Replies (views/reply.py) and forwards share the checks on uploaded files here. Both
go out through ``channels.email.outbound.reply``: the department's sender address and
signature, the case's reply address, Message-ID/In-Reply-To/References, the article
in the timeline and delivery by the worker after commit.
"""

from __future__ import annotations

import mimetypes
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.files.uploadedfile import UploadedFile
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from vorgang.accounts import access
from vorgang.accounts.models import AccessLevel, User
from vorgang.channels.email import outbound
from vorgang.core.errors import InvalidInput, NotFound, ServiceError
from vorgang.tickets import selectors, services
from vorgang.tickets.models import Article, Ticket

from .actions import Refused, explain
from .cases import html_to_text
from .common import current_user, desk_view, error_page

MAX_FILES = 20
MAX_TEXT = 100_000
# Files that run code when opened on a Windows desktop or in a browser: a city's
# mail should never carry them, whoever uploads them.
BLOCKED_EXTENSIONS = frozenset(
    {
        "exe", "com", "bat", "cmd", "scr", "pif", "msi", "msp", "cpl", "jar", "js", "jse",
        "vbs", "vbe", "wsf", "wsh", "ps1", "psm1", "hta", "lnk", "reg", "dll", "sys", "iso",
        "html", "htm", "svg", "xhtml",
    }
)  # fmt: skip


def max_bytes() -> int:
    return int(getattr(settings, "VORGANG_MAIL_MAX_BYTES", 25 * 1024 * 1024))


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.0f} MB"


def read_uploads(files: list[UploadedFile]) -> list[services.AttachmentInput]:
    """The uploaded files as attachments, or Refused naming the first problem."""
    if len(files) > MAX_FILES:
        raise Refused(_("Please attach at most %(count)d files.") % {"count": MAX_FILES})
    limit = max_bytes()
    if sum(f.size or 0 for f in files) > limit:
        raise Refused(
            _(
                "The attachments are too large: together they may have at most %(size)s. "
                "Please leave some out or send them in a second e-mail."
            )
            % {"size": _megabytes(limit)},
            413,
        )
    found: list[services.AttachmentInput] = []
    for upload in files:
        name = upload.name or "attachment"
        extension = name.rpartition(".")[2].lower() if "." in name else ""
        if extension in BLOCKED_EXTENSIONS:
            raise Refused(
                _("Files of the type .%(extension)s cannot be sent (%(name)s).")
                % {"extension": extension, "name": name},
                415,
            )
        if not upload.size:
            raise Refused(_("The file %(name)s is empty.") % {"name": name})
        found.append(
            services.AttachmentInput(
                filename=name,
                content=upload.read(),
                content_type=upload.content_type
                or mimetypes.guess_type(name)[0]
                or "application/octet-stream",
            )
        )
    return found


# --- forwarding -------------------------------------------------------------------------------


def forwarded_text(article: Article) -> str:
    """The forwarded message as mail programs write it: a header block, then the text."""
    text = html_to_text(article.body) if article.content_type == "text/html" else article.body
    when = formats.date_format(timezone.localtime(article.created_at), "SHORT_DATETIME_FORMAT")
    lines = [
        "---------- " + _("Forwarded message") + " ----------",
        _("From: %(value)s") % {"value": article.from_addr or _("(unknown)")},
        _("Date: %(value)s") % {"value": when},
    ]
    if article.subject:
        lines.append(_("Subject: %(value)s") % {"value": article.subject})
    if article.to:
        lines.append(_("To: %(value)s") % {"value": article.to})
    if article.cc:
        lines.append(_("Cc: %(value)s") % {"value": article.cc})
    return "\n".join(lines) + "\n\n" + text.replace("\r\n", "\n").strip("\n")


def forward_subject(article: Article, ticket: Ticket) -> str:
    subject = " ".join((article.subject or ticket.title).split())
    return subject if subject.lower().startswith(("fwd:", "wg:")) else f"Fwd: {subject}"


@desk_view
@require_http_methods(["GET", "POST"])
def forward(request: HttpRequest, pk: int, article_pk: int) -> HttpResponse:
    user = current_user(request)
    ticket = selectors.get_ticket(user, pk)
    article = selectors.get_article(user, article_pk)
    if article.ticket_id != ticket.pk or article.internal:
        # Internal notes stay inside: they are never sent to anyone.
        raise NotFound(_("This message does not exist or you may not see it."))
    if not access.has_level(user, ticket.department_id, AccessLevel.CHANGE):
        return error_page(
            request, 403, message=_("You may see this case, but you may not change it.")
        )
    attachments = list(article.attachments.select_related("blob"))
    context: dict[str, Any] = {
        "ticket": ticket,
        "article": article,
        "attachments": attachments,
        "forwarded": forwarded_text(article),
        "posted": {"attachment": [str(a.pk) for a in attachments]},
        "reply_max_bytes": max_bytes(),
    }
    if request.method == "GET":
        return TemplateResponse(request, "desk/forward.html", context)
    posted: dict[str, Any] = {
        key: request.POST.get(key, "") for key in ("to", "cc", "text", "send_anyway")
    }
    posted["attachment"] = request.POST.getlist("attachment")
    context["posted"] = posted
    try:
        sent = _forward(request, user, ticket, article, attachments)
    except NotFound:
        raise
    except outbound.Undeliverable as err:
        context["undeliverable"] = True
        return _refused(request, context, err.message, 422)
    except Refused as err:
        return _refused(request, context, err.message, err.status)
    except InvalidInput as err:
        return _refused(request, context, err.message, err.status)
    except ServiceError as err:
        return _refused(request, context, explain(err, ticket), err.status)
    messages.success(request, _("The message is forwarded and will be sent shortly."))
    return HttpResponseRedirect(reverse("desk:case", args=[ticket.pk]) + f"#article-{sent.pk}")


def _forward(
    request: HttpRequest, user: User, ticket: Ticket, article: Article, attachments: list[Any]
) -> Article:
    text = request.POST.get("text", "")
    if len(text) > MAX_TEXT:
        raise Refused(_("The message is too long."))
    if not request.POST.get("to", "").strip():
        raise Refused(_("Please enter the address to forward the message to."))
    chosen = set(request.POST.getlist("attachment"))
    files = [
        services.AttachmentInput(a.filename, a.blob.read(), a.content_type)
        for a in attachments
        if str(a.pk) in chosen
    ]
    files += read_uploads(request.FILES.getlist("attachments"))
    if sum(len(f.content) for f in files) > max_bytes():
        raise Refused(
            _("The attachments are too large: together they may have at most %(size)s.")
            % {"size": _megabytes(max_bytes())},
            413,
        )
    body = (text.strip() + "\n\n" if text.strip() else "") + forwarded_text(article)
    return outbound.reply(
        user,
        ticket,
        body=body,
        to=request.POST.get("to", ""),
        cc=request.POST.get("cc", ""),
        attachments=files,
        subject=forward_subject(article, ticket),
        allow_undeliverable=bool(request.POST.get("send_anyway")),
    )


def _refused(
    request: HttpRequest, context: dict[str, Any], message: str, status: int
) -> HttpResponse:
    context["error"] = message
    return TemplateResponse(request, "desk/forward.html", context, status=status)
