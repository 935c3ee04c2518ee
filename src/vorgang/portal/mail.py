"""The e-mails of the case page, in the recipient's language (German unless they chose English).

Texts to citizens are plain language. Mail to agents never contains what the
citizen wrote: only that something happened, and where to look.
"""

from __future__ import annotations

import logging
from datetime import datetime
from email.headerregistry import Address

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import formats, timezone, translation

from vorgang.accounts.models import Department, User
from vorgang.core.middleware import unprefixed
from vorgang.tickets import services
from vorgang.tickets.models import Article, ArticleKind, SenderKind, Ticket

from .documents import Document

log = logging.getLogger(__name__)


def language_of(user: User | None) -> str:
    return "en" if user is not None and user.language == "en" else "de"


def subject_tag(ticket: Ticket) -> str:
    tag = getattr(settings, "VORGANG_SUBJECT_TAG", "Vorgang")
    return f"[{tag}#{ticket.number}]"


def department_from(department: Department) -> str:
    try:
        return str(Address(display_name=department.name, addr_spec=department.email_address))
    except (ValueError, IndexError):
        return department.email_address


def format_date(value: datetime, language: str) -> str:
    with translation.override(language):
        return formats.date_format(timezone.localtime(value), "DATE_FORMAT")


def _greeting(user: User | None, language: str) -> str:
    name = user.get_full_name().strip() if user is not None else ""
    if language == "en":
        return f"Hello {name}," if name else "Hello,"
    return f"Guten Tag {name}," if name else "Guten Tag,"


# --- a new link, on request ----------------------------------------------------------------

_LINK_SUBJECT = {"de": "Ihr Link zum Vorgang", "en": "Your link to the case"}
_LINK_BODY = {
    "de": (
        "{greeting}\n\n"
        "Sie haben einen neuen Link zu Ihrem Vorgang {number} angefordert.\n\n"
        "Mit diesem Link sehen Sie, wie weit Ihr Anliegen ist. "
        "Sie können uns dort auch schreiben und Unterlagen schicken:\n\n"
        "{url}\n\n"
        "Der Link gilt bis zum {until}. Bitte geben Sie ihn nicht weiter: "
        "Wer den Link hat, kann Ihren Vorgang sehen.\n\n"
        "Sie haben keinen Link angefordert? Dann können Sie diese E-Mail löschen.\n\n"
        "Diese E-Mail wurde automatisch verschickt.\n"
        "{department}"
    ),
    "en": (
        "{greeting}\n\n"
        "You asked for a new link to your case {number}.\n\n"
        "With this link you can see how far your request has got. "
        "You can also write to us there and send us documents:\n\n"
        "{url}\n\n"
        "The link is valid until {until}. Please do not pass it on: "
        "anyone who has the link can see your case.\n\n"
        "You did not ask for a link? Then you can delete this e-mail.\n\n"
        "This e-mail was sent automatically.\n"
        "{department}"
    ),
}


def send_link(ticket: Ticket, url: str, until: datetime) -> None:
    """Mail a case page link to the address on file (never to an address someone typed)."""
    citizen = ticket.citizen
    if citizen is None or not citizen.email:
        return
    language = language_of(citizen)
    body = _LINK_BODY[language].format(
        greeting=_greeting(citizen, language),
        number=ticket.number,
        url=url,
        until=format_date(until, language),
        department=ticket.department.name,
    )
    send_mail(
        f"{subject_tag(ticket)} {_LINK_SUBJECT[language]}",
        body,
        department_from(ticket.department),
        [citizen.email],
        fail_silently=False,
    )


# --- to the owner ----------------------------------------------------------------------------

_OWNER_SUBJECT = {
    "message": {"de": "Neue Nachricht im Vorgang {number}", "en": "New message in case {number}"},
    "deadline": {
        "de": "Frist abgelaufen im Vorgang {number}",
        "en": "Deadline passed in case {number}",
    },
}
_OWNER_BODY = {
    "message": {
        "de": (
            "Im Vorgang {number} gibt es eine neue Nachricht über die Vorgangsseite.\n\n"
            "Zum Vorgang: {url}\n"
        ),
        "en": "There is a new message in case {number}, sent through the case page.\n\n"
        "Open the case: {url}\n",
    },
    "deadline": {
        "de": (
            "Im Vorgang {number} ist die Frist der Rückfrage abgelaufen, "
            "ohne dass eine Antwort kam.\n\n"
            "Zum Vorgang: {url}\n"
        ),
        "en": (
            "In case {number} the deadline of the request for information has passed "
            "without an answer.\n\n"
            "Open the case: {url}\n"
        ),
    },
}


def notify_owner(ticket: Ticket, reason: str = "message") -> bool:
    """A short mail to the owner (if the case has one); never with the citizen's text.

    Only when the owner wants e-mail about citizen replies (their notification settings).
    """
    from vorgang.notifications import preferences
    from vorgang.notifications.models import NotificationKind

    owner = ticket.owner
    if owner is None or not owner.is_active or not owner.email:
        return False
    if not preferences.channels(owner, NotificationKind.CITIZEN_REPLIED).email:
        return False
    language = language_of(owner)
    with unprefixed():  # the desk is never under a tenant's prefix
        url = str(settings.BASE_URL).rstrip("/") + reverse("desk:case", args=[ticket.pk])
    send_mail(
        f"{subject_tag(ticket)} " + _OWNER_SUBJECT[reason][language].format(number=ticket.number),
        _OWNER_BODY[reason][language].format(number=ticket.number, url=url),
        department_from(ticket.department),
        [owner.email],
        fail_silently=False,
    )
    return True


