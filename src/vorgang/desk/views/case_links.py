"""Revoking the citizen's case page links from the case view (``portal.links.revoke_for_case``)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from vorgang.accounts.models import User
from vorgang.portal import links
from vorgang.tickets.models import Ticket

from .actions import Refused, _act
from .common import desk_view


@desk_view
@require_POST
def revoke_case_links(request: HttpRequest, pk: int) -> HttpResponse:
    def action(user: User, ticket: Ticket) -> str:
        if request.POST.get("confirm") != "yes":
            raise Refused(_("Please confirm that all links to the case page should stop working."))
        revoked = links.revoke_for_case(user, ticket)
        if not revoked:
            return _("No link to the case page was working, so nothing changed.")
        return ngettext(
            "The link to the case page no longer works.",
            "The %(count)d links to the case page no longer work.",
            revoked,
        ) % {"count": revoked}

    return _act(request, pk, action, "#case-page-links")
