"""The inbound journal: every message that reaches Vorgang, stored before it is accepted.

A row is written (with the raw bytes durably on disk) before the sender is told
"accepted"; processing then turns it into a case or an article. A row whose
processing fails stays here as ``failed`` with the reason, and can be retried.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from vorgang.accounts.models import Department, Tenant
from vorgang.tickets.models import Article, Blob, Ticket


class InboundStatus(models.TextChoices):
    RECEIVED = "received", _("received")
    PROCESSING = "processing", _("processing")
    PROCESSED = "processed", _("processed")
    DUPLICATE = "duplicate", _("duplicate")
    FAILED = "failed", _("failed")


class InboundChannel(models.TextChoices):
    LMTP = "lmtp", "LMTP"
    SMTP = "smtp", "SMTP"
    IMAP = "imap", "IMAP"
    PIPE = "pipe", _("pipe")
    FORM = "form", _("online form")
    API = "api", "API"


class InboundMessage(models.Model):
    channel = models.CharField(_("channel"), max_length=10, choices=InboundChannel.choices)
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, null=True, blank=True)
    department = models.ForeignKey(
        Department, verbose_name=_("department"), on_delete=models.PROTECT, null=True, blank=True
    )
    recipient = models.CharField(_("recipient"), max_length=500, blank=True)
    envelope_from = models.CharField(_("envelope sender"), max_length=500, blank=True)
    raw = models.ForeignKey(Blob, on_delete=models.PROTECT, related_name="+")
    message_id = models.CharField(max_length=500, blank=True)
    size = models.PositiveBigIntegerField(default=0)
    status = models.CharField(
        _("status"),
        max_length=12,
        choices=InboundStatus.choices,
        default=InboundStatus.RECEIVED,
    )
    error = models.TextField(_("error"), blank=True)
    attempts = models.PositiveIntegerField(default=0)
    # Where the message came from, e.g. "imap:<mailbox id>:<uidvalidity>:<uid>".
    source_ref = models.CharField(max_length=200, blank=True)
    received_at = models.DateTimeField(_("received"), auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    processed_at = models.DateTimeField(_("processed"), null=True, blank=True)
    ticket = models.ForeignKey(
        Ticket, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    article = models.ForeignKey(
        Article, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    note = models.TextField(_("note"), blank=True)

    class Meta:
        verbose_name = _("incoming message")
        verbose_name_plural = _("incoming messages")
        ordering = ["-received_at", "-pk"]
        indexes = [
            models.Index(fields=["status", "received_at"]),
            models.Index(fields=["message_id"]),
            models.Index(fields=["source_ref"]),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} {self.pk} ({self.status})"


class Security(models.TextChoices):
    IMAPS = "imaps", _("IMAPS (TLS from the start)")
    STARTTLS = "starttls", _("STARTTLS")
    NONE = "none", _("none (only for a server on this machine)")


class AfterFetch(models.TextChoices):
    DELETE = "delete", _("delete from the server")
    MOVE = "move", _("move to a folder")
    KEEP = "keep", _("keep on the server")


class Mailbox(models.Model):
    """An IMAP mailbox that Vorgang polls; its messages go into the journal."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="mailboxes")
    name = models.CharField(_("name"), max_length=200)
    host = models.CharField(_("server"), max_length=255)
    port = models.PositiveIntegerField(_("port"), default=993)
    security = models.CharField(
        _("encryption"), max_length=10, choices=Security.choices, default=Security.IMAPS
    )
    verify_certificate = models.BooleanField(_("verify the server certificate"), default=True)
    username = models.CharField(_("user name"), max_length=255)
    password = models.CharField(_("password"), max_length=255)
    folder = models.CharField(_("folder"), max_length=255, default="INBOX")
    after_fetch = models.CharField(
        _("after fetching"), max_length=10, choices=AfterFetch.choices, default=AfterFetch.KEEP
    )
    move_to = models.CharField(_("move to folder"), max_length=255, blank=True)
    department = models.ForeignKey(
        Department,
        verbose_name=_("department for messages to no known address"),
        on_delete=models.PROTECT,
    )
    poll_interval = models.PositiveIntegerField(_("poll every (seconds)"), default=60)
    active = models.BooleanField(_("active"), default=True)
    # UID tracking for "keep on server": the folder's UIDVALIDITY and the last UID taken.
    uidvalidity = models.BigIntegerField(null=True, blank=True, editable=False)
    last_uid = models.BigIntegerField(default=0, editable=False)
    last_polled_at = models.DateTimeField(_("last polled"), null=True, blank=True, editable=False)
    last_error = models.TextField(_("last error"), blank=True, editable=False)

    class Meta:
        verbose_name = _("IMAP mailbox")
        verbose_name_plural = _("IMAP mailboxes")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class MatchType(models.TextChoices):
    CONTAINS = "contains", _("contains")
    REGEX = "regex", _("matches the regular expression")