# --- the request for information and its reminders -------------------------------------------

_REQUEST_SUBJECT = {
    "de": "Wir brauchen noch etwas von Ihnen",
    "en": "We need something more from you",
}
_REMINDER_SUBJECT = {
    "de": "Erinnerung: Wir brauchen noch etwas von Ihnen",
    "en": "Reminder: we need something more from you",
}
_CLOSE_SUBJECT = {
    "de": "Wir haben Ihren Vorgang abgeschlossen",
    "en": "We have closed your case",
}

_T = {
    "de": {
        "intro": (
            "damit wir Ihr Anliegen „{title}“ (Vorgang {number}) weiter bearbeiten können, "
            "brauchen wir noch etwas von Ihnen."
        ),
        "reminder": (
            "wir warten noch auf Ihre Antwort zu Ihrem Anliegen „{title}“ (Vorgang {number})."
        ),
        "documents": "Bitte schicken Sie uns diese Unterlagen:",
        "questions": "Unsere Fragen an Sie:",
        "deadline": "Bitte antworten Sie bis zum {date}.",
        "how": (
            "So geht es: Öffnen Sie Ihre Vorgangsseite. Dort können Sie uns schreiben "
            "und Dateien hochladen:"
        ),
        "private": "Der Link ist nur für Sie. Bitte geben Sie ihn nicht weiter.",
        "close": (
            "wir haben Sie um Unterlagen oder Antworten zu Ihrem Anliegen „{title}“ "
            "(Vorgang {number}) gebeten. Bis zum {date} haben wir leider nichts von Ihnen "
            "bekommen. Darum haben wir den Vorgang jetzt abgeschlossen.\n\n"
            "Sie möchten Ihr Anliegen weiter verfolgen? Dann schreiben Sie uns über Ihre "
            "Vorgangsseite oder antworten Sie auf diese E-Mail:"
        ),
    },
    "en": {
        "intro": (
            "to continue with your request “{title}” (case {number}), "
            "we need something more from you."
        ),
        "reminder": (
            "we are still waiting for your answer about your request “{title}” (case {number})."
        ),
        "documents": "Please send us these documents:",
        "questions": "Our questions to you:",
        "deadline": "Please answer by {date}.",
        "how": ("How to do it: open your case page. There you can write to us and upload files:"),
        "private": "This link is for you only. Please do not pass it on.",
        "close": (
            "we asked you for documents or answers about your request “{title}” "
            "(case {number}). We did not receive anything from you by {date}. "
            "We have therefore closed the case.\n\n"
            "Do you want to continue with your request? Then write to us on your case page "
            "or reply to this e-mail:"
        ),
    },
}


def request_body(
    ticket: Ticket,
    *,
    documents: list[Document],
    questions: str,
    deadline: datetime,
    url: str,
    reminder: bool = False,
) -> str:
    language = language_of(ticket.citizen)
    t = _T[language]
    values = {"title": ticket.title, "number": ticket.number}
    parts = [
        _greeting(ticket.citizen, language),
        (t["reminder"] if reminder else t["intro"]).format(**values),
    ]
    if documents:
        parts.append(t["documents"] + "\n" + "\n".join(f"- {d.name}" for d in documents))
    if questions.strip():
        parts.append(t["questions"] + "\n" + questions.strip())
    parts.append(t["deadline"].format(date=format_date(deadline, language)))
    parts.append(t["how"] + "\n" + url)
    parts.append(t["private"])
    return "\n\n".join(parts)


def request_subject(ticket: Ticket, reminder: bool = False) -> str:
    language = language_of(ticket.citizen)
    return (_REMINDER_SUBJECT if reminder else _REQUEST_SUBJECT)[language]


def close_body(ticket: Ticket, deadline: datetime, url: str) -> str:
    language = language_of(ticket.citizen)
    t = _T[language]
    return "\n\n".join(
        [
            _greeting(ticket.citizen, language),
            t["close"].format(
                title=ticket.title, number=ticket.number, date=format_date(deadline, language)
            )
            + "\n"
            + url,
        ]
    )


def close_subject(ticket: Ticket) -> str:
    return _CLOSE_SUBJECT[language_of(ticket.citizen)]


def queue_system_mail(ticket: Ticket, subject: str, body: str) -> Article | None:
    """An automatic e-mail to the citizen, written as a case article and queued for sending.

    Goes the way of the e-mail channel's automatic confirmation: a system article
    (so the timeline shows what was sent), put in the outbox, delivered by the
    worker after commit.
    """
    from vorgang.channels.email import outbound

    citizen = ticket.citizen
    if citizen is None or not citizen.email:
        return None
    signature = ticket.department.signature
    with transaction.atomic():
        article = services.add_article(
            None,
            ticket,
            services.ArticleInput(
                body=outbound.compose_body(body, signature),
                kind=ArticleKind.EMAIL,
                sender=SenderKind.SYSTEM,
                subject=f"{subject_tag(ticket)} {subject}",
                from_addr=outbound.department_sender(ticket.department),
                to=citizen.email,
                message_id=outbound.new_message_id(ticket),
            ),
        )
        services.queue_delivery(article.pk)
        transaction.on_commit(lambda: _enqueue_delivery(article.pk))
    return article


def _enqueue_delivery(article_id: int) -> None:
    from vorgang.tickets.tasks import deliver_article

    deliver_article.enqueue(article_id)
