"""Background work of notifications; tasks take ids and may run twice."""

from __future__ import annotations

import logging

from django_tasks import task

log = logging.getLogger(__name__)


@task()
def send_notification_mail(user_id: int, ticket_id: int, kind: str, actor_id: int | None) -> str:
    """Mail ``user_id`` about ``ticket_id``, if they still may read it and still want the mail.

    Returns ``sent`` or why not (``gone``, ``not allowed``, ``not wanted``, ``no address``).
    """
    from vorgang.accounts.models import User
    from vorgang.tickets.models import Ticket

    from . import mail, preferences
    from .services import may_be_notified

    user = User.objects.filter(pk=user_id).first()
    ticket = Ticket.objects.filter(pk=ticket_id).first()
    if user is None or ticket is None:
        return "gone"
    if not may_be_notified(user, ticket):
        return "not allowed"
    if not preferences.channels(user, kind).email:
        return "not wanted"
    if not user.email:
        return "no address"
    actor = User.objects.filter(pk=actor_id).first() if actor_id is not None else None
    mail.send(user, ticket, kind, actor)
    log.info("notification mail %s for case %s sent to user %s", kind, ticket_id, user_id)
    return "sent"
