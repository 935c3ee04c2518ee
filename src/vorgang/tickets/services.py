"""The one write path for cases.

Every change to a Ticket, Article, Attachment, Tag, Link or History row goes
through a function here. Each runs in one transaction, locks the case it
changes, checks that the actor may do it, appends to the history and emits a
domain event once the transaction has committed.

``actor`` is the user who acts, or ``None`` for the system itself (mail intake,
automation); the system may do anything within the case's tenant.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from vorgang.accounts import access
from vorgang.accounts.models import AccessLevel, Department, Organisation, User
from vorgang.attributes import values as attribute_values
from vorgang.catalogue.models import OnlineService
from vorgang.core import batchcache, clock, instances, lookups, paging
from vorgang.core.errors import InvalidInput, InvalidTransition, NotFound, PermissionDenied

from . import events, history, joined, locks, numbering, workflow
from .models import (
    Article,
    ArticleKind,
    Attachment,
    Blob,
    DeliveryStatus,
    History,
    Link,
    LinkKind,
    Priority,
    SenderKind,
    State,
    StateKind,
    Tag,
    Ticket,
)

Actor = User | None

MAX_TITLE = 250
MAX_TAG = 100


@dataclass(frozen=True)
class AttachmentInput:
    filename: str
    content: bytes
    content_type: str = "application/octet-stream"
    content_id: str = ""
    # The SHA-256 (hex) of ``content`` when the caller has put the bytes in place with
    # ``Blob.put_file`` already, before its transaction (the mail intake: the disk flush
    # then does not happen while the transaction holds SQLite's one write lock).
    placed: str = ""


@dataclass(frozen=True)
class ArticleInput:
    body: str
    kind: str = ArticleKind.NOTE
    internal: bool = False
    content_type: str = "text/plain"
    subject: str = ""
    from_addr: str = ""
    to: str = ""
    cc: str = ""
    message_id: str = ""
    in_reply_to: str = ""
    references: str = ""
    sender: str | None = None  # derived from the actor when not given
    notice: str = ""  # shown to agents beside the article
    attachments: Sequence[AttachmentInput] = field(default_factory=tuple)
    raw: bytes | None = None
    raw_blob: Blob | None = None  # ``raw`` already stored (mail intake's journal copy)
    # Queue this e-mail for sending although no agent wrote it (automatic confirmations).
    send: bool = False


# --- permission checks ----------------------------------------------------------------


def require(actor: Actor, ticket: Ticket, level: str) -> None:
    """Raise unless ``actor`` may act on ``ticket`` with ``level``.

    Someone who may not even read the case is told it does not exist, so that
    case numbers do not leak across departments or tenants.
    """
    if actor is None:
        return
    missing = NotFound(_("This case does not exist or you may not see it."))
    if not actor.is_active or actor.tenant_id != ticket.tenant_id:
        raise missing
    if actor.is_citizen:
        if ticket.citizen_id != actor.pk or level not in (AccessLevel.READ, AccessLevel.CREATE):
            raise missing
        return
    if not access.has_level(actor, ticket.department_id, AccessLevel.OVERVIEW):
        raise missing
    if not access.has_level(actor, ticket.department_id, level):
        raise PermissionDenied(
            _("You need the access level '%(level)s' in %(department)s for this.")
            % {"level": _level_label(level), "department": str(ticket.department)}
        )


def _level_label(level: str) -> str:
    """The access level's name in the active language (in English it is the value)."""
    return str(AccessLevel(level).label) if level in AccessLevel.values else str(level)


def _lock(ticket: Ticket | int) -> Ticket:
    pk = ticket.pk if isinstance(ticket, Ticket) else ticket
    if isinstance(pk, str) and pk.isdigit():
        pk = int(pk)  # as the ORM's get(pk=...) took it
    # Locked (or created) earlier in this all-or-nothing transaction (locks.scope): the
    # row is still ours, and every change since went through that instance.
    already = locks.held(pk)
    if already is not None:
        return already
    # Written out (tickets.joined): the ORM's locked read with two joins cost about 1 ms
    # of Python. Only the case's row is locked, not its state's or department's.
    locked = (
        joined.one("t.id = %s", [pk], related=("department", "state"), lock=True)
        if isinstance(pk, int) and 0 < pk <= _MAX_ID
        else None
    )
    if locked is None:
        raise NotFound(_("This case does not exist or you may not see it."))
    locks.hold(locked)
    return locked


_MAX_ID = 2**63 - 1  # the largest id any engine stores (SQLite refuses larger parameters)


def _not_merged(ticket: Ticket) -> None:
    if ticket.state.kind == StateKind.MERGED:
        target = ticket.merged_into.number if ticket.merged_into else "?"
        raise InvalidTransition(
            _("Case %(number)s was merged into case %(target)s.")
            % {"number": ticket.number, "target": target}
        )


def _actor_id(actor: Actor) -> int | None:
    return actor.pk if actor is not None else None


def _touch(ticket: Ticket, *fields: str) -> None:
    ticket.save(update_fields=[*fields, "updated_at"])


# --- lookups that services share -------------------------------------------------------


def state_by_name(name: str | State) -> State:
    if isinstance(name, State):
        return name
    state = batchcache.memo(
        ("state", name),
        lambda: lookups.first(
            State, "(name = %s OR kind = %s) AND active = %s", [name, name, True]
        ),
    )
    if state is None:
        raise InvalidInput(_("Unknown state %(name)s.") % {"name": repr(name)})
    return state


def priority_by_name(name: str | int | Priority | None) -> Priority:
    if isinstance(name, Priority):
        return name
    if name is None:
        found = batchcache.memo(
            ("priority", None),
            lambda: (
                lookups.first(Priority, "is_default = %s", [True], order_by="level, id")
                or lookups.first(Priority, "1 = 1", [], order_by="level, id")
            ),
        )
    elif isinstance(name, int) or str(name).isdigit():
        found = lookups.first(Priority, "level = %s", [int(name)], order_by="level, id")
    else:
        found = lookups.first(Priority, "name = %s", [name], order_by="level, id")
    if found is None:
        raise InvalidInput(_("Unknown priority %(name)s.") % {"name": repr(name)})
    return found


