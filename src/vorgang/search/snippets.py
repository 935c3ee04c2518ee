"""Highlighted snippets, cut from what the searcher may see of each hit.

Built in Python from the cases' own texts (not from the index), the same way on both
backends: words whose stem is a query stem (or, in the citizen's name, words close
to a typo-tolerant term) are wrapped in ``<mark>``; everything else is escaped.
Citizens' snippets never come from internal notes or their attachments.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from django.utils.html import escape

from vorgang.accounts.models import User
from vorgang.tickets.models import Article, Attachment, Ticket

from . import extract, text
from .backends.base import FUZZY_THRESHOLD
from .documents import article_text, citizen_text
from .models import AttachmentText

WIDTH = 200  # characters of text in a snippet
BEFORE = 60  # characters shown before the first match
MAX_SCAN = 20_000  # characters of each text searched for matches
MAX_ARTICLES = 50  # per case
_WORD = re.compile(r"[^\W_]+")


@dataclass
class Marker:
    stems: frozenset[str]
    names: tuple[str, ...] = ()  # name keys of typo-tolerant terms

    def __post_init__(self) -> None:
        # Texts repeat their words: fold and stem each once (one cache per kind of text).
        self.seen: dict[bool, dict[str, str | None]] = {False: {}, True: {}}

    @property
    def empty(self) -> bool:
        """Nothing to mark (a filter-only search)."""
        return not self.stems and not self.names

    def matches(self, word: str, in_name: bool) -> str | None:
        """The stem (or name) ``word`` stands for, if it is one the query looks for."""
        seen = self.seen[in_name]
        if word not in seen:
            seen[word] = self._matches(word, in_name)
        return seen[word]

    def _matches(self, word: str, in_name: bool) -> str | None:
        stemmed = _stem_of(word)
        if stemmed in self.stems:
            return stemmed
        if in_name and self.names:
            for name in self.names:
                if _close(name, word):
                    return name
        return None


# Across searches: the words of case texts repeat from one search to the next.
@lru_cache(maxsize=100_000)
def _stem_of(word: str) -> str | None:
    """The stem of one word of a text (None if it folds to nothing or to several)."""
    folded = text.fold(word)
    if not folded or " " in folded:
        return None
    return text.stem(folded)


@lru_cache(maxsize=100_000)
def _close(name: str, word: str) -> bool:
    """``word`` (of a citizen's name) is close to the typo-tolerant term ``name``."""
    return text.word_similarity(name, text.name_key(word)) >= FUZZY_THRESHOLD


def _spans(content: str, marker: Marker, in_name: bool) -> list[tuple[int, int, str]]:
    found = []
    seen = marker.seen[in_name]  # the cache read inline: this loop runs for every word
    for m in _WORD.finditer(content, 0, min(len(content), MAX_SCAN)):
        word = m.group(0)
        hit = seen[word] if word in seen else marker.matches(word, in_name)
        if hit is not None:
            found.append((m.start(), m.end(), hit))
    return found


def _render(content: str, spans: list[tuple[int, int, str]]) -> str:
    if spans:
        start = max(0, spans[0][0] - BEFORE)
        while start > 0 and not content[start - 1].isspace():
            start -= 1  # do not cut a word
    else:
        start = 0
    end = min(len(content), start + WIDTH)
    while end < len(content) and not content[end].isspace() and end - start < WIDTH + 30:
        end += 1
    out = ["…" if start > 0 else ""]
    pos = start
    for s, e, _hit in spans:
        if s < start or e > end:
            continue
        out.append(escape(content[pos:s]))
        out.append(f"<mark>{escape(content[s:e])}</mark>")
        pos = e
    out.append(escape(content[pos:end]))
    if end < len(content):
        out.append("…")
    return "".join(out)


def _best(candidates: Sequence[tuple[str, bool]], marker: Marker, fallback: str) -> str:
    """The snippet of the candidate text matching most query words (first one wins ties)."""
    if marker.empty:
        return _render(fallback, [])  # a filter-only search: the start of the case
    best: tuple[int, str, list[tuple[int, int, str]]] | None = None
    wanted = len(marker.stems) + len(marker.names)
    for content, in_name in candidates:
        spans = _spans(content, marker, in_name)
        distinct = len({hit for _s, _e, hit in spans})
        if distinct and (best is None or distinct > best[0]):
            best = (distinct, content, spans)
            if distinct >= wanted:
                break
    if best is not None:
        return _render(best[1], best[2])
    return _render(fallback, [])  # e.g. a filter-only search: the start of the case


def build(
    ticket_ids: Sequence[int],
    *,
    stems: frozenset[str],
    names: Sequence[str],
    public_only: bool,
) -> dict[int, str]:
    """Snippet HTML per case id (escaped text with ``<mark>`` around matches)."""
    if not ticket_ids:
        return {}
    marker = Marker(stems, tuple(names))
    tickets = {
        t["pk"]: t
        for t in Ticket.objects.filter(pk__in=ticket_ids).values(
            "pk", "number", "title", "citizen_id"
        )
    }
    citizens = {
        u["pk"]: u
        for u in User.objects.filter(
            pk__in=[t["citizen_id"] for t in tickets.values() if t["citizen_id"]]
        ).values("pk", "first_name", "last_name", "email")
    }
    bodies: dict[int, list[str]] = {pk: [] for pk in tickets}
    articles = Article.objects.filter(ticket_id__in=tickets).order_by("ticket_id", "pk")
    if public_only:
        articles = articles.filter(internal=False)
    for ticket_id, subject, body, content_type in articles.values_list(
        "ticket_id", "subject", "body", "content_type"
    ).iterator(chunk_size=500):
        if len(bodies[ticket_id]) < MAX_ARTICLES:
            bodies[ticket_id].append(
                " ".join(article_text(subject, body[:MAX_SCAN], content_type).split())
            )
    files: dict[int, list[str]] = {pk: [] for pk in tickets}
    attachments = Attachment.objects.filter(article__ticket_id__in=tickets)
    if public_only:
        attachments = attachments.filter(article__internal=False)
    rows = list(
        attachments.values_list("article__ticket_id", "filename", "content_type", "blob_id")
    )
    texts = dict(
        AttachmentText.objects.filter(
            blob_id__in=[r[3] for r in rows if extract.kind_of(r[2], r[1])]
        ).values_list("blob_id", "text")
    )
    for ticket_id, filename, _ctype, blob_id in rows:
        files[ticket_id].append(filename)
        if texts.get(blob_id):
            files[ticket_id].append(" ".join(texts[blob_id][:MAX_SCAN].split()))
    out = {}
    for pk, ticket in tickets.items():
        person = citizens.get(ticket["citizen_id"]) if ticket["citizen_id"] else None
        candidates: list[tuple[str, bool]] = [(f"{ticket['number']} {ticket['title']}", False)]
        candidates.append((citizen_text(person), True))
        candidates += [(b, False) for b in bodies[pk]]
        candidates += [(f, False) for f in files[pk]]
        fallback = bodies[pk][0] if bodies[pk] else ticket["title"]
        out[pk] = _best(candidates, marker, fallback)
    return out
