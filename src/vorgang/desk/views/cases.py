"""The case view (read only; actions live in actions.py, overviews in overviews.py)."""

from __future__ import annotations

import base64
import html
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.template.response import TemplateResponse
from django.utils import formats, timezone
from django.utils.functional import Promise
from django.utils.html import strip_tags
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from vorgang.accounts import access
from vorgang.accounts.models import AccessLevel, User
from vorgang.attributes.models import CaseAttribute
from vorgang.catalogue.validation import labelled_rows
from vorgang.core.errors import NotFound
from vorgang.tickets import selectors
from vorgang.tickets.models import (
    Article,
    ArticleKind,
    Attachment,
    History,
    LinkKind,
    Priority,
    State,
    Ticket,
)

from .. import queries
from .common import current_user, desk_view

# --- the case view --------------------------------------------------------------------------


# The timeline shows the newest messages only, as Zammad does: a case with hundreds of
# messages would otherwise render (and the browser lay out) all of them on every visit and
# every live refresh. Older ones come on demand ("Show N older messages", ``?all=1``).
TIMELINE_NEWEST = 30
# The history table is part of the page while it is this short; a longer one is loaded
# when its section is opened (``case_history``), as the page must not carry it unread.
HISTORY_INLINE_MAX = 50


@desk_view
def case(request: HttpRequest, pk: int) -> HttpResponse:
    user = current_user(request)
    ticket = selectors.get_ticket(user, pk)
    return render_case(request, user, ticket)


@desk_view
def timeline_older(request: HttpRequest, pk: int) -> HttpResponse:
    """The timeline entries before the message ``?before=<id>``: the part the page left out.

    Returned as the ``<li>`` items that htmx puts in place of the "Show older" control;
    same checks as the case view (selectors.get_ticket: department walls, tenant).
    """
    user = current_user(request)
    ticket = selectors.get_ticket(user, pk)
    try:
        before_pk = int(request.GET.get("before", ""))
    except ValueError:
        return HttpResponseBadRequest(_("Say before which message (?before=<id>)."))
    visible = selectors.articles(user, ticket)
    before = visible.filter(pk=before_pk).first()
    if before is None:
        raise NotFound(_("This message does not exist on this case."))
    older = list(
        visible.filter(
            Q(created_at__lt=before.created_at) | Q(created_at=before.created_at, pk__lt=before.pk)
        )
    )
    events = timeline_events(ticket).filter(created_at__lt=before.created_at)
    context = {
        "ticket": ticket,
        "articles": article_views(older, first_number=1),
        "history": history_rows(ticket, list(events)),
        "can_change": access.has_level(user, ticket.department_id, AccessLevel.CHANGE),
        "focus_first": True,
        "loaded": ngettext(
            "%(count)s older message loaded.", "%(count)s older messages loaded.", len(older)
        )
        % {"count": len(older)},
    }
    return TemplateResponse(request, "desk/_timeline_older.html", context)


@desk_view
def case_history(request: HttpRequest, pk: int) -> HttpResponse:
    """The full history table: a partial for htmx (the section opened), else its own page."""
    user = current_user(request)
    ticket = selectors.get_ticket(user, pk)
    context = {"ticket": ticket, "history": history_rows(ticket)}
    if request.headers.get("HX-Request"):
        return TemplateResponse(request, "desk/_history_table.html", context)
    return TemplateResponse(request, "desk/case_history.html", context)