class RuleAction(models.TextChoices):
    SET_DEPARTMENT = "department", _("hand to department")
    SET_PRIORITY = "priority", _("set priority")
    ADD_TAG = "tag", _("add tag")
    IGNORE = "ignore", _("ignore (keep in the journal only)")


class PostmasterRule(models.Model):
    """An admin's rule on incoming mail: a header matches → an action."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="postmaster_rules")
    name = models.CharField(_("name"), max_length=200)
    position = models.PositiveIntegerField(_("order"), default=100)
    active = models.BooleanField(_("active"), default=True)
    header = models.CharField(_("header"), max_length=100, help_text=_("e.g. From, Subject"))
    match_type = models.CharField(
        _("match"), max_length=10, choices=MatchType.choices, default=MatchType.CONTAINS
    )
    value = models.CharField(_("value"), max_length=500)
    action = models.CharField(_("action"), max_length=12, choices=RuleAction.choices)
    department = models.ForeignKey(
        Department, verbose_name=_("department"), on_delete=models.CASCADE, null=True, blank=True
    )
    priority = models.ForeignKey(
        "tickets.Priority",
        verbose_name=_("priority"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
    )
    tag = models.CharField(_("tag"), max_length=100, blank=True)
    stop = models.BooleanField(_("stop after this rule"), default=False)

    class Meta:
        verbose_name = _("postmaster rule")
        verbose_name_plural = _("postmaster rules")
        ordering = ["position", "pk"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        from vorgang.channels.email.filters.postmaster import regex_problem

        if self.match_type == MatchType.REGEX and (problem := regex_problem(self.value)):
            raise ValidationError({"value": problem})
        if self.department is not None and self.department.tenant_id != self.tenant_id:
            raise ValidationError({"department": _("The department belongs to another tenant.")})


class AutomaticMail(models.Model):
    """One automatic mail (a system e-mail article) sent to one address: what the loop
    guard's rate limits count (``filters.loop_guard.within_rate_limits``).

    Written with the article (``channels.automatic``), in its transaction, whoever
    queues it. Counting these rows by address and time is one short index range;
    counting the articles themselves meant reading every article of the last hour (a
    case-insensitive substring match on ``to`` has no index). The address is kept only
    as a hash: the limits need equality, not the address. Rows older than the longest
    window are dropped now and then (``automatic.record``).
    """

    address_key = models.CharField(max_length=64)  # sha256 of the normalised address
    ticket_id = models.BigIntegerField()  # no foreign key: rows outlive an erased case briefly
    sent_at = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = _("automatic mail")
        verbose_name_plural = _("automatic mails")
        indexes = [models.Index(fields=["address_key", "sent_at"])]

    def __str__(self) -> str:
        return f"automatic mail {self.pk} ({self.sent_at:%Y-%m-%d %H:%M})"


class PendingConfirmation(models.Model):
    """A confirmation mail of the mail intake, waiting for ``send_confirmations``.

    The worker's drain writes the row with the confirmation article, in the message's
    transaction, instead of queueing one ``deliver_article`` task per confirmation:
    one task then sends the confirmations of a whole batch (a task costs the worker
    about 2 ms of claiming and recording besides the work itself). The row is
    committed with the article, so a worker killed before the batch's task was
    queued leaves it here for the next one (``confirmations.recover``). A row is
    claimed (``claimed_at``) before its mail goes out and deleted after; a claim older
    than ``confirmations.CLAIM_EXPIRES`` counts as abandoned by a dead worker.
    """

    article = models.OneToOneField(Article, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField()
    claimed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("pending confirmation")
        verbose_name_plural = _("pending confirmations")

    def __str__(self) -> str:
        return f"pending confirmation of article {self.article_id}"
