"""The confirmation e-mail after a form submission, with the link to the case page.

Written as a system e-mail article through ``tickets.services`` (so the agent sees in
the timeline what the citizen got), put in the outbox with ``services.queue_delivery``
and handed to the delivery task after commit, the way the e-mail channel's automatic
confirmation goes (``add_article`` alone leaves system mail unsent).
"""

from __future__ import annotations

import logging
import re

from django.db import transaction
from django.urls import NoReverseMatch

from vorgang.catalogue.models import OnlineService
from vorgang.channels.email import outbound
from vorgang.tickets import services
from vorgang.tickets.models import Article, ArticleKind, SenderKind, Ticket

log = logging.getLogger(__name__)

SUBJECT = {
    "de": "Ihr Antrag ist eingegangen",
    "en": "We have received your application",
}
_GREETING = {"de": ("Guten Tag {name},", "Guten Tag,"), "en": ("Hello {name},", "Hello,")}
_DEFAULT = {
    "de": (
        "{greeting}\n\n"
        "vielen Dank für Ihren Antrag „{service}“. Er ist bei uns angekommen.\n\n"
        "Ihre Vorgangsnummer ist: {number}\n\n"
        "Wie geht es weiter?\n"
        "Wir prüfen Ihren Antrag. Wenn wir noch etwas von Ihnen brauchen, "
        "schreiben wir Ihnen."
    ),
    "en": (
        "{greeting}\n\n"
        "thank you for your application “{service}”. We have received it.\n\n"
        "Your case number is: {number}\n\n"
        "What happens next?\n"
        "We check your application. If we need anything else from you, we will write to you."
    ),
}
_NUMBER = {
    "de": "Ihre Vorgangsnummer ist: {number}",
    "en": "Your case number is: {number}",
}
_DAYS = {
    "de": "Die Bearbeitung dauert in der Regel etwa {days} Tage.",
    "en": "Processing usually takes about {days} days.",
}
_LINK = {
    "de": (
        "Auf Ihrer Vorgangsseite sehen Sie, wie weit Ihr Antrag ist. Dort können Sie uns "
        "auch schreiben und Unterlagen nachreichen:\n\n{url}\n\n"
        "Bitte geben Sie den Link nicht weiter: Wer den Link hat, kann Ihren Vorgang sehen."
    ),
    "en": (
        "On your case page you can see how far your application has got. You can also "
        "write to us there and send further documents:\n\n{url}\n\n"
        "Please do not pass the link on: anyone who has the link can see your case."
    ),
}
_FOOTER = {
    "de": "Diese E-Mail wurde automatisch verschickt.",
    "en": "This e-mail was sent automatically.",
}


PLACEHOLDERS = ("number", "service", "name")
_PLACEHOLDER_RE = re.compile(r"\{(" + "|".join(PLACEHOLDERS) + r")\}")


def render_template(template: str, values: dict[str, str]) -> str:
    """``{number}``, ``{service}`` and ``{name}`` replaced literally; anything else
    (unknown names, ``{0}``, ``{name.attr}``, stray braces) stays as written, so an
    administrator's text can neither break the mail nor reach into objects."""
    return _PLACEHOLDER_RE.sub(lambda m: values.get(m.group(1), ""), template)


def case_page_url(ticket: Ticket) -> str:
    """A fresh link to the case page, or "" when the citizen portal is not installed."""
    try:
        from vorgang.portal import links
    except ImportError:
        return ""
    try:
        return links.issue_link(ticket)
    except NoReverseMatch:  # the portal's URLs are not included
        return ""


def confirmation_body(
    ticket: Ticket, service: OnlineService, language: str, url: str, days: int | None
) -> str:
    citizen = ticket.citizen
    name = citizen.get_full_name().strip() if citizen is not None else ""
    service_name = (service.name_en if language == "en" else "") or service.name_de
    values = {"number": ticket.number, "service": service_name, "name": name}
    custom = service.confirmation_en if language == "en" else service.confirmation_de
    if custom.strip():
        text = render_template(custom.replace("\r\n", "\n"), values)
        if "{number}" not in custom:
            # The citizen needs the number (e.g. to ask for a new link): always in the text.
            text = text.rstrip() + "\n\n" + _NUMBER[language].format(number=ticket.number)
    else:
        with_name, without = _GREETING[language]
        greeting = with_name.format(name=name) if name else without
        text = _DEFAULT[language].format(greeting=greeting, **values)
        if days:
            text += " " + _DAYS[language].format(days=days)
    parts = [text.rstrip()]
    if url:
        parts.append(_LINK[language].format(url=url))
    parts.append(_FOOTER[language])
    return outbound.compose_body("\n\n".join(parts), ticket.department.signature)


def send_confirmation(
    ticket: Ticket, service: OnlineService, language: str, days: int | None
) -> Article | None:
    """Write and queue the confirmation; nothing for a citizen without an address."""
    language = "en" if language.startswith("en") else "de"
    citizen = ticket.citizen
    if citizen is None or not citizen.email or citizen.email_undeliverable:
        return None
    with transaction.atomic():
        url = case_page_url(ticket)
        article = services.add_article(
            None,
            ticket,
            services.ArticleInput(
                body=confirmation_body(ticket, service, language, url, days),
                kind=ArticleKind.EMAIL,
                sender=SenderKind.SYSTEM,
                subject=f"{outbound.subject_tag(ticket)} {SUBJECT[language]}",
                from_addr=outbound.department_sender(ticket.department),
                to=citizen.email,
                message_id=outbound.new_message_id(ticket),
            ),
        )
        services.queue_delivery(article.pk)
        article_id = article.pk
        transaction.on_commit(lambda: _enqueue(article_id))
    return article


def _enqueue(article_id: int) -> None:
    from vorgang.tickets.tasks import deliver_article

    deliver_article.enqueue(article_id)