def _check_owner(owner: User, ticket: Ticket) -> None:
    if (
        owner.tenant_id != ticket.tenant_id
        or not owner.is_active
        or not access.has_level(owner, ticket.department_id, AccessLevel.FULL)
    ):
        raise InvalidInput(
            _(
                "%(person)s cannot own cases in %(department)s: "
                "only agents with full access to the department can."
            )
            % {"person": owner.display_name, "department": str(ticket.department)}
        )


def _clean_title(title: str) -> str:
    title = " ".join((title or "").split())
    if not title:
        raise InvalidInput(_("A case needs a title."))
    return title[:MAX_TITLE]


# --- create -------------------------------------------------------------------------------


class CheckedAttributes(dict[str, Any]):
    """Attribute values as ``attribute_values.clean(tenant_id, ..., partial=False)`` returned
    them for ``tenant_id``: ``create_ticket`` takes them without checking them again.

    The API checks a new case's attributes anyway (it must tell attributes from fields it
    ignores); a second check here would read the tenant's definitions a second time.
    """

    def __init__(self, tenant_id: int, values: dict[str, Any]) -> None:
        super().__init__(values)
        self.tenant_id = tenant_id


def create_ticket(
    actor: Actor,
    *,
    department: Department,
    title: str,
    citizen: User | None = None,
    organisation: Organisation | None = None,
    state: str | State = StateKind.NEW,
    priority: str | int | Priority | None = None,
    owner: User | None = None,
    data: dict[str, Any] | None = None,
    tags: Iterable[str] = (),
    pending_until: datetime | None = None,
    article: ArticleInput | None = None,
    service: OnlineService | None = None,
    attributes: dict[str, Any] | None = None,
) -> Ticket:
    if actor is not None and actor.tenant_id != department.tenant_id:
        raise NotFound(_("Unknown department."))
    if not department.active:
        raise InvalidInput(
            _("The department %(department)s is not active.") % {"department": str(department)}
        )
    if (
        actor is not None
        and not actor.is_citizen
        and not access.has_level(actor, department.pk, AccessLevel.CREATE)
    ):
        raise PermissionDenied(
            _("You may not create cases in %(department)s.") % {"department": str(department)}
        )
    if actor is not None and actor.is_citizen:
        citizen = actor
    if citizen is not None and (
        citizen.tenant_id != department.tenant_id or not citizen.is_citizen
    ):
        raise InvalidInput(_("The citizen belongs to another office or is not a citizen."))
    if organisation is not None and organisation.tenant_id != department.tenant_id:
        raise InvalidInput(_("Unknown organisation."))
    if service is not None and service.tenant_id != department.tenant_id:
        raise InvalidInput(_("Unknown online service."))
    if data is not None and not isinstance(data, dict):
        raise InvalidInput(_("Form data must be a JSON object."))
    state_obj = state_by_name(state)
    if state_obj.kind not in workflow.INITIAL:
        raise InvalidTransition(
            _("A case cannot start in the state '%(state)s'.") % {"state": str(state_obj)}
        )
    _check_pending(state_obj, pending_until)
    priority_obj = priority_by_name(priority)
    title = _clean_title(title)
    # None (mail intake, forms) skips the attributes; a dict is checked in full, unless
    # it is the result of that very check already (CheckedAttributes).
    if attributes is None:
        attribute_data: dict[str, Any] = {}
    elif isinstance(attributes, CheckedAttributes) and attributes.tenant_id == department.tenant_id:
        attribute_data = attributes
    else:
        attribute_data = _clean_attributes(department.tenant_id, attributes, partial=False)

    ticket = Ticket(
        tenant_id=department.tenant_id,
        title=title,
        department=department,
        state=state_obj,
        priority=priority_obj,
        citizen=citizen,
        organisation=organisation or (citizen.organisation if citizen else None),
        data=data or {},
        attributes={k: v for k, v in attribute_data.items() if v is not None},
        service=service,
        pending_until=pending_until if state_obj.is_pending else None,
        closed_at=clock.now() if state_obj.is_closed else None,
        created_by=actor,
    )
    if owner is not None:
        _check_owner(owner, ticket)
        ticket.owner = owner
    tags = [_tag_name(name) for name in tags]
    if article is not None:
        _check_article(article)
    numbering.check_generator()
    # Everything the caller can get wrong is refused above, before anything is written:
    # so no savepoint is needed (two statements, one of them while the counter is locked)
    # when the caller's transaction encloses this one (the API, the mail intake). A
    # failure below rolls the enclosing transaction back as a whole.
    with transaction.atomic(savepoint=False):
        # The number comes last (see _number_last): until then a unique stand-in.
        ticket.number = f"~{secrets.token_hex(16)}"
        instances.insert(ticket)  # as save(force_insert=True), written out
        # The new row is this transaction's: later services in it need not lock it again
        # (locks.scope; ``history.flush`` notes its chain's end).
        locks.hold(ticket)
        # The chain of a case made just now is empty; its entries are inserted at the end.
        history.start_chain(ticket)
        try:
            created = history.record(ticket, _actor_id(actor), "created", save_head=False)
            for name, value in ticket.attributes.items():
                history.record(
                    ticket,
                    _actor_id(actor),
                    "updated",
                    name,
                    "",
                    attribute_values.as_text(value),
                    save_head=False,
                )
            for name in tags:
                _add_tag(ticket, actor, name)
            changed = ["number", "history_head", "updated_at"]
            if article is not None:
                # Handed back on the case: callers (mail intake, forms) need no query for it.
                ticket.first_article = _create_article(
                    ticket, actor, article, save_case=False, changed=changed, opens_case=True
                )
            _number_last(ticket, created, changed)
        finally:
            history.end_chain(ticket)
        # A case that starts with an owner says so: subscribers need no query to learn it.
        owned = {"owner": (None, ticket.owner_id)} if ticket.owner_id else {}
        events.emit(events.Event(events.TICKET_CREATED, ticket.pk, _actor_id(actor), changes=owned))
    return ticket


