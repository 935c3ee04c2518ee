"""Magic links to the citizen's case page: ``<base>/c/<token>/``.

The token is random (``secrets.token_urlsafe(32)``) and only its SHA-256 is
stored, so the database alone opens no case page. A link belongs to one case and
the citizen the case had when it was issued; it expires
``VORGANG_CASE_LINK_DAYS`` (30) days after it was issued or after the last message
we sent the citizen (:func:`refresh`), and can be revoked.

Because the token itself is never stored, an issued link cannot be shown again:
:func:`case_url` issues a fresh one each time it is asked for (earlier ones stay
valid until they expire).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connections, router, transaction
from django.urls import reverse

from vorgang.accounts.models import AccessLevel, User
from vorgang.core import clock
from vorgang.core.errors import InvalidInput
from vorgang.core.middleware import unprefixed
from vorgang.tickets.models import Ticket

from .models import CaseLink

TOKEN_BYTES = 32
MAX_TOKEN_LENGTH = 100
# last_used_at is written at most this often per link, to keep page views read-only.
LAST_USED_RESOLUTION = timedelta(minutes=5)


def link_days() -> int:
    return int(getattr(settings, "VORGANG_CASE_LINK_DAYS", 30))


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def base_url_for(ticket: Ticket) -> str:
    """The tenant's own host name, else ``settings.BASE_URL`` with the tenant's path prefix."""
    return ticket.tenant.citizen_base_url()


def url_for_token(ticket: Ticket, raw: str) -> str:
    # Built the same in a request under another prefix and in the worker.
    with unprefixed():
        path = reverse("portal:case", args=[raw])
    return base_url_for(ticket) + path


def issue_link(ticket: Ticket) -> str:
    """A new link to the case page for the case's citizen, as an absolute URL."""
    if ticket.citizen_id is None:
        raise InvalidInput("This case has no citizen, so it has no case page.")
    raw = secrets.token_urlsafe(TOKEN_BYTES)
    now = clock.now()
    CaseLink.objects.create(
        ticket=ticket,
        citizen_id=ticket.citizen_id,
        token_hash=hash_token(raw),
        created_at=now,
        expires_at=now + timedelta(days=link_days()),
    )
    return url_for_token(ticket, raw)


def case_url(ticket: Ticket) -> str:
    """The case page link for a response (e.g. the submission API): always a fresh link.

    Only the token's hash is stored, so an earlier link cannot be shown again; the
    earlier ones stay valid.
    """
    return issue_link(ticket)


def refresh(ticket: Ticket | int) -> int:
    """Extend the case's links: each message we send the citizen keeps them alive.

    Every link of the case's current citizen that is not revoked then expires
    ``VORGANG_CASE_LINK_DAYS`` from now (never earlier than it already did).
    Returns how many links were extended.
    """
    return refresh_many([ticket.pk if isinstance(ticket, Ticket) else ticket])


def refresh_many(ticket_ids: Iterable[int]) -> int:
    """``refresh`` for several cases in one statement (it runs for every mail we send, so
    it is one plain UPDATE: the case's current citizen is compared in SQL, and a case
    without a citizen matches no link). Returns how many links were extended."""
    ids = sorted(set(ticket_ids))
    if not ids:
        return 0
    db = connections[router.db_for_write(CaseLink)]
    links = db.ops.quote_name(CaseLink._meta.db_table)
    tickets = db.ops.quote_name(Ticket._meta.db_table)
    until = db.ops.adapt_datetimefield_value(clock.now() + timedelta(days=link_days()))
    marks = ", ".join(["%s"] * len(ids))
    sql = (
        f"UPDATE {links} SET expires_at = %s WHERE ticket_id IN ({marks}) "  # noqa: S608
        "AND revoked_at IS NULL AND expires_at < %s "
        f"AND citizen_id = (SELECT t.citizen_id FROM {tickets} t WHERE t.id = {links}.ticket_id)"
    )
    with db.cursor() as cursor:
        cursor.execute(sql, [until, *ids, until])
        return int(cursor.rowcount)


