"""E-mail to an agent about a notification, in the agent's language.

It says what happened and where: the case number, its title and a link to the
case in the desk. Never the citizen's name, address or words: mail leaves the
administration's systems, the case stays inside.
"""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from vorgang.accounts.models import User
from vorgang.core.middleware import unprefixed
from vorgang.tickets.models import Ticket

from .models import NotificationKind


def case_url(ticket: Ticket) -> str:
    with unprefixed():  # the desk is never under a tenant's path prefix
        path = reverse("desk:case", args=[ticket.pk])
    return str(settings.BASE_URL).rstrip("/") + path


def _what(kind: str, actor: User | None) -> str:
    who = actor.display_name if actor is not None and not actor.is_citizen else ""
    if kind == NotificationKind.ASSIGNED:
        if who:
            return _("%(name)s assigned this case to you.") % {"name": who}
        return _("This case was assigned to you.")
    if kind == NotificationKind.CITIZEN_REPLIED:
        return _("The citizen wrote a new message in this case.")
    if kind == NotificationKind.REMINDER_REACHED:
        return _("The reminder date of this case has been reached.")
    if kind == NotificationKind.MENTION:
        if who:
            return _("%(name)s mentioned you in an internal note.") % {"name": who}
        return _("You were mentioned in an internal note.")
    if kind == NotificationKind.ESCALATION:
        return _("This case has escalated.")
    return _("There is news in this case.")


def build(user: User, ticket: Ticket, kind: str, actor: User | None) -> EmailMessage:
    language = user.language if user.language in ("de", "en") else "de"
    tag = getattr(settings, "VORGANG_SUBJECT_TAG", "Vorgang")
    with translation.override(language):
        label = str(NotificationKind(kind).label) if kind in NotificationKind.values else kind
        subject = f"[{tag}#{ticket.number}] {label[:1].upper()}{label[1:]}: {ticket.title}"
        body = "\n".join(
            [
                _("Hello %(name)s,") % {"name": user.get_full_name() or user.username},
                "",
                _what(kind, actor),
                "",
                _("Case %(number)s: %(title)s") % {"number": ticket.number, "title": ticket.title},
                _("Open the case: %(url)s") % {"url": case_url(ticket)},
                "",
                _(
                    "You get this e-mail because of your notification settings in Vorgang. "
                    "You can change them on your settings page."
                ),
            ]
        )
    # Header fields may not hold line breaks; a title never should, but be sure.
    subject = " ".join(subject.split())[:300]
    return EmailMessage(subject, body + "\n", settings.DEFAULT_FROM_EMAIL, [user.email])


def send(user: User, ticket: Ticket, kind: str, actor: User | None) -> None:
    message = build(user, ticket, kind, actor)
    message.connection = get_connection(fail_silently=False)
    message.send(fail_silently=False)