def _number_last(ticket: Ticket, created: History, changed: list[str]) -> None:
    """Draw the case's number, then write the case's last update and its history.

    Drawing locks the counter row until the transaction ends, and every other create
    waits for it: so it happens after everything else of the new case (its row, the
    article, attachments, tags), and only two statements and the commit follow it.
    A number taken by hand or by another generator is skipped, never reused.
    """
    for _attempt in range(20):
        ticket.number = created.new_value = numbering.next_number()
        history.chain(ticket)  # the "created" entry names the number: hashes and head anew
        if _update_unless_number_taken(ticket, changed):
            history.flush(ticket)  # every entry of the new case in one INSERT
            return
    raise InvalidInput(_("Could not find a free case number; check the number settings."))


def _update_unless_number_taken(ticket: Ticket, fields: list[str]) -> bool:
    """Save ``fields`` of the new case in one UPDATE, unless another case has its number.

    The check is part of the statement, so no savepoint is needed to survive a clash
    (a savepoint costs two more round trips while the counter is locked). The unique
    index still refuses a duplicate that a concurrent transaction inserts meanwhile.
    """
    ticket.updated_at = timezone.now()  # as auto_now would
    # Plain SQL: compiling this UPDATE cost the ORM about 1 ms of Python, all of it
    # between the draw and the commit. Values are prepared as the ORM prepares them.
    quote = connection.ops.quote_name
    by_name = {field.name: field for field in Ticket._meta.concrete_fields}
    columns = [(by_name[name], str(by_name[name].column)) for name in fields]
    table = quote(Ticket._meta.db_table)
    sql = (
        f"UPDATE {table} SET {', '.join(f'{quote(column)} = %s' for _f, column in columns)} "  # noqa: S608
        f"WHERE {quote('id')} = %s "
        f"AND NOT EXISTS (SELECT 1 FROM {table} WHERE {quote('number')} = %s)"
    )
    params = [f.get_db_prep_save(getattr(ticket, f.attname), connection) for f, _c in columns]
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, ticket.pk, ticket.number])
        return cursor.rowcount == 1


def _save_with_number(ticket: Ticket) -> None:
    """Insert a case with the next number (split_article; create_ticket draws it last)."""
    # A number taken by hand or by another generator is skipped, never reused.
    for _attempt in range(20):
        ticket.number = numbering.next_number()
        try:
            with transaction.atomic():
                ticket.save()
            return
        except IntegrityError:
            if not Ticket.objects.filter(number=ticket.number).exists():
                raise
    raise InvalidInput(_("Could not find a free case number; check the number settings."))


# --- articles -------------------------------------------------------------------------------


def add_article(actor: Actor, ticket: Ticket | int, article: ArticleInput) -> Article:
    # In an all-or-nothing transaction (locks.scope, the mail intake) no savepoint: an
    # error rolls back the whole transaction there, so none can leave half an article.
    with transaction.atomic(savepoint=not locks.active()):
        locked = _lock(ticket)
        level = AccessLevel.CREATE if actor is not None and actor.is_citizen else AccessLevel.CHANGE
        require(actor, locked, level)
        _not_merged(locked)
        created = _create_article(locked, actor, article)
    return created


def _sender_for(actor: Actor) -> str:
    if actor is None:
        return SenderKind.SYSTEM
    return SenderKind.CITIZEN if actor.is_citizen else SenderKind.AGENT


def _check_article(data: ArticleInput) -> None:
    """Refuse an article that cannot be written (before anything of it is)."""
    if data.kind not in ArticleKind.values:
        raise InvalidInput(_("Unknown article type %(kind)s.") % {"kind": repr(data.kind)})
    if data.content_type not in ("text/plain", "text/html"):
        raise InvalidInput(_("Article text must be text/plain or text/html."))
    if data.sender and data.sender not in SenderKind.values:
        raise InvalidInput(_("Unknown sender %(sender)s.") % {"sender": repr(data.sender)})
    if not data.body.strip() and not data.attachments:
        raise InvalidInput(_("The message is empty."))


def _create_article(
    ticket: Ticket,
    actor: Actor,
    data: ArticleInput,
    *,
    save_case: bool = True,
    changed: list[str] | None = None,
    opens_case: bool = False,
) -> Article:
    """Write an article and update the case (``save_case=False``: the caller does, with
    the fields named in ``changed``, to which those of this article are added).

    ``opens_case``: the first article of a new case; its event says so, which spares
    subscribers the query whether it is a reply.
    """
    _check_article(data)
    sender = data.sender or _sender_for(actor)
    internal = data.internal
    if actor is not None and actor.is_citizen:
        # Citizens write only public messages, and only as themselves.
        internal, sender = False, SenderKind.CITIZEN
    article = Article(
        ticket=ticket,
        kind=data.kind,
        sender=sender,
        internal=internal,
        from_addr=data.from_addr[:500],
        to=data.to,
        cc=data.cc,
        subject=data.subject[:500],
        body=data.body,
        content_type=data.content_type,
        message_id=data.message_id[:500],
        in_reply_to=data.in_reply_to[:500],
        references=data.references,
        raw=_raw_blob(data),
        delivery_status=_initial_delivery(data.kind, sender, internal, data.send),
        notice=data.notice,
        created_by=actor,
    )
    # As Article.objects.create(...), signals included, with the INSERT written out.
    instances.insert(article)
    taken: set[str] = set()
    for item in data.attachments:
        instances.insert(
            Attachment(
                article=article,
                blob_id=(
                    Blob.row_id(item.placed, len(item.content))
                    if item.placed
                    else Blob.store(item.content).pk
                ),
                filename=_unique_filename(item.filename, taken),
                content_type=(item.content_type or "application/octet-stream")[:200],
                content_id=item.content_id[:255],
            )
        )
    fields = changed if changed is not None else []
    fields += [name for name in ("updated_at", "history_head") if name not in fields]
    if sender == SenderKind.AGENT and not internal and ticket.first_response_at is None:
        ticket.first_response_at = article.created_at
        fields.append("first_response_at")
    history.record(
        ticket,
        _actor_id(actor),
        "article_added",
        new=f"{article.kind}:{article.pk}",
        save_head=False,
    )
    if save_case:
        # With the new history head: one update of the case (as save(update_fields=...)).
        instances.update(ticket, fields)
    # What subscribers most often ask about the article travels with the event, so that
    # most of them can decide without a query.
    about: dict[str, Any] = {"kind": article.kind, "sender": sender, "internal": internal}
    if opens_case:
        about["opens_case"] = True
    events.emit(
        events.Event(events.ARTICLE_CREATED, ticket.pk, _actor_id(actor), article.pk, about)
    )
    return article


