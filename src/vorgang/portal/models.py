"""The citizen's case page: magic links, requests for information, uploaded documents.

None of these rows is a case, an article or a history entry: those change only
through ``tickets.services``. These say who may open which case page (CaseLink) and
what the department asked the citizen for (InformationRequest). How often someone
asked for a new link is counted by the shared rate limit (``vorgang.core.ratelimit``).
Which attachment is which document is kept by the catalogue
(``catalogue.ProvidedDocument``), for the form and the case page alike.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from vorgang.tickets.models import Ticket


class CaseLink(models.Model):
    """A secret link to one case page, for the case's citizen; only the token's SHA-256 is kept."""

    ticket = models.ForeignKey(
        Ticket, verbose_name=_("case"), on_delete=models.CASCADE, related_name="case_links"
    )
    citizen = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("citizen"),
        on_delete=models.CASCADE,
        related_name="case_links",
    )
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(_("created"))
    expires_at = models.DateTimeField(_("expires"))
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)

    class Meta:
        verbose_name = _("case page link")
        verbose_name_plural = _("case page links")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["ticket", "citizen"])]

    def __str__(self) -> str:
        return f"{self.ticket_id}/{self.pk}"


class OnDeadline(models.TextChoices):
    REMIND = "remind", _("remind the citizen again")
    NOTIFY_OWNER = "notify_owner", _("notify the owner of the case")
    CLOSE = "close", _("close the case with a message to the citizen")


class InformationRequestQuerySet(models.QuerySet["InformationRequest"]):
    def open(self) -> InformationRequestQuerySet:
        """Neither answered nor closed: the department still waits for the citizen."""
        return self.filter(answered_at__isnull=True, closed=False)


class InformationRequest(models.Model):
    """A "Rückfrage": documents and/or questions the department asks the citizen for."""

    ticket = models.ForeignKey(
        Ticket,
        verbose_name=_("case"),
        on_delete=models.CASCADE,
        related_name="information_requests",
    )
    documents = models.JSONField(_("requested documents"), default=list, blank=True)
    questions = models.TextField(_("questions"), blank=True)
    deadline = models.DateTimeField(_("deadline"))
    on_deadline = models.CharField(
        _("when the deadline passes"),
        max_length=20,
        choices=OnDeadline.choices,
        default=OnDeadline.REMIND,
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"))
    answered_at = models.DateTimeField(_("answered"), null=True, blank=True)
    reminded_at = models.DateTimeField(_("reminded"), null=True, blank=True)
    reminders = models.PositiveSmallIntegerField(_("reminders sent"), default=0)
    # How often "remind again" moved the deadline on.
    extensions = models.PositiveSmallIntegerField(default=0)
    deadline_handled_at = models.DateTimeField(null=True, blank=True)
    # Finished without an answer: the deadline's choice was applied, or the case moved on.
    closed = models.BooleanField(_("closed"), default=False)

    objects = InformationRequestQuerySet.as_manager()

    class Meta:
        verbose_name = _("request for information")
        verbose_name_plural = _("requests for information")
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["closed", "answered_at", "deadline"])]

    def __str__(self) -> str:
        return f"{self.ticket_id}: {self.deadline:%Y-%m-%d}"

    @property
    def is_open(self) -> bool:
        return self.answered_at is None and not self.closed
