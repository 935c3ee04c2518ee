"""The citizen's case page (no account: a magic link), the request for a new link, legal pages.

The token is in the path, so no page may hand its address on: pages send
``Referrer-Policy: strict-origin`` (a Referer holds at most our origin, never the
path) and files ``no-referrer``. Not ``no-referrer`` on pages: with it browsers send
``Origin: null`` on form posts, which Django's CSRF check rightly refuses. Every
response is ``Cache-Control: no-store``; the token never reaches the logs (see
``logfilter``). Forms are protected by Django's CSRF middleware.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import mimetypes
import re
from collections.abc import Callable
from typing import Any, Concatenate, ParamSpec

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.core.validators import validate_email
from django.db import transaction
from django.http import (
    FileResponse,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    HttpResponseRedirect,
)
from django.template.response import TemplateResponse
from django.urls import get_script_prefix, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from vorgang.accounts.models import Tenant
from vorgang.channels.forms.tenants import explicit_tenant
from vorgang.core.errors import ServiceError
from vorgang.core.ratelimit import client_address
from vorgang.tickets.models import Attachment, StateKind, Ticket

from . import documents as docs
from . import information, links, presenting, ratelimit
from .models import CaseLink

log = logging.getLogger(__name__)

P = ParamSpec("P")
SESSION_LANGUAGE = "language"  # read by vorgang.core.middleware.UserLanguageMiddleware
LEGAL_KINDS = ("imprint", "privacy", "accessibility")
PAGE_REFERRER_POLICY = "strict-origin"
FILE_REFERRER_POLICY = "no-referrer"
FIELD_KEY = re.compile(r"^[a-z0-9][a-z0-9_]{0,99}$")


def portal_page(
    view: Callable[Concatenate[HttpRequest, P], HttpResponseBase],
) -> Callable[Concatenate[HttpRequest, P], HttpResponseBase]:
    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: P.args, **kwargs: P.kwargs) -> HttpResponseBase:
        response = view(request, *args, **kwargs)
        is_file = isinstance(response, FileResponse)
        response["Referrer-Policy"] = FILE_REFERRER_POLICY if is_file else PAGE_REFERRER_POLICY
        response["Cache-Control"] = "no-store"
        response["X-Robots-Tag"] = "noindex, nofollow"
        return response

    return wrapper


# --- the tenant whose name, logo and legal notices a page shows --------------------------------


def tenant_for_request(request: HttpRequest) -> Tenant:
    """By path prefix or host name, else by ``?tenant=<slug>``, else the first tenant."""
    found = explicit_tenant(request)
    if found is None and request.GET.get("tenant"):
        found = Tenant.objects.filter(slug=request.GET["tenant"]).first()
    return found or Tenant.default()


def foreign_link(request: HttpRequest, link: CaseLink) -> bool:
    """True when the address names another tenant than the case's (by prefix or host):
    tenant B's prefix or host name never shows tenant A's case page."""
    named = explicit_tenant(request)
    return named is not None and named.pk != link.ticket.tenant_id


def _base_context(request: HttpRequest, tenant: Tenant) -> dict[str, Any]:
    return {"tenant": tenant, "next_path": request.path}


# --- the case page --------------------------------------------------------------------------


def shown_ticket(link: CaseLink) -> Ticket:
    """The link's case, or the case it was merged into if that is the same citizen's."""
    ticket = link.ticket
    seen = {ticket.pk}
    while ticket.state.kind == StateKind.MERGED and ticket.merged_into_id is not None:
        target = (
            Ticket.objects.select_related("state", "department", "tenant", "service")
            .filter(pk=ticket.merged_into_id)
            .first()
        )
        if target is None or target.pk in seen or target.citizen_id != link.citizen_id:
            break
        seen.add(target.pk)
        ticket = target
    return ticket


def invalid_link(request: HttpRequest, check: links.LinkCheck) -> HttpResponse:
    tenant = check.link.ticket.tenant if check.link is not None else tenant_for_request(request)
    context = _base_context(request, tenant) | {"reason": check.reason, "form": {}, "errors": {}}
    return TemplateResponse(request, "portal/invalid_link.html", context, status=check.status)


def _check(request: HttpRequest, token: str) -> links.LinkCheck:
    check = links.check(token)
    if check.link is not None and foreign_link(request, check.link):
        return links.LinkCheck(None, 404, "unknown")
    return check


@portal_page
@require_http_methods(["GET", "POST"])
def case(request: HttpRequest, token: str) -> HttpResponseBase:
    check = _check(request, token)
    if check.link is None or check.status != 200:
        return invalid_link(request, check)
    link = check.link
    ticket = shown_ticket(link)
    if request.method == "POST":
        return _post_message(request, token, link, ticket)
    return _render_case(request, token, link, ticket)


def _render_case(
    request: HttpRequest,
    token: str,
    link: CaseLink,
    ticket: Ticket,
    *,
    status: int = 200,
    errors: dict[str, list[str]] | None = None,
    posted_message: str = "",
) -> TemplateResponse:
    citizen = link.citizen
    errors = errors or {}
    merged_elsewhere = ticket.state.kind == StateKind.MERGED
    state = presenting.citizen_state(ticket)
    requested = information.document_status(ticket)
    open_requests = information.open_requests(ticket)
    can_write = not merged_elsewhere
    context = _base_context(request, ticket.tenant) | {
        "token": token,
        "ticket": ticket,
        "state": state,
        "merged_elsewhere": merged_elsewhere,
        "service_name": presenting.service_name(ticket),
        "expected_days": presenting.expected_days(ticket.service) if state.key != "done" else None,
        "entries": presenting.timeline(citizen, ticket) if not merged_elsewhere else [],
        "requested": requested,
        "missing": [r for r in requested if not r.received],
        "upload_fields": [
            {
                "id": field_for(item.document),
                "document": item.document,
                "limit": docs.megabytes(item.document.limit),
                "errors": errors.get(field_for(item.document), []),
            }
            for item in requested
            if not item.received
        ],
        "open_requests": open_requests,
        "can_write": can_write,
        "errors": errors,
        "error_list": [(field, m) for field, ms in errors.items() for m in ms],
        "posted_message": posted_message,
        "max_upload": docs.megabytes(docs.max_upload_bytes()),
        "expires_at": link.expires_at,
    }
    return TemplateResponse(request, "portal/case.html", context, status=status)


def field_for(document: docs.Document) -> str:
    """The upload field of a document: its key where that is safe in an id, else a hash."""
    if FIELD_KEY.match(document.key):
        return f"document-{document.key}"
    return "document-" + hashlib.sha256(document.key.encode()).hexdigest()[:16]


def _files(request: HttpRequest, name: str) -> list[UploadedFile]:
    return [f for f in request.FILES.getlist(name) if f.name]


def _post_message(
    request: HttpRequest, token: str, link: CaseLink, ticket: Ticket
) -> HttpResponseBase:
    limit = docs.max_upload_bytes()
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > limit + 1024 * 1024:
        # Too large to even read: say so before taking the upload in.
        return _render_case(
            request,
            token,
            link,
            ticket,
            status=413,
            errors={
                "files": [
                    _("The files are too large. Together they may have at most %(size)s.")
                    % {"size": docs.megabytes(limit)}
                ]
            },
        )
    message = request.POST.get("message", "")
    errors: dict[str, list[str]] = {}
    chosen: list[tuple[str, docs.Upload]] = []
    fields: list[tuple[str, str, docs.Document | None]] = [
        (field_for(item.document), item.document.key, item.document)
        for item in information.document_status(ticket)
    ]
    fields.append(("files", "", None))
    total = 0
    for field_name, key, document in fields:
        for uploaded in _files(request, field_name):
            content = uploaded.read()
            total += len(content)
            upload = docs.Upload(
                filename=uploaded.name or "file",
                content=content,
                content_type=docs.content_type_for(uploaded.name or ""),
            )
            problem = docs.check_file(upload, document)
            if problem:
                errors.setdefault(field_name, []).append(problem)
            else:
                chosen.append((key, upload))
    if total > limit:
        errors.setdefault("files", []).append(
            _("The files are too large. Together they may have at most %(size)s.")
            % {"size": docs.megabytes(limit)}
        )
    if not errors and not message.strip() and not chosen:
        errors["message"] = [_("Please write a message or choose a file.")]
    if len(message) > information.MAX_MESSAGE:
        errors.setdefault("message", []).append(
            _("The message is too long. Please shorten it to %(count)d characters.")
            % {"count": information.MAX_MESSAGE}
        )
    if not errors:
        try:
            information.answer(link.citizen, ticket, body=message, files=chosen)
        except ServiceError:
            errors["message"] = [
                _("Your message could not be saved. Please try again later or contact us.")
            ]
    if errors:
        status = 413 if total > limit else 422
        return _render_case(
            request, token, link, ticket, status=status, errors=errors, posted_message=message
        )
    messages.success(request, _("Thank you. Your message has reached us."))
    return HttpResponseRedirect(reverse("portal:case", args=[token]) + "#sent")


@portal_page
def attachment(request: HttpRequest, token: str, pk: int) -> HttpResponseBase:
    check = _check(request, token)
    if check.link is None or check.status != 200:
        return invalid_link(request, check)
    ticket = shown_ticket(check.link)
    found = (
        Attachment.objects.select_related("blob")
        .filter(pk=pk, article__ticket=ticket, article__internal=False)
        .first()
    )
    if found is None or ticket.state.kind == StateKind.MERGED:
        return invalid_link(request, links.LinkCheck(check.link, 404, "no_file"))
    try:
        handle = default_storage.open(found.blob.path, "rb")
    except FileNotFoundError:
        log.error("attachment %s: blob is missing from storage", found.pk)
        return invalid_link(request, links.LinkCheck(check.link, 404, "no_file"))
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=found.filename,
        content_type=found.content_type or "application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


# --- a new link --------------------------------------------------------------------------------


@portal_page
@require_http_methods(["GET", "POST"])
def new_link(request: HttpRequest) -> HttpResponseBase:
    tenant = tenant_for_request(request)
    context = _base_context(request, tenant)
    if request.method != "POST":
        return TemplateResponse(
            request, "portal/new_link.html", context | {"form": {}, "errors": {}}
        )
    number = " ".join(request.POST.get("number", "").split())[:60]
    email = request.POST.get("email", "").strip()[:254]
    errors: dict[str, list[str]] = {}
    if not number:
        errors["number"] = [_("Please enter your case number.")]
    if not email:
        errors["email"] = [_("Please enter your e-mail address.")]
    else:
        try:
            validate_email(email)
        except ValidationError:
            errors["email"] = [_("Please enter a complete e-mail address, e.g. name@example.org.")]
    form = {"number": number, "email": email}
    if errors:
        return TemplateResponse(
            request,
            "portal/new_link.html",
            context | {"form": form, "errors": errors},
            status=422,
        )
    if not ratelimit.allow(client_address(request), number):
        return TemplateResponse(
            request,
            "portal/new_link.html",
            context | {"form": form, "errors": {}, "limited": True},
            status=429,
        )
    found = (
        Ticket.objects.filter(
            tenant=tenant,
            number__iexact=ratelimit.normalise_number(number),
            citizen__email__iexact=email,
            citizen__is_active=True,
        )
        .values_list("pk", flat=True)
        .first()
    )
    if found is not None:
        transaction.on_commit(lambda: _send_link_later(found))
    # The same answer whether or not the case exists.
    return TemplateResponse(request, "portal/link_sent.html", context)


def _send_link_later(ticket_id: int) -> None:
    from .tasks import send_new_link

    send_new_link.enqueue(ticket_id)


# --- language, legal notices, logo ---------------------------------------------------------


@require_POST
def language(request: HttpRequest) -> HttpResponseBase:
    chosen = request.POST.get("language", "")
    if chosen in {code for code, _name in settings.LANGUAGES}:
        request.session[SESSION_LANGUAGE] = chosen
    target = request.POST.get("next", "")
    # Back to a citizen page (case page or hosted form) under the same prefix, nowhere else.
    prefix = get_script_prefix()
    if not (
        target.startswith((f"{prefix}c/", f"{prefix}s/"))
        and url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
    ):
        target = reverse("portal:new_link")
    response = HttpResponseRedirect(target)
    response["Referrer-Policy"] = PAGE_REFERRER_POLICY
    return response


@portal_page
def legal(request: HttpRequest, kind: str) -> HttpResponseBase:
    if kind not in LEGAL_KINDS:
        tenant = tenant_for_request(request)
        return TemplateResponse(
            request,
            "portal/invalid_link.html",
            _base_context(request, tenant) | {"reason": "no_page", "form": {}, "errors": {}},
            status=404,
        )
    tenant = tenant_for_request(request)
    titles = {
        "imprint": _("Imprint"),
        "privacy": _("Privacy notice"),
        "accessibility": _("Accessibility statement"),
    }
    texts = {
        "imprint": tenant.imprint,
        "privacy": tenant.privacy_notice,
        "accessibility": tenant.accessibility_statement,
    }
    contact = tenant.feedback_contact.strip() if kind == "accessibility" else ""
    return TemplateResponse(
        request,
        "portal/legal.html",
        _base_context(request, tenant)
        | {
            "kind": kind,
            "title": titles[kind],
            "text": texts[kind],
            "contact": contact,
            "contact_is_email": "@" in contact and " " not in contact,
        },
    )


def logo(request: HttpRequest, slug: str) -> HttpResponseBase:
    tenant = Tenant.objects.filter(slug=slug).first()
    if tenant is None or not tenant.logo:
        return HttpResponse(status=404)
    name = str(tenant.logo.name)
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    if not content_type.startswith("image/"):
        return HttpResponse(status=404)
    try:
        handle = default_storage.open(name, "rb")
    except FileNotFoundError:
        return HttpResponse(status=404)
    response = FileResponse(handle, content_type=content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; sandbox"
    response["Cache-Control"] = "public, max-age=3600"
    return response