def _raw_blob(data: ArticleInput) -> Blob | None:
    if data.raw_blob is not None:
        return data.raw_blob
    return Blob.store(data.raw) if data.raw is not None else None


def _initial_delivery(kind: str, sender: str, internal: bool, send: bool) -> str:
    """An agent's public e-mail article is queued for sending, and system mail that asks to
    be; nothing else is sent."""
    if kind == ArticleKind.EMAIL and not internal and (sender == SenderKind.AGENT or send):
        return DeliveryStatus.QUEUED
    return DeliveryStatus.NONE


@dataclass(frozen=True)
class Delivery:
    """The outcome of sending one article, for ``record_deliveries``."""

    article_id: int
    sent: bool
    error: str = ""
    message_id: str = ""


def record_delivery(article_id: int, *, sent: bool, error: str = "", message_id: str = "") -> None:
    """Note the outcome of sending an article (called by the delivery task); raises
    ``Article.DoesNotExist`` when the article is gone."""
    if not record_deliveries([Delivery(article_id, sent, error, message_id)]):
        raise Article.DoesNotExist(f"article {article_id} does not exist")


def record_deliveries(deliveries: Sequence[Delivery]) -> list[int]:
    """Note the outcomes of sending several articles in one transaction (a batch of
    confirmations sent over one connection); returns the ids of the articles recorded.

    Per article the same as one ``record_delivery`` each: the case's row lock, the
    article's status (``sent``/``failed``), error and Message-ID (if it had none), a
    ``delivery`` history entry and, for a sent one, ``ARTICLE_DELIVERED`` after commit.
    But with a fixed number of statements for the whole batch: the cases are locked in
    one (by id, so two batches cannot deadlock), their chains' ends read in one, the
    entries inserted in one. Articles that are gone (the case was deleted) are left out.
    """
    wanted = {d.article_id: d for d in deliveries}  # the last outcome of an article counts
    if not wanted:
        return []
    with transaction.atomic():
        found = _lock_articles_and_cases(list(wanted))
        ticket_of = {article_id: ticket_id for article_id, (ticket_id, _m) in found.items()}
        now = clock.now()
        ends = _chain_ends(set(ticket_of.values()))
        entries: list[History] = []
        updates: dict[tuple[str, str], list[int]] = {}
        for article_id, delivery in wanted.items():
            ticket_id = ticket_of.get(article_id)
            if ticket_id is None:
                continue
            status = DeliveryStatus.SENT if delivery.sent else DeliveryStatus.FAILED
            seq, prev = ends.get(ticket_id, (0, history.GENESIS))
            entry = History(
                ticket_id=ticket_id,
                actor_id=None,
                created_at=now,
                action="delivery",
                field=f"article:{article_id}",
                old_value="",
                new_value=str(status),
                seq=seq + 1,
                prev_hash=prev,
            )
            entry.hash = entry.compute_hash()
            ends[ticket_id] = (entry.seq, entry.hash)
            entries.append(entry)
            # Most outcomes are "sent" without an error: one UPDATE for all of them.
            updates.setdefault((str(status), delivery.error[:2000]), []).append(article_id)
            if delivery.message_id and not found[article_id][1]:  # kept where it had none
                Article.objects.filter(pk=article_id).update(message_id=delivery.message_id)
        for (new_status, error), ids in updates.items():
            Article.objects.filter(pk__in=ids).update(
                delivery_status=new_status, delivery_error=error
            )
        if len(entries) == 1:
            entries[0].save()
        elif entries:
            History.objects.bulk_create(entries)
        _save_heads({entry.ticket_id: entry.hash for entry in entries})  # the newest per case
        for ticket_id in set(ticket_of.values()):
            # Written past history.append: a held lock's chain end is stale (tickets.locks).
            locks.forget(ticket_id)
        for article_id, delivery in wanted.items():
            if delivery.sent and article_id in ticket_of:
                events.emit(
                    events.Event(events.ARTICLE_DELIVERED, ticket_of[article_id], None, article_id)
                )
    return [article_id for article_id in wanted if article_id in ticket_of]


def _lock_articles_and_cases(article_ids: list[int]) -> dict[int, tuple[int, str]]:
    """Lock the cases of the articles (one statement, in id order), then the articles;
    {article id: (case id, Message-ID)} of those that exist. The case first, then the article, as the
    other services lock; an article moved to another case meanwhile locks that one too."""
    locked: set[int] = set()
    while True:
        ticket_of = dict(Article.objects.filter(pk__in=article_ids).values_list("pk", "ticket_id"))
        missing = set(ticket_of.values()) - locked
        if missing:
            locked |= set(
                Ticket.objects.select_for_update()
                .filter(pk__in=missing)
                .order_by("pk")
                .values_list("pk", flat=True)
            )
        found = {
            pk: (ticket_id, message_id)
            for pk, ticket_id, message_id in Article.objects.select_for_update()
            .filter(pk__in=list(ticket_of))
            .values_list("pk", "ticket_id", "message_id")
        }
        if {ticket_id for ticket_id, _m in found.values()} <= locked:
            return found


