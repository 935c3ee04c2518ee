"""The case view's tools beyond the simple fields: macros, handing over to another
department, merging, splitting an article off, links, and inline previews.

Each change is one POST calling ``tickets.services`` (or ``macros.apply``), as in
actions.py: success redirects back, a refused action shows the case again with the
reason. Merge and split ask for confirmation on a page of their own first.
"""

from __future__ import annotations

import logging

from django.contrib import messages
from django.core.files.storage import default_storage
from django.http import (
    FileResponse,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    HttpResponseRedirect,
)
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from vorgang.accounts import access
from vorgang.accounts.models import AccessLevel, Department, User
from vorgang.core.errors import NotFound, PermissionDenied, ServiceError
from vorgang.macros import apply as macros
from vorgang.tickets import selectors, services
from vorgang.tickets.models import Article, Attachment, LinkKind, Ticket

from .actions import Refused, _act, explain
from .cases import html_to_text
from .common import current_user, desk_view, error_page

log = logging.getLogger(__name__)

# --- inline previews --------------------------------------------------------------------------

# What the browser may show inline, by type, with the bytes such a file starts with. SVG
# is not among them: it can carry scripts. Larger files stay downloads.
PREVIEW_IMAGES = {
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/gif": (b"GIF87a", b"GIF89a"),
    "image/webp": (b"RIFF",),
}
PREVIEW_PDF = {"application/pdf": (b"%PDF-",)}
PREVIEW_MAX_BYTES = 10 * 1024 * 1024


def preview_kind(attachment: Attachment) -> str:
    """``image``, ``pdf`` or empty: how the timeline may show the file (by its stated type)."""
    kind = (attachment.content_type or "").split(";")[0].strip().lower()
    if attachment.size > PREVIEW_MAX_BYTES:
        return ""
    if kind in PREVIEW_IMAGES:
        return "image"
    if kind in PREVIEW_PDF:
        return "pdf"
    return ""


def _starts_right(attachment: Attachment, head: bytes) -> bool:
    kind = (attachment.content_type or "").split(";")[0].strip().lower()
    signatures = PREVIEW_IMAGES.get(kind) or PREVIEW_PDF.get(kind) or ()
    if kind == "image/webp":
        return head.startswith(b"RIFF") and head[8:12] == b"WEBP"
    return any(head.startswith(s) for s in signatures)


@desk_view
@require_GET
@xframe_options_sameorigin
def attachment_preview(request: HttpRequest, pk: int) -> HttpResponseBase:
    """An image or PDF to show inside the case view; same permission check as the download.

    Only files whose stated type is previewable and whose first bytes match that type
    are served inline, with exactly that type, ``nosniff`` and a policy that lets the
    response load nothing and be framed only by our own pages. Anything else is 404:
    the download link stays the way to it.
    """
    found = selectors.get_attachment(current_user(request), pk)  # NotFound: 404 page
    kind = preview_kind(found)
    if not kind:
        return error_page(request, 404)
    try:
        handle = default_storage.open(found.blob.path, "rb")
    except FileNotFoundError:
        log.error("attachment %s: blob %s is missing from storage", found.pk, found.blob.sha256)
        return error_page(request, 404)
    head = handle.read(16)
    handle.seek(0)
    if not _starts_right(found, head):
        handle.close()
        return error_page(request, 404)
    content_type = (found.content_type or "").split(";")[0].strip().lower()
    response = FileResponse(
        handle, as_attachment=False, filename=found.filename, content_type=content_type
    )
    response["X-Content-Type-Options"] = "nosniff"
    # A PDF needs the browser's viewer, which a sandboxed document cannot start; it may
    # still run no script of ours, load nothing and be framed only by our own pages.
    policy = "default-src 'none'; frame-ancestors 'self'"
    response["Content-Security-Policy"] = policy + ("; sandbox" if kind == "image" else "")
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    response["Cache-Control"] = "private, no-store"
    return response