def render_case(
    request: HttpRequest,
    user: User,
    ticket: Ticket,
    *,
    status: int = 200,
    posted: dict[str, str] | None = None,
) -> TemplateResponse:
    """The case page; ``posted`` refills the forms after a failed action."""
    can_change = access.has_level(user, ticket.department_id, AccessLevel.CHANGE)
    posted = posted or {}
    pending_value = ""
    if ticket.pending_until is not None:
        pending_value = timezone.localtime(ticket.pending_until).strftime("%Y-%m-%dT%H:%M")
    shown, older_count = newest_articles(user, ticket, everything=request.GET.get("all") == "1")
    history_count = selectors.ticket_history(ticket).count()
    table: list[dict[str, Any]] | None = None
    if history_count <= HISTORY_INLINE_MAX:
        table = history_rows(ticket)
        # The timeline's events are rows of the table: no second query, no second formatting.
        quiet = quiet_actions()
        events = [r for r in table if r["entry"].action not in quiet]
    else:
        events = history_rows(ticket, list(timeline_events(ticket)))
    if older_count and shown:
        # System events belong to the shown window from its first message on.
        events = [r for r in events if r["entry"].created_at >= shown[0].created_at]
    context: dict[str, Any] = {
        "ticket": ticket,
        "articles": article_views(shown, first_number=older_count + 1),
        "older_count": older_count,
        "older_before": shown[0].pk if older_count and shown else None,
        "history": events,
        "history_table": table,
        "history_count": history_count,
        "links": [
            {"kind": _link_label(kind), "ticket": other}
            for kind, other in selectors.links(user, ticket)
        ],
        "tags": list(ticket.tags.all()),
        "data_rows": form_rows(ticket),
        "can_change": can_change,
        "reply_max_bytes": settings.VORGANG_MAIL_MAX_BYTES,
        "posted": posted,
        "selected": {
            "state": posted.get("state", str(ticket.state_id)),
            "priority": posted.get("priority", str(ticket.priority_id)),
            "owner": posted.get("owner", str(ticket.owner_id or "")),
            "pending_until": posted.get("pending_until", pending_value),
        },
    }
    if can_change:
        context.update(
            {
                "states": list(queries.selectable_states()),
                "priorities": list(queries.priorities()),
                "owner_candidates": list(selectors.owner_candidates(ticket)),
            }
        )
    return TemplateResponse(request, "desk/case.html", context, status=status)


def newest_articles(user: User, ticket: Ticket, *, everything: bool) -> tuple[list[Article], int]:
    """The messages the page shows (oldest first) and how many older ones it leaves out."""
    visible = selectors.articles(user, ticket)
    if everything:
        return list(visible), 0
    newest = list(visible.order_by("-created_at", "-pk")[: TIMELINE_NEWEST + 1])
    if len(newest) <= TIMELINE_NEWEST:
        return newest[::-1], 0
    shown = newest[:TIMELINE_NEWEST][::-1]
    return shown, visible.count() - TIMELINE_NEWEST


def quiet_actions() -> set[str]:
    """History actions the timeline leaves out (defined with the timeline's template tag)."""
    # Imported here: the tag module imports the case tool views, which import this module.
    from ..templatetags.case_tools import QUIET_ACTIONS

    return QUIET_ACTIONS


def timeline_events(ticket: Ticket) -> QuerySet[History]:
    """History entries the timeline shows between the messages (the others are quiet)."""
    return selectors.ticket_history(ticket).exclude(action__in=quiet_actions())


def article_views(articles: list[Article], *, first_number: int) -> list[ArticleView]:
    """Views of the messages; ``first_number`` is the first one's place in the whole case."""
    return [ArticleView.of(a, number) for number, a in enumerate(articles, start=first_number)]


def form_rows(ticket: Ticket) -> list[tuple[str, str]]:
    """The structured data as a table: with the online service's labels and order if any."""
    if not isinstance(ticket.data, dict):
        return []
    if ticket.service is not None:
        return labelled_rows(ticket.service, ticket.data)
    return data_rows(ticket.data)


def _link_label(kind: str) -> str:
    return str(LinkKind(kind).label) if kind in LinkKind.values else kind


# --- articles ---------------------------------------------------------------------------


