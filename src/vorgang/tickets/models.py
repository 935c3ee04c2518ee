"""Cases (tickets), their articles, attachments, tags, links and history.

Nothing outside ``tickets/services.py`` creates or changes a Ticket, Article,
Attachment, Link or History row; read through ``tickets/selectors.py``.
"""

from __future__ import annotations

import functools
import hashlib
import json
import secrets
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection, models
from django.utils.translation import gettext_lazy as _

from vorgang.accounts.models import Department, Organisation, Tenant
from vorgang.core import clock


class StateKind(models.TextChoices):
    NEW = "new", _("new")
    OPEN = "open", _("open")
    PENDING_REMINDER = "pending_reminder", _("pending reminder")
    PENDING_CLOSE = "pending_close", _("pending close")
    CLOSED = "closed", _("closed")
    MERGED = "merged", _("merged")


class State(models.Model):
    """A case state; its ``kind`` drives the workflow (see workflow.py)."""

    name = models.CharField(_("name"), max_length=50, unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=StateKind.choices)
    next_state = models.ForeignKey(
        "self",
        verbose_name=_("state after the pending date"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
    )
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("state")
        verbose_name_plural = _("states")
        ordering = ["pk"]

    def __str__(self) -> str:
        return str(StateKind(self.kind).label) if self.kind in StateKind.values else self.name

    @property
    def is_pending(self) -> bool:
        return self.kind in (StateKind.PENDING_REMINDER, StateKind.PENDING_CLOSE)

    @property
    def is_closed(self) -> bool:
        return self.kind in (StateKind.CLOSED, StateKind.MERGED)


class Priority(models.Model):
    name = models.CharField(_("name"), max_length=50, unique=True)
    level = models.PositiveSmallIntegerField(_("level"), unique=True)
    is_default = models.BooleanField(_("default"), default=False)

    class Meta:
        verbose_name = _("priority")
        verbose_name_plural = _("priorities")
        ordering = ["level"]

    def __str__(self) -> str:
        labels = {1: _("1 low"), 2: _("2 normal"), 3: _("3 high")}
        return str(labels.get(self.level, self.name))


class NumberCounter(models.Model):
    """The last number handed out per series; locked while a number is drawn."""

    series = models.CharField(max_length=40, unique=True)
    value = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.series}: {self.value}"


class Tag(models.Model):
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="tags")
    name = models.CharField(_("name"), max_length=100)

    class Meta:
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="tag_unique_name")]

    def __str__(self) -> str:
        return self.name


def new_reply_token() -> str:
    """The secret part of a case's reply address (``department+<token>@...``)."""
    return secrets.token_hex(10)


