"""The hosted form of an online service: ``/s/<slug>/`` and its confirmation page.

GET shows the form with a fresh signed token. POST checks the honeypot, the token and
the rate limit, reads the fields and files, and hands everything to
``catalogue.submissions.submit``; invalid entries show the form again with the entered
values, an error summary and a message at each field. A new case gets the
confirmation e-mail; the citizen is redirected to the confirmation page, whose
address carries the case id signed (the same for a repeated submission).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Concatenate, ParamSpec

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from vorgang.accounts.models import Tenant
from vorgang.catalogue import processing, submissions, validation
from vorgang.catalogue.models import OnlineService
from vorgang.core.errors import NotFound
from vorgang.tickets.models import Ticket

from . import guards, mail
from .documents import ChosenFile, DocumentField, chosen_files, document_fields
from .rendering import Field, all_fields, build_fields, entered_values, read_data
from .tenants import tenant_for_request

log = logging.getLogger(__name__)

P = ParamSpec("P")
CONTACT_PREFIX = "citizen."


def citizen_page(
    view: Callable[Concatenate[HttpRequest, P], HttpResponseBase],
) -> Callable[Concatenate[HttpRequest, P], HttpResponseBase]:
    """Pages with personal data: not cached, not indexed, no referrer to other sites.

    ``same-origin``, not ``no-referrer``: with the latter browsers send ``Origin: null``
    on the page's own POSTs, which Django's CSRF check refuses.
    """

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: P.args, **kwargs: P.kwargs) -> HttpResponseBase:
        response = view(request, *args, **kwargs)
        response["Cache-Control"] = "no-store"
        response["Referrer-Policy"] = "same-origin"
        response["X-Robots-Tag"] = "noindex, nofollow"
        return response

    return wrapper


def _language() -> str:
    return "en" if (get_language() or "de").startswith("en") else "de"


# --- the page frame: tenant, language switch, legal links --------------------------------------


def _reverse(name: str, *args: Any) -> str:
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return ""


def _frame(request: HttpRequest, tenant: Tenant) -> dict[str, Any]:
    legal = []
    texts = (
        ("imprint", tenant.imprint, _("Imprint")),
        ("privacy", tenant.privacy_notice, _("Privacy notice")),
        ("accessibility", tenant.accessibility_statement, _("Accessibility statement")),
    )
    for kind, text, label in texts:
        url = _reverse("portal:legal", kind) if text.strip() else ""
        if url:
            legal.append({"url": f"{url}?tenant={tenant.slug}", "label": label})
    return {
        "tenant": tenant,
        "logo_url": _reverse("portal:logo", tenant.slug) if tenant.logo else "",
        # The case page's switch: it stays under the tenant's path prefix.
        "language_url": _reverse("portal:language"),
        "legal_links": legal,
    }


def _message_page(
    request: HttpRequest, tenant: Tenant, status: int, title: str, text: str
) -> HttpResponse:
    context = _frame(request, tenant) | {"title": title, "text": text, "status": status}
    return render(request, "forms/message.html", context, status=status)


def _not_found(request: HttpRequest, tenant: Tenant) -> HttpResponse:
    return _message_page(
        request,
        tenant,
        404,
        _("Online service not found"),
        _(
            "This online service does not exist or is not available at the moment. "
            "Please check the address."
        ),
    )


def _refused(request: HttpRequest, tenant: Tenant) -> HttpResponse:
    """For the honeypot and forged or too fast tokens: neutral, nothing is stored."""
    return _message_page(
        request,
        tenant,
        400,
        _("The form could not be sent"),
        _(
            "Your form could not be sent. Nothing was stored. "
            "Please open the form again, fill it in and send it."
        ),
    )


def _service(tenant: Tenant, slug: str) -> OnlineService | None:
    return (
        OnlineService.objects.select_related("department", "tenant")
        .filter(tenant=tenant, slug=slug, active=True)
        .first()
    )


# --- the form ------------------------------------------------------------------------------------


@dataclass
class FormState:
    """What the form page shows after a POST (values, errors) or for a GET (empty)."""

    values: dict[str, Any]
    contact: dict[str, str]
    errors: dict[str, list[str]]
    notice: str = ""
    files_lost: bool = False


def _citizen_mapped(service: OnlineService) -> bool:
    """True when the service's own fields name the citizen's e-mail (``ui.citizen``)."""
    ui = service.ui if isinstance(service.ui, dict) else {}
    citizen = ui.get("citizen")
    return isinstance(citizen, dict) and isinstance(citizen.get("email"), str)


def _contact_fields(service: OnlineService, state: FormState) -> list[Field]:
    if _citizen_mapped(service):
        return []
    specs = (
        ("first_name", _("First name"), "given-name", "text"),
        ("last_name", _("Last name"), "family-name", "text"),
        ("email", _("E-mail address"), "email", "email"),
    )
    fields = []
    for name, label, autocomplete, widget in specs:
        made = Field(
            path=name,
            widget=widget,
            label=str(label),
            required=True,
            value=state.contact.get(name, ""),
            errors=list(state.errors.get(CONTACT_PREFIX + name, [])),
            autocomplete=autocomplete,
            maxlength=254 if name == "email" else submissions.MAX_NAME,
            prefix=CONTACT_PREFIX,
        )
        if name == "email":
            made.help = str(_("We send the confirmation and the link to your case page there."))
        fields.append(made)
    return fields


def _attach_citizen_errors(service: OnlineService, errors: dict[str, list[str]]) -> None:
    """Errors about the citizen (``citizen.email``) go to the field that holds it."""
    if not _citizen_mapped(service):
        return
    mapping = service.ui.get("citizen", {})
    for role in ("email", "first_name", "last_name"):
        messages = errors.pop(CONTACT_PREFIX + role, None)
        target = mapping.get(role)
        if messages and isinstance(target, str):
            bucket = errors.setdefault(target, [])
            if not bucket:  # a field's own message (e.g. "required") says enough
                bucket.extend(messages)


def _summary(
    contact: list[Field],
    fields: list[Field],
    documents: list[DocumentField],
    errors: dict[str, list[str]],
) -> list[dict[str, str]]:
    items: list[dict[str, str]] = []
    shown: set[str] = set()
    for made in [*contact, *all_fields(fields)]:
        for text in made.errors:
            items.append({"target": made.focus_id, "message": text})
        key = made.name if made.prefix == CONTACT_PREFIX else made.path
        shown.add(key)
    for doc in documents:
        for text in doc.errors:
            items.append({"target": doc.focus_id, "message": text})
        shown.add(f"documents.{doc.key}")
    for key, texts in errors.items():
        if key not in shown:
            items.extend({"target": "", "message": text} for text in texts)
    return items


def _render_form(
    request: HttpRequest,
    tenant: Tenant,
    service: OnlineService,
    state: FormState,
    token: str,
    status: int = 200,
) -> HttpResponse:
    lang = _language()
    _attach_citizen_errors(service, state.errors)
    fields = build_fields(service.schema, service.ui, lang, state.values, state.errors)
    contact = _contact_fields(service, state)
    documents = document_fields(service, lang)
    for doc in documents:
        doc.errors = list(state.errors.get(f"documents.{doc.key}", []))
    # Errors of the file list as a whole (too large altogether) go to the first document.
    if documents and "documents" in state.errors:
        documents[0].errors += state.errors["documents"]
    summary = _summary(contact, fields, documents, state.errors)
    context = _frame(request, tenant) | {
        "service": service,
        "service_name": (service.name_en if lang == "en" else "") or service.name_de,
        "service_description": (service.description_en if lang == "en" else "")
        or service.description_de,
        "fields": fields,
        "contact_fields": contact,
        "documents": documents,
        "summary": summary,
        "notice": state.notice,
        "files_lost": state.files_lost and bool(documents),
        "token": token,
        "token_field": guards.TOKEN_FIELD,
        "honeypot_field": guards.HONEYPOT_FIELD,
    }
    return render(request, "forms/form.html", context, status=status)


@citizen_page
@require_http_methods(["GET", "POST"])
def service_form(request: HttpRequest, slug: str) -> HttpResponseBase:
    tenant = tenant_for_request(request)
    service = _service(tenant, slug)
    if service is None:
        return _not_found(request, tenant)
    if request.method == "GET":
        empty = FormState(values={}, contact={}, errors={})
        return _render_form(request, tenant, service, empty, guards.issue_token(service.pk))
    return _submit(request, tenant, service)


def _contact_values(request: HttpRequest) -> dict[str, str]:
    return {
        name: request.POST.get(CONTACT_PREFIX + name, "").strip()
        for name in ("first_name", "last_name", "email")
    }


def _contact_errors(service: OnlineService, contact: dict[str, str]) -> dict[str, list[str]]:
    if _citizen_mapped(service):
        return {}
    lang = _language()
    errors: dict[str, list[str]] = {}
    labels = {"first_name": _("First name"), "last_name": _("Last name")}
    for name, label in labels.items():
        if not contact[name]:
            errors[CONTACT_PREFIX + name] = [validation.message("required", lang, label=label)]
    if not contact["email"]:
        errors[CONTACT_PREFIX + "email"] = [validation.message("citizen_missing", lang)]
    else:
        try:
            validate_email(contact["email"])
        except ValidationError:
            errors[CONTACT_PREFIX + "email"] = [validation.message("citizen_email", lang)]
    return errors


def _oversized(
    chosen: list[ChosenFile], documents: list[DocumentField]
) -> tuple[list[ChosenFile], dict[str, list[str]]]:
    """Files larger than their document allows are refused before they are read."""
    lang = _language()
    limits = {doc.key: doc.max_bytes for doc in documents}
    kept: list[ChosenFile] = []
    errors: dict[str, list[str]] = {}
    for item in chosen:
        limit = limits.get(item.document_key) or 0
        if limit and item.size > limit:
            errors.setdefault(f"documents.{item.document_key}", []).append(
                validation.message(
                    "doc_too_big",
                    lang,
                    filename=item.filename,
                    size=validation.human_size(item.size, lang),
                    max=validation.human_size(limit, lang),
                )
            )
        else:
            kept.append(item)
    return kept, errors


def _read_files(chosen: list[ChosenFile]) -> list[submissions.UploadedDocument]:
    files = []
    for item in chosen:
        item.upload.seek(0)
        files.append(
            submissions.UploadedDocument(
                document_key=item.document_key,
                filename=item.filename,
                content=item.upload.read(),
                content_type=item.upload.content_type or "application/octet-stream",
            )
        )
    return files


def _errors_without_submit(
    service: OnlineService,
    data: dict[str, Any],
    files: list[submissions.UploadedDocument],
    errors: dict[str, list[str]],
) -> dict[str, list[str]]:
    """All other errors too, when the form's own checks already failed (so nothing is
    created): the citizen should see every problem at once."""
    lang = _language()
    found = validation.validate_data(service, data, lang)
    try:
        file_errors = submissions.check_files(service, files, lang)
    except submissions.SubmissionTooLarge as exc:
        file_errors = {"documents": [exc.message]}
    for key, texts in file_errors.items():
        if key in errors:  # a refused (oversized) file is not "missing": its message says more
            texts = [t for t in texts if not _is_missing_message(service, key, t)]
        found.setdefault(key, []).extend(texts)
    for key, texts in errors.items():
        found[key] = texts + [t for t in found.get(key, []) if t not in texts]
    return {k: v for k, v in found.items() if v}


def _is_missing_message(service: OnlineService, key: str, text: str) -> bool:
    lang = _language()
    doc_key = key.partition(".")[2]
    for entry in service.documents if isinstance(service.documents, list) else []:
        if isinstance(entry, dict) and entry.get("key") == doc_key:
            name = submissions.document_name(entry, lang)
            return text == validation.message("doc_required", lang, label=name)
    return False


def _submit(request: HttpRequest, tenant: Tenant, service: OnlineService) -> HttpResponseBase:
    if guards.honeypot_filled(request):
        log.info("form submission to service %s refused: honeypot", service.pk)
        return _refused(request, tenant)
    raw_token = request.POST.get(guards.TOKEN_FIELD, "")
    values = entered_values(service.schema, request.POST)
    contact = _contact_values(request)
    documents = document_fields(service, _language())
    had_files = bool(request.FILES)
    try:
        token = guards.read_token(raw_token, service.pk)
    except guards.TokenProblem as problem:
        if problem.reason != "expired":
            log.info("form submission to service %s refused: token %s", service.pk, problem.reason)
            return _refused(request, tenant)
        state = FormState(
            values=values,
            contact=contact,
            errors={},
            notice=_(
                "The form was open for a long time, so for your safety it was not sent. "
                "Your entries are kept: please check them and send the form again."
            ),
            files_lost=had_files,
        )
        return _render_form(request, tenant, service, state, guards.issue_token(service.pk))
    if guards.rate_limited(request, service.pk):
        log.info("form submission to service %s refused: rate limit", service.pk)
        return _message_page(
            request,
            tenant,
            429,
            _("Too many applications"),
            _(
                "Too many applications were sent from your connection in a short time. "
                "Nothing was stored. Please try again in an hour."
            ),
        )

    data = read_data(service.schema, request.POST)
    chosen, errors = _oversized(chosen_files(request, documents), documents)
    errors.update(_contact_errors(service, contact))
    files = _read_files(chosen)
    idempotency_key = f"form-{token.key}"
    result: submissions.SubmissionResult | None = None
    if errors:
        errors = _errors_without_submit(service, data, files, errors)
    else:
        if _citizen_mapped(service):
            citizen = submissions.citizen_from_data(service, data)
        else:
            citizen = submissions.CitizenInput(
                email=contact["email"],
                first_name=contact["first_name"],
                last_name=contact["last_name"],
            )
        try:
            result = submissions.submit(
                service,
                citizen=citizen,
                data=data,
                files=files,
                channel="form",
                idempotency_key=idempotency_key,
            )
        except submissions.SubmissionInvalid as exc:
            errors = dict(exc.errors)
        except submissions.SubmissionTooLarge as exc:
            errors = {"documents": [exc.message]}
        except NotFound:
            return _not_found(request, tenant)
    if result is None:
        state = FormState(values=values, contact=contact, errors=errors, files_lost=had_files)
        # The same token again: the key stays, so a later double click is still one case.
        return _render_form(request, tenant, service, state, raw_token, status=422)

    ticket = result.ticket
    if result.created:
        guards.count_submission(request, service.pk)
        try:
            mail.send_confirmation(ticket, service, _language(), processing.expected_days(service))
        except Exception:  # the case is stored; a failing mail must not hide that from the citizen
            log.exception("confirmation mail for case %s could not be written", ticket.pk)
    done = reverse("forms:done", args=[service.slug, guards.done_token(ticket.pk, service.pk)])
    return HttpResponseRedirect(done)


# --- the confirmation page -------------------------------------------------------------------


@citizen_page
@require_http_methods(["GET"])
def done(request: HttpRequest, slug: str, token: str) -> HttpResponseBase:
    tenant = tenant_for_request(request)
    service = _service(tenant, slug)
    if service is None:
        return _not_found(request, tenant)
    ticket_id = guards.read_done_token(token, service.pk)
    ticket = (
        Ticket.objects.select_related("citizen", "department")
        .filter(pk=ticket_id, service=service, tenant=tenant)
        .first()
        if ticket_id is not None
        else None
    )
    if ticket is None:
        return _message_page(
            request,
            tenant,
            404,
            _("Confirmation not available"),
            _(
                "This confirmation page is no longer available. Your case number and the "
                "link to your case page are in the e-mail we sent you."
            ),
        )
    lang = _language()
    context = _frame(request, tenant) | {
        "service": service,
        "service_name": (service.name_en if lang == "en" else "") or service.name_de,
        "ticket": ticket,
        "days": processing.expected_days(service),
        "rows": validation.labelled_rows(service, ticket.data, lang),
        "has_email": bool(ticket.citizen and ticket.citizen.email),
        "new_link_url": _reverse("portal:new_link"),
    }
    return render(request, "forms/done.html", context)