def revoke(link: CaseLink) -> None:
    """The link stops working at once (the page then says so, with status 410)."""
    if link.revoked_at is None:
        link.revoked_at = clock.now()
        CaseLink.objects.filter(pk=link.pk, revoked_at__isnull=True).update(
            revoked_at=link.revoked_at
        )


def revoke_all(ticket: Ticket) -> int:
    """Revoke every link of the case (e.g. when a link was forwarded by mistake)."""
    return CaseLink.objects.filter(ticket=ticket, revoked_at__isnull=True).update(
        revoked_at=clock.now()
    )


HISTORY_ACTION = "case_links_revoked"


def cases_shown_as(ticket_id: int) -> set[int]:
    """The case and every case merged into it (their links show this case's page)."""
    found = {ticket_id}
    frontier = {ticket_id}
    while frontier:
        frontier = (
            set(Ticket.objects.filter(merged_into_id__in=frontier).values_list("pk", flat=True))
            - found
        )
        found |= frontier
    return found


def revoke_for_case(agent: User, ticket: Ticket) -> int:
    """An agent switches off every link to the case page (e.g. one was forwarded by mistake).

    Needs change access to the case (``tickets.services.require``: NotFound for a case
    the agent may not see, PermissionDenied below "change"). Revokes the links of the
    case and of the cases merged into it, since those open this case's page too, and
    appends a history entry with the number of links that still worked. The citizen
    can ask for a new link, which goes only to the address on file. Returns that number.
    """
    from vorgang.tickets import history, services

    services.require(agent, ticket, AccessLevel.CHANGE)
    with transaction.atomic():
        # The case's row lock orders its history chain (as in tickets.services).
        locked = Ticket.objects.select_for_update().get(pk=ticket.pk)
        now = clock.now()
        pending = CaseLink.objects.filter(
            ticket_id__in=cases_shown_as(locked.pk), revoked_at__isnull=True
        )
        working = pending.filter(expires_at__gt=now).count()
        pending.update(revoked_at=now)
        if working:
            history.record(locked, agent.pk, HISTORY_ACTION, "case_links", working, 0)
    return working


@dataclass(frozen=True)
class LinkCheck:
    """The outcome of opening a link: ``link`` when it works, else the HTTP status."""

    link: CaseLink | None
    status: int  # 200, 404 (unknown or forged) or 410 (expired or revoked)
    reason: str = ""  # "unknown", "expired", "revoked", "citizen_changed"


def check(raw: str) -> LinkCheck:
    """Look a token up; never raises for bad input."""
    if not raw or len(raw) > MAX_TOKEN_LENGTH:
        return LinkCheck(None, 404, "unknown")
    link = (
        CaseLink.objects.select_related(
            "ticket__state", "ticket__department", "ticket__tenant", "citizen"
        )
        .filter(token_hash=hash_token(raw))
        .first()
    )
    if link is None:
        return LinkCheck(None, 404, "unknown")
    now = clock.now()
    if link.revoked_at is not None:
        return LinkCheck(link, 410, "revoked")
    if link.expires_at <= now:
        return LinkCheck(link, 410, "expired")
    if link.ticket.citizen_id != link.citizen_id or not link.citizen.is_active:
        return LinkCheck(link, 410, "citizen_changed")
    if link.last_used_at is None or now - link.last_used_at > LAST_USED_RESOLUTION:
        link.last_used_at = now

        def touch() -> None:
            CaseLink.objects.filter(pk=link.pk).update(last_used_at=now)

        transaction.on_commit(touch)
    return LinkCheck(link, 200)


def newest_expiry(ticket: Ticket) -> datetime:
    """When the newest link of the case expires (for the text of the link mail)."""
    found = (
        CaseLink.objects.filter(ticket=ticket, revoked_at__isnull=True)
        .order_by("-expires_at")
        .values_list("expires_at", flat=True)
        .first()
    )
    return found or clock.now() + timedelta(days=link_days())
