"""Background tasks of the case page; each takes ids only and is safe to run twice."""

from __future__ import annotations

import logging

from django_tasks import task

log = logging.getLogger(__name__)


@task()
def send_new_link(ticket_id: int) -> str:
    """Issue a new case page link and mail it to the address on file.

    Runs in the worker, so the request-a-link page answers just as fast whether or
    not a case matched, and the raw token never sits in the task queue.
    """
    from vorgang.tickets.models import Ticket

    from . import links, mail

    ticket = Ticket.objects.select_related("citizen", "department", "tenant").get(pk=ticket_id)
    if ticket.citizen is None or not ticket.citizen.email:
        return "skipped"
    url = links.issue_link(ticket)
    mail.send_link(ticket, url, links.newest_expiry(ticket))
    return "sent"


@task()
def notify_owner(ticket_id: int, reason: str = "message") -> str:
    """Tell the case's owner, if it has one, that something needs them (without details)."""
    from vorgang.tickets.models import Ticket

    from . import mail

    ticket = Ticket.objects.select_related("owner", "department").filter(pk=ticket_id).first()
    if ticket is None:
        return "skipped"
    return "sent" if mail.notify_owner(ticket, reason) else "no owner"