def _chain_ends(ticket_ids: set[int]) -> dict[int, tuple[int, str]]:
    """{case id: (seq, hash)} of the newest history entry of each case, in one query (what
    ``history.append`` reads per case); cases without entries are left out."""
    if not ticket_ids:
        return {}
    table = connection.ops.quote_name(History._meta.db_table)
    marks = ", ".join(["%s"] * len(ticket_ids))
    sql = (
        f"SELECT h.ticket_id, h.seq, h.hash FROM {table} h JOIN ("  # noqa: S608
        f"SELECT ticket_id, MAX(seq) AS seq FROM {table} WHERE ticket_id IN ({marks}) "
        "GROUP BY ticket_id) m ON h.ticket_id = m.ticket_id AND h.seq = m.seq"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, list(ticket_ids))
        return {ticket_id: (seq, hash_) for ticket_id, seq, hash_ in cursor.fetchall()}


def _save_heads(heads: dict[int, str]) -> None:
    """Set ``history_head`` of several cases in one UPDATE (what ``history.record`` does
    per case)."""
    if not heads:
        return
    table = connection.ops.quote_name(Ticket._meta.db_table)
    cases = " ".join(["WHEN %s THEN %s"] * len(heads))
    marks = ", ".join(["%s"] * len(heads))
    params: list[Any] = [value for pair in heads.items() for value in pair]
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET history_head = CASE id {cases} END "  # noqa: S608
            f"WHERE id IN ({marks})",
            [*params, *heads],
        )


def _unique_filename(name: str, taken: set[str]) -> str:
    name = (name or "attachment").replace("/", "_").replace("\\", "_").strip() or "attachment"
    name = name[:255]
    candidate, counter = name, 1
    while candidate in taken:
        stem, dot, ext = name.rpartition(".")
        candidate = f"{stem}-{counter}.{ext}" if dot and stem else f"{name}-{counter}"
        counter += 1
    taken.add(candidate)
    return candidate


# --- state, owner, priority, department, title -----------------------------------------------


def _check_pending(state: State, pending_until: datetime | None) -> None:
    if state.kind in workflow.NEEDS_PENDING_DATE:
        if pending_until is None:
            raise InvalidInput(
                _("The state '%(state)s' needs a pending date.") % {"state": str(state)}
            )
        if pending_until.tzinfo is None:
            raise InvalidInput(_("The pending date needs a time zone."))


def change_state(
    actor: Actor,
    ticket: Ticket | int,
    state: str | State,
    *,
    pending_until: datetime | None = None,
) -> Ticket:
    new_state = state_by_name(state)
    with transaction.atomic():
        locked = _lock(ticket)
        require(actor, locked, AccessLevel.CHANGE)
        _not_merged(locked)
        old_state = locked.state
        if new_state.kind == StateKind.MERGED:
            raise InvalidTransition(_("Use merge to merge a case into another."))
        if old_state.pk == new_state.pk and not new_state.is_pending:
            return locked
        if old_state.kind != new_state.kind and not workflow.can_move(
            old_state.kind, new_state.kind
        ):
            raise InvalidTransition(
                _("A case in the state '%(old)s' cannot change to '%(new)s'.")
                % {"old": str(old_state), "new": str(new_state)}
            )
        _check_pending(new_state, pending_until)
        old_pending = locked.pending_until
        locked.state = new_state
        locked.pending_until = pending_until if new_state.is_pending else None
        if new_state.is_closed and locked.closed_at is None:
            locked.closed_at = clock.now()
        elif not new_state.is_closed:
            locked.closed_at = None
        _touch(locked, "state", "pending_until", "closed_at")
        if old_state.pk != new_state.pk:
            history.record(
                locked, _actor_id(actor), "updated", "state", old_state.name, new_state.name
            )
        if old_pending != locked.pending_until:
            history.record(
                locked,
                _actor_id(actor),
                "updated",
                "pending_until",
                old_pending,
                locked.pending_until,
            )
        events.emit(
            events.Event(
                events.TICKET_UPDATED,
                locked.pk,
                _actor_id(actor),
                changes={"state": [old_state.name, new_state.name]},
            )
        )
    return locked


def assign(actor: Actor, ticket: Ticket | int, owner: User | None) -> Ticket:
    with transaction.atomic():
        locked = _lock(ticket)
        require(actor, locked, AccessLevel.CHANGE)
        _not_merged(locked)
        if owner is not None:
            _check_owner(owner, locked)
        old = locked.owner
        if (old.pk if old else None) == (owner.pk if owner else None):
            return locked
        locked.owner = owner
        _touch(locked, "owner")
        history.record(
            locked,
            _actor_id(actor),
            "updated",
            "owner",
            old.username if old else "",
            owner.username if owner else "",
        )
        events.emit(
            events.Event(
                events.TICKET_UPDATED,
                locked.pk,
                _actor_id(actor),
                changes={"owner": [old.pk if old else None, owner.pk if owner else None]},
            )
        )
    return locked


def set_priority(actor: Actor, ticket: Ticket | int, priority: str | int | Priority) -> Ticket:
    new = priority_by_name(priority)
    with transaction.atomic():
        locked = _lock(ticket)
        require(actor, locked, AccessLevel.CHANGE)
        _not_merged(locked)
        old = locked.priority
        if old.pk == new.pk:
            return locked
        locked.priority = new
        _touch(locked, "priority")
        history.record(locked, _actor_id(actor), "updated", "priority", old.name, new.name)
        events.emit(
            events.Event(
                events.TICKET_UPDATED,
                locked.pk,
                _actor_id(actor),
                changes={"priority": [old.name, new.name]},
            )
        )
    return locked


def set_title(actor: Actor, ticket: Ticket | int, title: str) -> Ticket:
    title = _clean_title(title)
    with transaction.atomic():
        locked = _lock(ticket)
        require(actor, locked, AccessLevel.CHANGE)
        _not_merged(locked)
        old = locked.title
        if old == title:
            return locked
        locked.title = title
        _touch(locked, "title")
        history.record(locked, _actor_id(actor), "updated", "title", old, title)
        events.emit(
            events.Event(
                events.TICKET_UPDATED, locked.pk, _actor_id(actor), changes={"title": [old, title]}
            )
        )
    return locked


