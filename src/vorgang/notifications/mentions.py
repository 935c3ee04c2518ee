"""Finding the colleagues an internal note mentions: ``@login`` or ``@"First Last"``.

Only agents who may read the case can be mentioned; a name that matches nobody (or
somebody without access) is plain text. E-mail addresses (``anna@stadt.example``)
are not mentions: the ``@`` must start a word.
"""

from __future__ import annotations

import re

from django.db.models import Q

from vorgang.accounts.models import AccessLevel, Role, User
from vorgang.tickets.models import Ticket

from .services import may_be_notified

MENTION = re.compile(r'(?<![\w.@])@(?:"(?P<name>[^"\n]{1,150})"|(?P<login>[\w][\w.+-]{0,149}))')
MAX_MENTIONS = 20  # a note naming more people is a broadcast, not a mention


def parse(text: str) -> tuple[set[str], set[str]]:
    """The logins and quoted full names in ``text`` (lower case), in any order."""
    logins: set[str] = set()
    names: set[str] = set()
    for match in MENTION.finditer(text or ""):
        if match.group("name"):
            names.add(" ".join(match.group("name").split()).lower())
        elif match.group("login"):
            # "@anna." or "@anna," at the end of a sentence: the dot is not part of the login.
            logins.add(match.group("login").rstrip(".-").lower())
    return logins, names


def find(text: str, ticket: Ticket) -> list[User]:
    """The agents mentioned in ``text`` who may read ``ticket``."""
    logins, names = parse(text)
    if not logins and not names:
        return []
    query = Q()
    for login in logins:
        query |= Q(username__iexact=login)
    candidates = User.objects.filter(
        tenant_id=ticket.tenant_id,
        is_active=True,
        role__in=[Role.AGENT, Role.ADMIN],
        department_access__department_id=ticket.department_id,
        department_access__level__in=[AccessLevel.READ, AccessLevel.FULL],
    ).distinct()
    found: dict[int, User] = {}
    if logins:
        for user in candidates.filter(query)[:MAX_MENTIONS]:
            found[user.pk] = user
    if names:
        firsts = {n.split(" ", 1)[0] for n in names}
        for user in candidates.filter(first_name__iregex=_any_of(firsts))[: MAX_MENTIONS * 5]:
            full = " ".join(user.get_full_name().split()).lower()
            if full in names:
                found[user.pk] = user
    return [u for u in list(found.values())[:MAX_MENTIONS] if may_be_notified(u, ticket)]


def _any_of(words: set[str]) -> str:
    return "^(" + "|".join(re.escape(w) for w in sorted(words)) + ")$"
