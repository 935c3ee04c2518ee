"""Asking the citizen for documents or answers ("Rückfrage") from the case view.

GET shows the form (documents from the service's list, free questions, deadline,
what happens when it passes); POST creates the request through
``portal.information.create_request``: an e-mail with the case page link goes out,
and the case waits for the citizen until the deadline. Needs change access.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from vorgang.accounts import access
from vorgang.accounts.models import AccessLevel, User
from vorgang.core.errors import InvalidInput, NotFound, PermissionDenied, ServiceError
from vorgang.portal import information
from vorgang.portal.documents import service_documents
from vorgang.portal.models import OnDeadline
from vorgang.tickets import selectors
from vorgang.tickets.models import Ticket

from .actions import explain
from .common import current_user, desk_view, error_page


def _parse_date(value: str) -> date | None:
    value = (value or "").strip()
    for pattern in ("%Y-%m-%d", "%d.%m.%Y"):
        try:
            return datetime.strptime(value, pattern).date()
        except ValueError:
            continue
    return None


@desk_view
@require_http_methods(["GET", "POST"])
def request_info(request: HttpRequest, pk: int) -> HttpResponse:
    user = current_user(request)
    ticket = selectors.get_ticket(user, pk)  # NotFound: desk_view shows the 404 page
    if not access.has_level(user, ticket.department_id, AccessLevel.CHANGE):
        return error_page(
            request, 403, message=_("You may see this case, but you may not change it.")
        )
    if request.method == "GET":
        return _render(request, user, ticket)
    documents = request.POST.getlist("documents")
    questions = request.POST.get("questions", "")
    on_deadline = request.POST.get("on_deadline", "")
    posted: dict[str, Any] = {
        "documents": documents,
        "questions": questions,
        "deadline": request.POST.get("deadline", ""),
        "on_deadline": on_deadline,
    }
    deadline = _parse_date(request.POST.get("deadline", ""))
    if deadline is None:
        return _render(
            request,
            user,
            ticket,
            posted=posted,
            status=422,
            error=_("Please enter the deadline as a date, e.g. 31.12.2030."),
            error_field="rfi-deadline",
        )
    try:
        information.create_request(
            user,
            ticket,
            documents=documents,
            questions=questions,
            deadline=deadline,
            on_deadline=on_deadline,
        )
    except NotFound:
        raise
    except PermissionDenied as err:
        return _render(request, user, ticket, posted=posted, status=403, error=explain(err, ticket))
    except InvalidInput as err:
        return _render(request, user, ticket, posted=posted, status=err.status, error=err.message)
    except ServiceError as err:
        return _render(
            request, user, ticket, posted=posted, status=err.status, error=explain(err, ticket)
        )
    messages.success(
        request,
        _("The request was sent to the citizen. The case waits for the answer until %(date)s.")
        % {"date": deadline.strftime("%d.%m.%Y")},
    )
    return HttpResponseRedirect(reverse("desk:case", args=[ticket.pk]) + "#information-requests")


def _render(
    request: HttpRequest,
    user: User,
    ticket: Ticket,
    *,
    posted: dict[str, Any] | None = None,
    status: int = 200,
    error: str = "",
    error_field: str = "",
) -> TemplateResponse:
    posted = posted or {}
    chosen = set(posted.get("documents") or [])
    deadline = posted.get("deadline") or information.default_deadline().isoformat()
    return TemplateResponse(
        request,
        "desk/request_info.html",
        {
            "ticket": ticket,
            "documents": [(d, d.key in chosen) for d in service_documents(ticket.service)],
            "questions": posted.get("questions", ""),
            "deadline": deadline,
            "on_deadline": posted.get("on_deadline") or OnDeadline.REMIND,
            "choices": OnDeadline.choices,
            "error": error,
            "error_field": error_field,
            "citizen_email": ticket.citizen.email if ticket.citizen else "",
        },
        status=status,
    )