def _clean_attributes(tenant_id: int, values: dict[str, Any], *, partial: bool) -> dict[str, Any]:
    """Custom attribute values checked for the tenant; unknown names are an error here."""
    cleaned, unknown = attribute_values.clean(tenant_id, values, partial=partial, known=())
    if unknown:
        raise InvalidInput(
            _("Unknown attributes: %(names)s.") % {"names": ", ".join(sorted(unknown))}
        )
    return cleaned


def set_attributes(actor: Actor, ticket: Ticket | int, values: dict[str, Any]) -> Ticket:
    """Set custom attribute values (``None`` unsets one); attributes not named stay as they are.

    Each changed attribute gets its own history entry (field = the attribute's name).
    """
    with transaction.atomic():
        locked = _lock(ticket)
        require(actor, locked, AccessLevel.CHANGE)
        _not_merged(locked)
        cleaned = _clean_attributes(locked.tenant_id, values, partial=True)
        current = dict(locked.attributes) if isinstance(locked.attributes, dict) else {}
        changes: dict[str, list[Any]] = {}
        for name, new in cleaned.items():
            old = current.get(name)
            if old == new:
                continue
            if new is None:
                current.pop(name, None)
            else:
                current[name] = new
            changes[name] = [old, new]
        if not changes:
            return locked
        locked.attributes = current
        _touch(locked, "attributes")
        for name, (old, new) in changes.items():
            history.record(
                locked,
                _actor_id(actor),
                "updated",
                name,
                attribute_values.as_text(old),
                attribute_values.as_text(new),
            )
        events.emit(
            events.Event(events.TICKET_UPDATED, locked.pk, _actor_id(actor), changes=changes)
        )
    return locked


def move(actor: Actor, ticket: Ticket | int, department: Department) -> Ticket:
    """Hand a case to another department of the same tenant."""
    with transaction.atomic():
        locked = _lock(ticket)
        require(actor, locked, AccessLevel.CHANGE)
        _not_merged(locked)
        if department.tenant_id != locked.tenant_id:
            raise NotFound(_("Unknown department."))
        if not department.active:
            raise InvalidInput(
                _("The department %(department)s is not active.") % {"department": str(department)}
            )
        if actor is not None and not access.has_level(actor, department.pk, AccessLevel.CREATE):
            # Handing a case over needs create or full access in the receiving department.
            raise PermissionDenied(
                _("You may not hand cases to %(department)s.") % {"department": str(department)}
            )
        old = locked.department
        if old.pk == department.pk:
            return locked
        locked.department = department
        fields = ["department"]
        if locked.owner is not None and not access.has_level(
            locked.owner, department.pk, AccessLevel.FULL
        ):
            history.record(locked, _actor_id(actor), "updated", "owner", locked.owner.username, "")
            locked.owner = None
            fields.append("owner")
        _touch(locked, *fields)
        history.record(locked, _actor_id(actor), "updated", "department", old.name, department.name)
        paging.rows_changed(locked.tenant_id)  # the case leaves one list and joins another
        events.emit(
            events.Event(
                events.TICKET_UPDATED,
                locked.pk,
                _actor_id(actor),
                changes={"department": [old.pk, department.pk]},
            )
        )
    return locked


# --- tags -------------------------------------------------------------------------------------


def _tag_name(name: str) -> str:
    cleaned = " ".join((name or "").split())[:MAX_TAG]
    if not cleaned:
        raise InvalidInput(_("A tag needs a name."))
    return cleaned


def _add_tag(ticket: Ticket, actor: Actor, name: str) -> bool:
    tag, _created = Tag.objects.get_or_create(tenant_id=ticket.tenant_id, name=_tag_name(name))
    if ticket.tags.filter(pk=tag.pk).exists():
        return False
    ticket.tags.add(tag)
    history.record(ticket, _actor_id(actor), "tag_added", "tags", "", tag.name)
    return True


def tag(actor: Actor, ticket: Ticket | int, name: str) -> Ticket:
    with transaction.atomic():
        locked = _lock(ticket)
        require(actor, locked, AccessLevel.CHANGE)
        _not_merged(locked)
        if _add_tag(locked, actor, name):
            _touch(locked)
            events.emit(
                events.Event(
                    events.TICKET_UPDATED, locked.pk, _actor_id(actor), changes={"tag_added": name}
                )
            )
    return locked


def untag(actor: Actor, ticket: Ticket | int, name: str) -> Ticket:
    with transaction.atomic():
        locked = _lock(ticket)
        require(actor, locked, AccessLevel.CHANGE)
        _not_merged(locked)
        found = locked.tags.filter(name=_tag_name(name)).first()
        if found is None:
            return locked
        locked.tags.remove(found)
        _touch(locked)
        history.record(locked, _actor_id(actor), "tag_removed", "tags", found.name, "")
        events.emit(
            events.Event(
                events.TICKET_UPDATED,
                locked.pk,
                _actor_id(actor),
                changes={"tag_removed": found.name},
            )
        )
    return locked


# --- links and merge --------------------------------------------------------------------------


def _lock_pair(a: Ticket | int, b: Ticket | int) -> tuple[Ticket, Ticket]:
    a_pk = a.pk if isinstance(a, Ticket) else a
    b_pk = b.pk if isinstance(b, Ticket) else b
    if a_pk == b_pk:
        raise InvalidInput(_("A case cannot be linked to or merged with itself."))
    # Always lock the lower id first so two opposite requests cannot deadlock.
    first, second = sorted((a_pk, b_pk))
    locked = {first: _lock(first), second: _lock(second)}
    return locked[a_pk], locked[b_pk]