# --- macros, department -----------------------------------------------------------------------


@desk_view
@require_POST
def apply_macro(request: HttpRequest, pk: int) -> HttpResponse:
    user = current_user(request)
    ticket = selectors.get_ticket(user, pk)
    if not access.has_level(user, ticket.department_id, AccessLevel.CHANGE):
        return _refuse(request, user, ticket, explain(PermissionDenied(""), ticket), 403)
    try:
        macro = macros.available(user, ticket, request.POST.get("macro", ""))
    except NotFound:
        return _refuse(request, user, ticket, _("Please choose a macro from the list."), 422)
    try:
        outcome = macros.apply_macro(user, ticket, macro)
    except NotFound:
        raise
    except ServiceError as err:
        return _refuse(request, user, ticket, explain(err, ticket), err.status)
    level = messages.WARNING if outcome.failed else messages.SUCCESS
    messages.add_message(request, level, outcome.summary())
    # After a move the agent may no longer see the case: then back to the overview.
    if not selectors.visible_tickets(user, AccessLevel.READ).filter(pk=ticket.pk).exists():
        return HttpResponseRedirect(reverse("desk:overview"))
    return HttpResponseRedirect(reverse("desk:case", args=[ticket.pk]))


@desk_view
@require_POST
def move(request: HttpRequest, pk: int) -> HttpResponse:
    user = current_user(request)
    ticket = selectors.get_ticket(user, pk)
    department = Department.objects.filter(
        tenant_id=user.tenant_id, active=True, pk=_int(request.POST.get("department"))
    ).first()
    if department is None:
        return _refuse(request, user, ticket, _("Please choose a department from the list."), 422)
    try:
        services.move(user, ticket, department)
    except NotFound:
        raise
    except ServiceError as err:
        message = explain(err, ticket)
        if isinstance(err, PermissionDenied) and access.has_level(
            user, ticket.department_id, AccessLevel.CHANGE
        ):
            message = _("You may not hand cases to %(department)s.") % {
                "department": department.name
            }
        return _refuse(request, user, ticket, message, err.status)
    messages.success(
        request,
        _("The case is now with %(department)s.") % {"department": department.name},
    )
    if not selectors.visible_tickets(user, AccessLevel.READ).filter(pk=ticket.pk).exists():
        return HttpResponseRedirect(reverse("desk:overview"))
    return HttpResponseRedirect(reverse("desk:case", args=[ticket.pk]))


# --- merge ------------------------------------------------------------------------------------


def _other_case(user: User, ticket: Ticket, number: str) -> Ticket:
    number = (number or "").strip().lstrip("#")
    if not number:
        raise Refused(_("Please enter the number of the other case."))
    try:
        other = selectors.get_ticket_by_number(user, number)
    except NotFound:
        raise Refused(
            _("There is no case %(number)s that you may see.") % {"number": number}
        ) from None
    if other.pk == ticket.pk:
        raise Refused(_("Please enter the number of another case, not of this one."))
    return other


@desk_view
@require_POST
def merge(request: HttpRequest, pk: int) -> HttpResponse:
    """First POST: show both cases and ask; second POST (``confirm``): merge."""
    user = current_user(request)
    ticket = selectors.get_ticket(user, pk)
    try:
        target = _other_case(user, ticket, request.POST.get("number", ""))
        if not (
            access.has_level(user, ticket.department_id, AccessLevel.CHANGE)
            and access.has_level(user, target.department_id, AccessLevel.CHANGE)
        ):
            raise Refused(
                _("Merging needs the access level “change” for both cases."),
                403,
            )
    except Refused as err:
        return _refuse(request, user, ticket, err.message, err.status)
    if request.POST.get("confirm") != "1":
        return TemplateResponse(
            request, "desk/merge_confirm.html", {"ticket": ticket, "target": target}
        )
    try:
        services.merge(user, ticket, target)
    except NotFound:
        raise
    except ServiceError as err:
        return _refuse(request, user, ticket, explain(err, ticket), err.status)
    messages.success(
        request,
        _("Case %(source)s was merged into this case.") % {"source": ticket.number},
    )
    return HttpResponseRedirect(reverse("desk:case", args=[target.pk]))