_BLOCK_END = re.compile(
    r"<\s*(?:br|hr|/p|/div|/li|/tr|/h[1-6]|/blockquote|/table|/ul|/ol)\b[^>]*>", re.IGNORECASE
)
_INVISIBLE = re.compile(r"<(style|script|head|title)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_BLANK_LINES = re.compile(r"\n[ \t]*(?:\n[ \t]*){2,}")

# Put in front of an HTML body shown in a sandboxed iframe: nothing may load from outside
# (no tracking pixels), and the sandbox attribute already forbids scripts and forms.
HTML_FRAME_HEAD = (
    '<meta charset="utf-8">'
    '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
    "img-src data: cid:; style-src 'unsafe-inline'\">"
    "<style>body{font-family:sans-serif;margin:0.5rem;color:#131525;background:#fff}</style>"
)


def html_to_text(body: str) -> str:
    """A readable plain-text version of an HTML body (shown escaped, never as HTML)."""
    text = _INVISIBLE.sub("", body)
    text = _BLOCK_END.sub("\n", text)
    text = html.unescape(strip_tags(text))
    text = "\n".join(line.rstrip() for line in text.splitlines())
    return _BLANK_LINES.sub("\n\n", text).strip()


INLINE_IMAGE_LIMIT = 2 * 1024 * 1024
_IMAGE_TYPE = re.compile(r"image/(?:png|gif|jpeg|webp|bmp)")
_CID_SRC = re.compile(r"""(src\s*=\s*["'])cid:([^"']+)(["'])""", re.IGNORECASE)


def inline_images(body: str, attachments: list[Attachment]) -> str:
    """Show images the mail refers to by ``cid:`` inline, as data: URLs.

    The sandboxed frame may load nothing from anywhere, so the image bytes travel
    inside the page; images over the limit stay a download link.
    """
    by_cid = {
        a.content_id.strip("<>"): a
        for a in attachments
        if a.content_id and _IMAGE_TYPE.fullmatch(a.content_type) and a.size <= INLINE_IMAGE_LIMIT
    }
    if not by_cid:
        return body

    def replace(match: re.Match[str]) -> str:
        attachment = by_cid.get(match.group(2).strip("<>"))
        if attachment is None:
            return match.group(0)
        data = base64.b64encode(attachment.blob.read()).decode("ascii")
        return f"{match.group(1)}data:{attachment.content_type};base64,{data}{match.group(3)}"

    return _CID_SRC.sub(replace, body)


@dataclass
class ArticleView:
    article: Article
    text: str
    is_html: bool
    frame_html: str = ""
    attachments: list[Attachment] = field(default_factory=list)
    # Formatted once here: the template would format each date several times per message.
    iso: str = ""
    when: str = ""
    tools_label: str = ""
    quote_label: str = ""

    @classmethod
    def of(cls, article: Article, number: int = 0) -> ArticleView:
        is_html = article.content_type == "text/html"
        attachments = list(article.attachments.all())
        iso, when = format_moment(article.created_at)
        return cls(
            article=article,
            text=html_to_text(article.body) if is_html else article.body,
            is_html=is_html,
            frame_html=HTML_FRAME_HEAD + inline_images(article.body, attachments)
            if is_html
            else "",
            attachments=attachments,
            iso=iso,
            when=when,
            tools_label=_("Actions for message %(number)s") % {"number": number},
            quote_label=_("Quote the message of %(when)s") % {"when": when},
        )

    @property
    def kind_label(self) -> str:
        return str(self.article.get_kind_display())

    @property
    def sender_label(self) -> str:
        return str(self.article.get_sender_display())

    @property
    def author(self) -> str:
        creator = self.article.created_by
        if creator is not None and not creator.is_citizen:
            return creator.display_name
        return ""


# --- form data --------------------------------------------------------------------------------


def _display(value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, list) and all(not isinstance(v, dict | list) for v in value):
        return ", ".join(_display(v) for v in value) or "—"
    return str(value)


def data_rows(data: Any, prefix: str = "") -> list[tuple[str, str]]:
    """The case's form data as (label, value) rows; nested objects get dotted labels."""
    rows: list[tuple[str, str]] = []
    if isinstance(data, dict):
        items: list[tuple[str, Any]] = [(str(k), v) for k, v in data.items()]
    else:
        items = [(str(i), v) for i, v in enumerate(data, start=1)]
    for key, value in items:
        readable = key.replace("_", " ").strip() or key
        readable = readable[:1].upper() + readable[1:]
        label = f"{prefix} › {readable}" if prefix else readable
        nested = isinstance(value, dict) or (
            isinstance(value, list) and any(isinstance(v, dict | list) for v in value)
        )
        if nested and value:
            rows.extend(data_rows(value, label))
        else:
            rows.append((label, _display(value)))
    return rows


# --- history -----------------------------------------------------------------------------

ACTIONS: dict[str, Promise] = {
    "created": gettext_lazy("case created"),
    "article_added": gettext_lazy("article added"),
    "updated": gettext_lazy("changed"),
    "tag_added": gettext_lazy("tag added"),
    "tag_removed": gettext_lazy("tag removed"),
    "link_added": gettext_lazy("link added"),
    "link_removed": gettext_lazy("link removed"),
    "merged_into": gettext_lazy("merged into"),
    "merged_from": gettext_lazy("merged from"),
    "delivery": gettext_lazy("delivery"),
    "case_links_revoked": gettext_lazy("case page links revoked"),
}
FIELDS: dict[str, Promise] = {
    "state": gettext_lazy("state"),
    "owner": gettext_lazy("owner"),
    "priority": gettext_lazy("priority"),
    "title": gettext_lazy("title"),
    "department": gettext_lazy("department"),
    "pending_until": gettext_lazy("pending until"),
    "tags": gettext_lazy("tags"),
    "case_links": gettext_lazy("working links"),
    **{kind.value: kind.label for kind in LinkKind},
}


def _format_datetime(value: str) -> str:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return value
    if timezone.is_naive(parsed):
        return value
    return formats.date_format(timezone.localtime(parsed), "SHORT_DATETIME_FORMAT")


def format_moment(value: datetime) -> tuple[str, str]:
    """A stored time as (ISO 8601 for ``<time datetime>``, short local date and time)."""
    local = timezone.localtime(value)
    return local.isoformat(), formats.date_format(local, "SHORT_DATETIME_FORMAT")


def history_rows(ticket: Ticket, entries: list[History] | None = None) -> list[dict[str, Any]]:
    """Readable rows of the history (all of it unless ``entries`` are given), dates formatted."""
    if entries is None:
        entries = list(selectors.ticket_history(ticket))
    states = {s.name: str(s) for s in State.objects.all()}
    priorities = {p.name: str(p) for p in Priority.objects.all()}
    # Custom attributes appear under their label (attribute names cannot take built-in ones).
    fields = {a.name: a.label() for a in CaseAttribute.objects.filter(tenant_id=ticket.tenant_id)}
    fields.update({key: str(label) for key, label in FIELDS.items()})
    logins = {v for e in entries if e.field == "owner" for v in (e.old_value, e.new_value) if v}
    people = {
        u.username: u.display_name
        for u in User.objects.filter(tenant_id=ticket.tenant_id, username__in=logins)
    }
    kinds = {k.value: str(k.label) for k in ArticleKind}

    def show(entry: History, value: str) -> str:
        if not value:
            return ""
        if entry.field == "state":
            return states.get(value, value)
        if entry.field == "priority":
            return priorities.get(value, value)
        if entry.field == "owner":
            return people.get(value, value)
        if entry.field == "pending_until":
            return _format_datetime(value)
        if entry.action == "article_added":
            kind, _sep, _pk = value.partition(":")
            return kinds.get(kind, kind)
        return value

    system = _("system")
    rows: list[dict[str, Any]] = []
    for entry in entries:
        action = str(ACTIONS.get(entry.action, entry.action))
        label = "" if entry.field == "tags" else str(fields.get(entry.field, entry.field))
        iso, when = format_moment(entry.created_at)
        rows.append(
            {
                "entry": entry,
                "action": action,
                "field": label,
                "what": f"{action}: {label}" if label else action,
                "old": show(entry, entry.old_value),
                "new": show(entry, entry.new_value),
                "actor": entry.actor.display_name if entry.actor else system,
                "iso": iso,
                "when": when,
            }
        )
    return rows