def link(
    actor: Actor, source: Ticket | int, target: Ticket | int, kind: str = LinkKind.NORMAL
) -> Link:
    if kind not in LinkKind.values:
        raise InvalidInput(_("Unknown link type %(kind)s.") % {"kind": repr(kind)})
    with transaction.atomic():
        src, dst = _lock_pair(source, target)
        require(actor, src, AccessLevel.CHANGE)
        require(actor, dst, AccessLevel.READ)
        if src.tenant_id != dst.tenant_id:
            raise NotFound(_("This case does not exist or you may not see it."))
        existing = Link.objects.filter(
            Q(source=src, target=dst) | Q(source=dst, target=src)
        ).first()
        if existing is not None:
            raise InvalidInput(
                _("Cases %(source)s and %(target)s are already linked.")
                % {"source": src.number, "target": dst.number}
            )
        created = Link.objects.create(source=src, target=dst, kind=kind)
        history.record(src, _actor_id(actor), "link_added", kind, "", dst.number)
        history.record(dst, _actor_id(actor), "link_added", _inverse(kind), "", src.number)
        _touch(src)
        _touch(dst)
        for t in (src, dst):
            events.emit(
                events.Event(events.TICKET_UPDATED, t.pk, _actor_id(actor), changes={"link": kind})
            )
    return created


def _inverse(kind: str) -> str:
    inverse: dict[str, str] = {LinkKind.PARENT: LinkKind.CHILD, LinkKind.CHILD: LinkKind.PARENT}
    return inverse.get(kind, kind)


def unlink(actor: Actor, source: Ticket | int, target: Ticket | int) -> None:
    with transaction.atomic():
        src, dst = _lock_pair(source, target)
        require(actor, src, AccessLevel.CHANGE)
        require(actor, dst, AccessLevel.READ)
        found = Link.objects.filter(Q(source=src, target=dst) | Q(source=dst, target=src)).first()
        if found is None:
            raise NotFound(
                _("Cases %(source)s and %(target)s are not linked.")
                % {"source": src.number, "target": dst.number}
            )
        found.delete()
        history.record(src, _actor_id(actor), "link_removed", found.kind, dst.number, "")
        history.record(dst, _actor_id(actor), "link_removed", _inverse(found.kind), src.number, "")
        _touch(src)
        _touch(dst)


def merge(actor: Actor, source: Ticket | int, target: Ticket | int) -> Ticket:
    """Merge ``source`` into ``target``: its articles move, it becomes ``merged``, a link stays."""
    merged_state = State.objects.filter(kind=StateKind.MERGED).order_by("pk").first()
    if merged_state is None:
        raise InvalidInput(_("No state of kind 'merged' is configured."))
    with transaction.atomic():
        src, dst = _lock_pair(source, target)
        require(actor, src, AccessLevel.CHANGE)
        require(actor, dst, AccessLevel.CHANGE)
        if src.tenant_id != dst.tenant_id:
            raise NotFound(_("This case does not exist or you may not see it."))
        _not_merged(src)
        _not_merged(dst)
        moved = Article.objects.filter(ticket=src).update(ticket=dst)
        old_state = src.state
        src.state = merged_state
        src.merged_into = dst
        src.pending_until = None
        src.closed_at = src.closed_at or clock.now()
        _touch(src, "state", "merged_into", "pending_until", "closed_at")
        if not Link.objects.filter(Q(source=src, target=dst) | Q(source=dst, target=src)).exists():
            Link.objects.create(source=src, target=dst, kind=LinkKind.NORMAL)
        _touch(dst)
        history.record(src, _actor_id(actor), "updated", "state", old_state.name, merged_state.name)
        history.record(src, _actor_id(actor), "merged_into", "", "", dst.number)
        history.record(dst, _actor_id(actor), "merged_from", "", src.number, f"{moved} articles")
        events.emit(
            events.Event(events.TICKET_MERGED, src.pk, _actor_id(actor), changes={"target": dst.pk})
        )
        events.emit(events.Event(events.TICKET_UPDATED, dst.pk, _actor_id(actor)))
    return dst


def split_article(actor: Actor, ticket: Ticket | int, article: Article, title: str = "") -> Ticket:
    """Open a new case in the same department with a copy of ``article``; link the two.

    The article is copied, not moved: the original case keeps its complete record
    (what arrived when stays where it arrived), and the history of both cases says
    what happened. The copy shares the stored attachment bytes, has no Message-ID
    (replies keep threading into the original case, the new one gets its own reply
    address) and carries a notice naming where it came from. Needs change access to
    the case and create access in its department.
    """
    with transaction.atomic():
        src = _lock(ticket)
        require(actor, src, AccessLevel.CHANGE)
        _not_merged(src)
        if actor is not None and not access.has_level(actor, src.department_id, AccessLevel.CREATE):
            raise PermissionDenied(
                _("You may not open cases in %(department)s.") % {"department": str(src.department)}
            )
        if article.ticket_id != src.pk:
            raise NotFound(_("This message does not exist."))
        new = Ticket(
            tenant_id=src.tenant_id,
            department=src.department,
            title=_clean_title(title or article.subject or src.title),
            state=state_by_name(StateKind.NEW),
            priority=src.priority,
            citizen=src.citizen,
            organisation=src.organisation,
            service=src.service,
            created_by=actor,
        )
        _save_with_number(new)
        history.record(new, _actor_id(actor), "created", new=new.number)
        copy = _create_article(
            new,
            actor,
            ArticleInput(
                body=article.body,
                kind=article.kind,
                internal=article.internal,
                content_type=article.content_type,
                subject=article.subject,
                from_addr=article.from_addr,
                to=article.to,
                cc=article.cc,
                in_reply_to=article.in_reply_to,
                references=article.references,
                sender=article.sender,
                notice=_("Copied from case %(number)s.") % {"number": src.number},
                attachments=[
                    AttachmentInput(a.filename, a.blob.read(), a.content_type, a.content_id)
                    for a in article.attachments.select_related("blob")
                ],
            ),
        )
        if copy.delivery_status:
            # A copy of an agent's e-mail is a record, not a new message: never send it.
            copy.delivery_status = DeliveryStatus.NONE
            copy.save(update_fields=["delivery_status"])
        Link.objects.create(source=src, target=new, kind=LinkKind.NORMAL)
        history.record(src, _actor_id(actor), "split_to", f"article:{article.pk}", "", new.number)
        history.record(new, _actor_id(actor), "split_from", f"article:{copy.pk}", src.number, "")
        _touch(src)
        events.emit(events.Event(events.TICKET_CREATED, new.pk, _actor_id(actor)))
        events.emit(
            events.Event(
                events.TICKET_UPDATED, src.pk, _actor_id(actor), changes={"split_to": new.pk}
            )
        )
    return new


