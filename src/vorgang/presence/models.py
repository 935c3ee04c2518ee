"""A heartbeat per agent and case, and a draft per agent, case and form."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from vorgang.accounts.models import Tenant


class Activity(models.TextChoices):
    VIEWING = "viewing", _("viewing")
    WRITING = "writing", _("writing")


class Presence(models.Model):
    """The newest heartbeat of one agent on one case (one row each, renewed in place)."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.CASCADE, related_name="+")
    activity = models.CharField(max_length=10, choices=Activity.choices, default=Activity.VIEWING)
    # Which form the agent writes in ("reply", "note"), shown to the others.
    writing_in = models.CharField(max_length=10, blank=True)
    last_seen = models.DateTimeField()

    class Meta:
        verbose_name = _("presence")
        verbose_name_plural = _("presences")
        constraints = [
            models.UniqueConstraint(fields=["user", "ticket"], name="presence_unique_user_ticket")
        ]
        indexes = [models.Index(fields=["ticket", "last_seen"])]

    def __str__(self) -> str:
        return f"{self.user_id} on {self.ticket_id}: {self.activity}"


class DraftKind(models.TextChoices):
    REPLY = "reply", _("reply")
    NOTE = "note", _("note")


class Draft(models.Model):
    """What an agent typed into a form of a case and has not sent yet.

    ``fields`` holds the form's text fields by name (e.g. text, cc, to, quote) and
    nothing else: files cannot be kept, and no field outside DRAFT_FIELDS is stored.
    """

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=10, choices=DraftKind.choices, default=DraftKind.REPLY)
    fields = models.JSONField(default=dict)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("draft")
        verbose_name_plural = _("drafts")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "ticket", "kind"], name="draft_unique_user_ticket_kind"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} draft of {self.user_id} on {self.ticket_id}"
