"""Replying to the citizen by e-mail from the case view (one POST, then back to the case).

Cc, several attachments (checked in compose.read_uploads), the department's signature
(added by outbound.reply) and a quote: of the message whose Reply button the agent
used (``reply_to``), else of the citizen's last message.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from vorgang.accounts import access
from vorgang.accounts.models import AccessLevel, User
from vorgang.channels.email import outbound
from vorgang.core.errors import InvalidInput, NotFound, PermissionDenied, ServiceError
from vorgang.tickets import selectors
from vorgang.tickets.models import Article, SenderKind, Ticket

from .actions import Refused, explain
from .cases import render_case
from .common import current_user, desk_view
from .compose import read_uploads

MAX_TEXT = 100_000
FIELDS = ("to", "cc", "text", "quote", "send_anyway", "reply_to")


def max_bytes() -> int:
    return int(getattr(settings, "VORGANG_MAIL_MAX_BYTES", 25 * 1024 * 1024))


def _replied_article(user: User, ticket: Ticket, wanted: str) -> Article | None:
    """The article the agent chose to answer (its Reply button), else the citizen's last.

    The chosen one is quoted and the reply threads to it (In-Reply-To/References).
    """
    if not wanted:
        return last_citizen_message(ticket)
    try:
        article = selectors.get_article(user, wanted)
    except NotFound:
        article = None
    if article is None or article.ticket_id != ticket.pk or article.internal:
        raise Refused(_("Only a public message of this case can be quoted."))
    return article


def last_citizen_message(ticket: Ticket) -> Article | None:
    return (
        Article.objects.filter(ticket=ticket, sender=SenderKind.CITIZEN, internal=False)
        .order_by("-created_at", "-pk")
        .first()
    )


@desk_view
@require_POST
def reply(request: HttpRequest, pk: int) -> HttpResponse:
    user = current_user(request)
    ticket = selectors.get_ticket(user, pk)  # NotFound: desk_view shows the 404 page
    try:
        article = _send(request, user, ticket)
    except NotFound:
        raise
    except outbound.Undeliverable as err:
        message = (
            err.message
            + " "
            + _(
                "If you know that the address works again, tick “Send anyway”; "
                "otherwise write a note or reach the citizen another way."
            )
        )
        return _refused(request, user, ticket, message, 422, undeliverable=True)
    except Refused as err:
        return _refused(request, user, ticket, err.message, err.status)
    except InvalidInput as err:
        return _refused(request, user, ticket, err.message, err.status)
    except ServiceError as err:
        return _refused(request, user, ticket, explain(err, ticket), err.status)
    messages.success(request, _("The e-mail is queued and will be sent shortly."))
    return HttpResponseRedirect(reverse("desk:case", args=[ticket.pk]) + f"#article-{article.pk}")


def _send(request: HttpRequest, user: User, ticket: Ticket) -> Article:
    if not access.has_level(user, ticket.department_id, AccessLevel.CHANGE):
        raise PermissionDenied("change access needed")
    body = request.POST.get("text", "")
    if not body.strip():
        raise Refused(_("Please write the message before sending it."))
    if len(body) > MAX_TEXT:
        raise Refused(_("The message is too long."))
    attachments = read_uploads(request.FILES.getlist("attachments"))
    quote_article = None
    if request.POST.get("quote"):
        quote_article = _replied_article(user, ticket, request.POST.get("reply_to", ""))
    return outbound.reply(
        user,
        ticket,
        body=body,
        to=request.POST.get("to", ""),
        cc=request.POST.get("cc", ""),
        attachments=attachments,
        quote_article=quote_article,
        allow_undeliverable=bool(request.POST.get("send_anyway")),
    )


def _refused(
    request: HttpRequest,
    user: User,
    ticket: Ticket,
    message: str,
    status: int,
    *,
    undeliverable: bool = False,
) -> HttpResponse:
    messages.error(request, message)
    posted = {key: request.POST.get(key, "") for key in FIELDS}
    posted["form"] = "reply"
    if undeliverable:
        posted["reply_undeliverable"] = "1"
    return render_case(request, user, ticket, status=status, posted=posted)