def queue_delivery(article_id: int, *, error: str = "") -> Article:
    """Put an outgoing e-mail article (back) into the outbox; the caller enqueues the task.

    Without ``error``: queue a system e-mail (the automatic confirmation), which
    ``add_article`` leaves unsent. With ``error``: an attempt failed for a passing
    reason; the article stays ``queued`` with the reason visible, and the history
    gets a ``retry`` entry (the delivery task counts these to know its attempt).
    """
    with transaction.atomic():
        found = Article.objects.filter(pk=article_id).values_list("ticket_id", flat=True).first()
        if found is None:
            raise NotFound(_("This message does not exist."))
        ticket = _lock(found)  # the case first, then the article, as the other services do
        article = Article.objects.select_for_update().get(pk=article_id)
        if article.kind != ArticleKind.EMAIL or article.internal:
            raise InvalidInput(_("Only e-mail messages to the citizen can be sent."))
        if article.delivery_status == DeliveryStatus.SENT:
            raise InvalidInput(_("This message was already sent."))
        old = article.delivery_status
        article.delivery_status = DeliveryStatus.QUEUED
        article.delivery_error = error[:2000]
        article.save(update_fields=["delivery_status", "delivery_error"])
        history.record(
            ticket,
            None,
            "delivery",
            f"article:{article.pk}",
            old,
            "retry" if error else DeliveryStatus.QUEUED,
        )
    return article


# --- deletion ---------------------------------------------------------------------------------


def delete_ticket(actor: Actor, ticket: Ticket | int) -> str:
    """Delete a case for good, with its articles, attachments, links and history.

    For administrators only (Zammad's ``DELETE /tickets/{id}``); returns the number.
    This is erasure, not archiving: a case that must go (spam, a wrongly opened
    case, a data subject's erasure request) takes its history chain with it,
    because that chain names the citizen's data too. ``vorgang audit verify``
    stays green: it checks each remaining case against its own head. What stays
    is one line in the ``vorgang.audit`` log (case id and number, actor, number
    of history entries and the chain's head hash, no citizen data), so the
    deletion itself remains accountable. Cases merged into this one lose the
    pointer to it and get a history entry saying so. Stored file bytes are left
    to a cleanup of unused blobs, as other cases may share them.
    """
    import logging

    from django.db.models import QuerySet

    from vorgang.accounts.models import Role

    from .models import History

    if actor is not None and (actor.role != Role.ADMIN or not actor.is_active):
        raise PermissionDenied(_("Only administrators may delete cases."))
    with transaction.atomic():
        locked = _lock(ticket)
        if actor is not None and actor.tenant_id != locked.tenant_id:
            raise NotFound(_("This case does not exist or you may not see it."))
        number, head = locked.number, locked.history_head
        for source in Ticket.objects.select_for_update().filter(merged_into=locked):
            source.merged_into = None
            _touch(source, "merged_into")
            history.record(source, _actor_id(actor), "merge_target_deleted", "", number, "")
        entries = History.objects.filter(ticket=locked)
        count = entries.count()
        # History refuses deletion through its own manager (append-only); erasing the
        # whole case is the one sanctioned exception, so the plain QuerySet does it.
        QuerySet.delete(entries)
        Attachment.objects.filter(article__ticket=locked).delete()
        Article.objects.filter(ticket=locked).delete()
        pk = locked.pk
        locked.delete()
        paging.rows_changed(locked.tenant_id)
        logging.getLogger("vorgang.audit").warning(
            "case deleted: id=%s number=%s actor=%s history_entries=%s head=%s",
            pk,
            number,
            _actor_id(actor),
            count,
            head or "-",
        )
        events.emit(events.Event(events.TICKET_DELETED, pk, _actor_id(actor)))
    return number


def set_customer(
    actor: Actor, ticket: Ticket | int, citizen: User | None, organisation: Organisation | None
) -> Ticket:
    """Change the case's citizen and organisation (Zammad's customer_id/organization_id)."""
    with transaction.atomic():
        locked = _lock(ticket)
        require(actor, locked, AccessLevel.CHANGE)
        _not_merged(locked)
        if citizen is not None and (
            citizen.tenant_id != locked.tenant_id or not citizen.is_citizen
        ):
            raise InvalidInput(_("The citizen belongs to another office or is not a citizen."))
        if organisation is not None and organisation.tenant_id != locked.tenant_id:
            raise InvalidInput(_("Unknown organisation."))
        old_citizen, old_organisation = locked.citizen, locked.organisation
        changes: dict[str, Any] = {}
        if (old_citizen.pk if old_citizen else None) != (citizen.pk if citizen else None):
            locked.citizen = citizen
            history.record(
                locked,
                _actor_id(actor),
                "updated",
                "citizen",
                old_citizen.pk if old_citizen else "",
                citizen.pk if citizen else "",
            )
            changes["citizen"] = [old_citizen.pk if old_citizen else None, _actor_id(citizen)]
        if (old_organisation.pk if old_organisation else None) != (
            organisation.pk if organisation else None
        ):
            locked.organisation = organisation
            history.record(
                locked,
                _actor_id(actor),
                "updated",
                "organisation",
                old_organisation.name if old_organisation else "",
                organisation.name if organisation else "",
            )
            changes["organisation"] = [
                old_organisation.pk if old_organisation else None,
                organisation.pk if organisation else None,
            ]
        if not changes:
            return locked
        _touch(locked, "citizen", "organisation")
        events.emit(
            events.Event(events.TICKET_UPDATED, locked.pk, _actor_id(actor), changes=changes)
        )
    return locked
