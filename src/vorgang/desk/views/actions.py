"""What agents do on the case view: each action is one POST that calls one service.

Success redirects back to the case (POST/redirect/GET). A refused action shows the
case again with a message (role=alert) and the status of the error (403, 422); a
case the user may not see is a plain 404, whatever the action.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from vorgang.accounts.models import User
from vorgang.core import clock
from vorgang.core.errors import InvalidTransition, NotFound, PermissionDenied, ServiceError
from vorgang.tickets import selectors, services
from vorgang.tickets.models import ArticleKind, StateKind, Ticket

from .. import queries
from .cases import render_case
from .common import current_user, desk_view

MAX_NOTE = 100_000


class Refused(Exception):
    """A request the desk refuses with its own (translated) message; nothing was changed."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def explain(err: ServiceError, ticket: Ticket) -> str:
    """A translated message for a refused service call (services speak English)."""
    if isinstance(err, PermissionDenied):
        return _(
            "You may read this case, but not change it: that needs the access level "
            "“change” in the department %(department)s."
        ) % {"department": ticket.department.name}
    if isinstance(err, InvalidTransition):
        if ticket.state.kind == StateKind.MERGED:
            return _("This case was merged into another case and can no longer be changed.")
        return _("This change is not possible in the current state of the case.")
    return _("This could not be done: %(reason)s") % {"reason": err.message}


def _act(
    request: HttpRequest,
    pk: int,
    action: Callable[[User, Ticket], str],
    anchor: str = "",
) -> HttpResponse:
    user = current_user(request)
    ticket = selectors.get_ticket(user, pk)  # NotFound: desk_view shows the 404 page
    try:
        done = action(user, ticket)
    except NotFound:
        raise
    except Refused as err:
        return _refused(request, user, ticket, err.message, err.status)
    except ServiceError as err:
        return _refused(request, user, ticket, explain(err, ticket), err.status)
    messages.success(request, done)
    return HttpResponseRedirect(reverse("desk:case", args=[ticket.pk]) + anchor)


def _refused(
    request: HttpRequest, user: User, ticket: Ticket, message: str, status: int
) -> HttpResponse:
    messages.error(request, message)
    posted = {
        key: request.POST.get(key, "") for key in request.POST if key != "csrfmiddlewaretoken"
    }
    return render_case(request, user, ticket, status=status, posted=posted)


# --- the actions ------------------------------------------------------------------------------


@desk_view
@require_POST
def add_note(request: HttpRequest, pk: int) -> HttpResponse:
    def action(user: User, ticket: Ticket) -> str:
        body = request.POST.get("body", "")
        if not body.strip():
            raise Refused(_("Please write the note before saving it."))
        if len(body) > MAX_NOTE:
            raise Refused(_("The note is too long."))
        services.add_article(
            user,
            ticket,
            services.ArticleInput(body=body, kind=ArticleKind.NOTE, internal=True),
        )
        return _("The note was saved.")

    return _act(request, pk, action, "#timeline")


def parse_local_datetime(value: str) -> datetime | None:
    """A ``datetime-local`` value as an aware datetime in the current time zone."""
    value = (value or "").strip()
    if not value:
        return None
    parsed = None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        # Browsers without a date picker send what the person typed.
        for pattern in ("%d.%m.%Y %H:%M", "%d.%m.%Y, %H:%M", "%d.%m.%Y"):
            try:
                parsed = datetime.strptime(value, pattern)
                break
            except ValueError:
                continue
    if parsed is None:
        raise Refused(
            _("Please enter the date and time as DD.MM.YYYY HH:MM, e.g. 31.12.2030 14:00.")
        )
    if timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed, timezone.get_current_timezone())
    return parsed


@desk_view
@require_POST
def change_state(request: HttpRequest, pk: int) -> HttpResponse:
    def action(user: User, ticket: Ticket) -> str:
        state = queries.selectable_states().filter(pk=_int(request.POST.get("state"))).first()
        if state is None:
            raise Refused(_("Please choose a state from the list."))
        pending_until = None
        if state.is_pending:
            pending_until = parse_local_datetime(request.POST.get("pending_until", ""))
            if pending_until is None:
                raise Refused(
                    _("The state “%(state)s” needs a date until which the case waits.")
                    % {"state": state}
                )
            if pending_until <= clock.now():
                raise Refused(_("The date until which the case waits must lie in the future."))
        try:
            services.change_state(user, ticket, state, pending_until=pending_until)
        except InvalidTransition as err:
            if ticket.state.kind == StateKind.MERGED:
                raise
            message = _("A case in the state “%(old)s” cannot change to “%(new)s”.") % {
                "old": ticket.state,
                "new": state,
            }
            raise Refused(message, err.status) from err
        return _("The state is now “%(state)s”.") % {"state": state}

    return _act(request, pk, action)


@desk_view
@require_POST
def assign(request: HttpRequest, pk: int) -> HttpResponse:
    def action(user: User, ticket: Ticket) -> str:
        value = request.POST.get("owner", "")
        owner = None
        if value:
            owner = selectors.owner_candidates(ticket).filter(pk=_int(value)).first()
            if owner is None:
                raise Refused(
                    _(
                        "This person cannot own cases in %(department)s: only agents with "
                        "full access to the department can."
                    )
                    % {"department": ticket.department.name}
                )
        services.assign(user, ticket, owner)
        if owner is None:
            return _("The case has no owner now.")
        return _("%(name)s now owns the case.") % {"name": owner.display_name}

    return _act(request, pk, action)


@desk_view
@require_POST
def set_priority(request: HttpRequest, pk: int) -> HttpResponse:
    def action(user: User, ticket: Ticket) -> str:
        priority = queries.priorities().filter(pk=_int(request.POST.get("priority"))).first()
        if priority is None:
            raise Refused(_("Please choose a priority from the list."))
        services.set_priority(user, ticket, priority)
        return _("The priority is now “%(priority)s”.") % {"priority": priority}

    return _act(request, pk, action)


@desk_view
@require_POST
def add_tag(request: HttpRequest, pk: int) -> HttpResponse:
    def action(user: User, ticket: Ticket) -> str:
        name = " ".join(request.POST.get("tag", "").split())
        if not name:
            raise Refused(_("Please enter a tag."))
        if len(name) > services.MAX_TAG:
            raise Refused(
                _("A tag may have at most %(count)d characters.") % {"count": services.MAX_TAG}
            )
        services.tag(user, ticket, name)
        return _("The tag “%(tag)s” was added.") % {"tag": name}

    return _act(request, pk, action, "#tags")


@desk_view
@require_POST
def remove_tag(request: HttpRequest, pk: int) -> HttpResponse:
    def action(user: User, ticket: Ticket) -> str:
        name = request.POST.get("tag", "")
        if not name.strip():
            raise Refused(_("Please choose the tag to remove."))
        services.untag(user, ticket, name)
        return _("The tag “%(tag)s” was removed.") % {"tag": " ".join(name.split())}

    return _act(request, pk, action, "#tags")


def _int(value: str | None) -> int:
    try:
        return int(value or "")
    except ValueError:
        return 0