# --- split ------------------------------------------------------------------------------------


def _own_article(user: User, ticket: Ticket, article_pk: int) -> Article:
    article = selectors.get_article(user, article_pk)
    if article.ticket_id != ticket.pk:
        raise NotFound(_("This message does not exist or you may not see it."))
    return article


@desk_view
@require_http_methods(["GET", "POST"])
def split(request: HttpRequest, pk: int, article_pk: int) -> HttpResponse:
    """GET: what will happen and the new case's title; POST: open the new case."""
    user = current_user(request)
    ticket = selectors.get_ticket(user, pk)
    article = _own_article(user, ticket, article_pk)
    allowed = access.has_level(user, ticket.department_id, AccessLevel.CHANGE) and (
        access.has_level(user, ticket.department_id, AccessLevel.CREATE)
    )
    if not allowed:
        return error_page(
            request,
            403,
            message=_("Splitting needs the access levels “change” and “create” in %(department)s.")
            % {"department": ticket.department.name},
        )
    title = request.POST.get("title", article.subject or ticket.title)
    text = html_to_text(article.body) if article.content_type == "text/html" else article.body
    context = {"ticket": ticket, "article": article, "text": text, "title": title, "error": ""}
    if request.method == "GET":
        return TemplateResponse(request, "desk/split_confirm.html", context)
    if not " ".join(title.split()):
        context["error"] = _("Please give the new case a title.")
        return TemplateResponse(request, "desk/split_confirm.html", context, status=422)
    try:
        new = services.split_article(user, ticket, article, title)
    except NotFound:
        raise
    except ServiceError as err:
        context["error"] = explain(err, ticket)
        return TemplateResponse(request, "desk/split_confirm.html", context, status=err.status)
    messages.success(
        request,
        _("Case %(number)s was opened with a copy of the message from case %(source)s.")
        % {"number": new.number, "source": ticket.number},
    )
    return HttpResponseRedirect(reverse("desk:case", args=[new.pk]))


# --- links ------------------------------------------------------------------------------------


@desk_view
@require_POST
def add_link(request: HttpRequest, pk: int) -> HttpResponse:
    def action(user: User, ticket: Ticket) -> str:
        kind = request.POST.get("kind", LinkKind.NORMAL)
        if kind not in LinkKind.values:
            raise Refused(_("Please choose how the cases belong together."))
        other = _other_case(user, ticket, request.POST.get("number", ""))
        services.link(user, ticket, other, kind)
        return _("Case %(number)s is now linked (%(kind)s).") % {
            "number": other.number,
            "kind": LinkKind(kind).label,
        }

    return _act(request, pk, action, "#case-links")


@desk_view
@require_POST
def remove_link(request: HttpRequest, pk: int) -> HttpResponse:
    def action(user: User, ticket: Ticket) -> str:
        other = selectors.get_ticket(user, _int(request.POST.get("other")))
        services.unlink(user, ticket, other)
        return _("The link to case %(number)s was removed.") % {"number": other.number}

    return _act(request, pk, action, "#case-links")


# --- helpers ----------------------------------------------------------------------------------


def _refuse(
    request: HttpRequest, user: User, ticket: Ticket, message: str, status: int
) -> HttpResponse:
    from .cases import render_case

    messages.error(request, message)
    posted = {k: request.POST.get(k, "") for k in request.POST if k != "csrfmiddlewaretoken"}
    return render_case(request, user, ticket, status=status, posted=posted)


def _int(value: str | None) -> int:
    try:
        return int(value or "")
    except ValueError:
        return 0