class Ticket(models.Model):
    """A case: one matter of one citizen, worked by one department.

    Every insert maintains every index of this table, so foreign keys whose column leads
    an index of ``Meta.indexes`` have no index of their own (``db_index=False``): tenant
    (tenant, department, state), owner (owner, state), citizen (citizen).
    """

    tenant = models.ForeignKey(
        Tenant, on_delete=models.PROTECT, related_name="tickets", db_index=False
    )
    number = models.CharField(_("number"), max_length=40, unique=True)
    title = models.CharField(_("title"), max_length=250)
    department = models.ForeignKey(
        Department, verbose_name=_("department"), on_delete=models.PROTECT, related_name="tickets"
    )
    state = models.ForeignKey(State, verbose_name=_("state"), on_delete=models.PROTECT)
    priority = models.ForeignKey(Priority, verbose_name=_("priority"), on_delete=models.PROTECT)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="owned_tickets",
        db_index=False,
    )
    citizen = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("citizen"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="cases",
        db_index=False,
    )
    organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("organisation"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
    )
    tags = models.ManyToManyField(Tag, verbose_name=_("tags"), blank=True, related_name="tickets")
    service = models.ForeignKey(
        "catalogue.OnlineService",
        verbose_name=_("online service"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="tickets",
    )
    data = models.JSONField(_("form data"), default=dict, blank=True)
    # Values of the tenant's custom attributes by name (checked by attributes.values).
    attributes = models.JSONField(_("attributes"), default=dict, blank=True)
    pending_until = models.DateTimeField(_("pending until"), null=True, blank=True)
    first_response_at = models.DateTimeField(_("first response"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    merged_into = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="merged_from"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    reply_token = models.CharField(
        max_length=40, unique=True, default=new_reply_token, editable=False
    )
    # Hash of the newest history entry: lets `audit verify` notice a cut-off chain.
    history_head = models.CharField(max_length=64, blank=True, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    # Not a column: the article ``services.create_ticket`` wrote with the case, set on the
    # instance it returns (the mail intake and online forms need it and spare a query).
    first_article: Article | None = None

    class Meta:
        verbose_name = _("case")
        verbose_name_plural = _("cases")
        indexes = [
            models.Index(fields=["tenant", "department", "state"]),
            models.Index(fields=["owner", "state"]),
            models.Index(fields=["citizen"]),
        ]

    def __str__(self) -> str:
        return f"#{self.number} {self.title}"


class ArticleKind(models.TextChoices):
    EMAIL = "email", _("e-mail")
    WEB = "web", _("web form")
    NOTE = "note", _("note")
    PHONE = "phone", _("phone")
    PORTAL = "portal", _("case page")
    API = "api", _("API")


class SenderKind(models.TextChoices):
    AGENT = "agent", _("agent")
    CITIZEN = "citizen", _("citizen")
    SYSTEM = "system", _("system")


class DeliveryStatus(models.TextChoices):
    NONE = "", _("not sent")
    QUEUED = "queued", _("queued")
    SENT = "sent", _("sent")
    FAILED = "failed", _("failed")


class Blob(models.Model):
    """Bytes stored once by their SHA-256, however many attachments use them."""

    sha256 = models.CharField(max_length=64, unique=True)
    size = models.PositiveBigIntegerField()
    path = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.sha256

    @classmethod
    def store(cls, content: bytes) -> Blob:
        digest = hashlib.sha256(content).hexdigest()
        existing = cls.objects.filter(sha256=digest).first()
        if existing is not None:
            return existing
        path = cls.put_file(content, digest)
        blob, _created = cls.objects.get_or_create(
            sha256=digest, defaults={"size": len(content), "path": path}
        )
        return blob

    @classmethod
    def row_id(cls, digest: str, size: int) -> int:
        """The id of the row of bytes that ``put_file`` has put in place, made if missing.

        One statement, whether the row is new or there already (an MTA's second
        delivery, an attachment sent twice): an insert that on a conflict of the hash
        updates the size to the same value and so returns the existing row's id, with
        no savepoint around it and no race between a look-up and an insert. ``store``
        looks the row up, reads the file back to check it, and inserts in a savepoint.
        """
        returning = connection.features.can_return_columns_from_insert
        with connection.cursor() as cursor:
            cursor.execute(
                _blob_upsert(connection.vendor, returning),
                [
                    digest,
                    size,
                    cls.path_for(digest),
                    connection.ops.adapt_datetimefield_value(clock.now()),
                ],
            )
            if returning:
                return int(cursor.fetchone()[0])
        # SQLite before 3.35 returns no ids from an INSERT.
        return cls.objects.only("pk").get(sha256=digest).pk

    @staticmethod
    def path_for(digest: str) -> str:
        """Where the bytes with this SHA-256 (hex) are kept in the storage."""
        return f"blobs/{digest[:2]}/{digest[2:4]}/{digest}"

    @classmethod
    def put_file(cls, content: bytes, digest: str) -> str:
        """Put the bytes in place (fsynced by the storage), without the database; returns
        the path. Safe in any thread and idempotent: a file there already is kept if it
        holds these bytes, and rewritten if a write that failed half-way (full disk,
        crash) left it partial."""
        path = cls.path_for(digest)
        if default_storage.exists(path) and not cls._holds(path, len(content), digest):
            default_storage.delete(path)
        if not default_storage.exists(path):
            path = default_storage.save(path, ContentFile(content))
        return path

    @staticmethod
    def _holds(path: str, size: int, digest: str) -> bool:
        if default_storage.size(path) != size:
            return False
        with default_storage.open(path, "rb") as fh:
            return hashlib.file_digest(fh, "sha256").hexdigest() == digest

    def read(self) -> bytes:
        with default_storage.open(self.path, "rb") as fh:
            data: bytes = fh.read()
        return data


@functools.cache
def _blob_upsert(vendor: str, returning: bool) -> str:
    """``Blob.row_id``'s statement (per database vendor: quoting differs). SQLite and
    PostgreSQL both speak it; SQLite before 3.35 without the RETURNING."""
    del vendor  # part of the cache key
    meta = Blob._meta
    quote = connection.ops.quote_name

    def column(name: str) -> str:
        return quote(str(meta.get_field(name).column))  # type: ignore[union-attr]

    # Names from the model, quoted; every value is a parameter.
    sql = (
        f"INSERT INTO {quote(meta.db_table)} "  # noqa: S608
        f"({column('sha256')}, {column('size')}, {column('path')}, {column('created_at')}) "
        f"VALUES (%s, %s, %s, %s) ON CONFLICT ({column('sha256')}) "
        f"DO UPDATE SET {column('size')} = excluded.{column('size')}"
    )
    return sql + f" RETURNING {column('id')}" if returning else sql


class Article(models.Model):
    """One message or note in a case's timeline."""

    ticket = models.ForeignKey(Ticket, on_delete=models.PROTECT, related_name="articles")
    kind = models.CharField(_("kind"), max_length=10, choices=ArticleKind.choices)
    sender = models.CharField(_("sender"), max_length=10, choices=SenderKind.choices)
    internal = models.BooleanField(_("internal"), default=False)
    from_addr = models.CharField(_("from"), max_length=500, blank=True)
    to = models.TextField(_("to"), blank=True)
    cc = models.TextField(_("cc"), blank=True)
    subject = models.CharField(_("subject"), max_length=500, blank=True)
    body = models.TextField(_("text"), blank=True)
    content_type = models.CharField(
        max_length=20,
        choices=[("text/plain", "text/plain"), ("text/html", "text/html")],
        default="text/plain",
    )
    message_id = models.CharField(max_length=500, blank=True, db_index=True)
    in_reply_to = models.CharField(max_length=500, blank=True)
    references = models.TextField(blank=True)
    raw = models.ForeignKey(
        Blob, verbose_name=_("raw message"), on_delete=models.PROTECT, null=True, blank=True
    )
    delivery_status = models.CharField(
        _("delivery"), max_length=10, choices=DeliveryStatus.choices, default="", blank=True
    )
    delivery_error = models.TextField(blank=True)
    # Something the agent should know about this message (e.g. an unexpected sender).
    notice = models.TextField(_("notice"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("article")
        verbose_name_plural = _("articles")
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return self.subject or f"{self.get_kind_display()} {self.pk}"


class Attachment(models.Model):
    article = models.ForeignKey(Article, on_delete=models.PROTECT, related_name="attachments")
    blob = models.ForeignKey(Blob, on_delete=models.PROTECT, related_name="attachments")
    filename = models.CharField(_("file name"), max_length=255)
    content_type = models.CharField(max_length=200, default="application/octet-stream")
    content_id = models.CharField(max_length=255, blank=True)

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.filename

    @property
    def size(self) -> int:
        return self.blob.size

    @property
    def sha256(self) -> str:
        return self.blob.sha256


class LinkKind(models.TextChoices):
    NORMAL = "normal", _("related")
    PARENT = "parent", _("parent")
    CHILD = "child", _("child")


class Link(models.Model):
    """``source`` is <kind> of ``target``: a parent link means source is the parent."""

    source = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="links_out")
    target = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="links_in")
    kind = models.CharField(max_length=10, choices=LinkKind.choices, default=LinkKind.NORMAL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "target"], name="link_unique_pair"),
            models.CheckConstraint(
                condition=~models.Q(source=models.F("target")), name="link_not_to_itself"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.source_id} {self.kind} {self.target_id}"


class HistoryQuerySet(models.QuerySet["History"]):
    def update(self, **kwargs: Any) -> int:
        raise TypeError("history is append-only")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise TypeError("history is append-only")


class History(models.Model):
    """One change to a case; append-only and chained by hash per case.

    ``hash`` covers the entry's content and the previous entry's hash, so editing
    or removing any entry breaks the chain from there on (``vorgang audit verify``).
    """

    # No index of its own: history_unique_seq (ticket, seq) serves lookups by case.
    ticket = models.ForeignKey(
        Ticket, on_delete=models.PROTECT, related_name="history", db_index=False
    )
    seq = models.PositiveIntegerField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField()
    action = models.CharField(max_length=40)
    field = models.CharField(max_length=40, blank=True)
    old_value = models.TextField(blank=True)
    new_value = models.TextField(blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    objects = HistoryQuerySet.as_manager()

    class Meta:
        verbose_name = _("history entry")
        verbose_name_plural = _("history")
        ordering = ["ticket_id", "seq"]
        constraints = [models.UniqueConstraint(fields=["ticket", "seq"], name="history_unique_seq")]

    def __str__(self) -> str:
        return f"{self.ticket_id}#{self.seq} {self.action}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise TypeError("history is append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise TypeError("history is append-only")

    def compute_hash(self) -> str:
        content = {
            "ticket": self.ticket_id,
            "seq": self.seq,
            "actor": self.actor_id,
            "at": self.created_at.isoformat(timespec="microseconds"),
            "action": self.action,
            "field": self.field,
            "old": self.old_value,
            "new": self.new_value,
            "prev": self.prev_hash,
        }
        canonical = json.dumps(content, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()
