"""In-app notifications for agents (Zammad: online notifications), shown by the desk's bell.

A notification points to a case and says why the agent should look at it. It is
written after the change that caused it has committed (see subscribers.py) and is
only ever shown to its own user, and only while that user may still read the case.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from vorgang.accounts.models import Tenant


class NotificationKind(models.TextChoices):
    ASSIGNED = "assigned", _("case assigned to you")
    CITIZEN_REPLIED = "citizen_replied", _("the citizen replied")
    REMINDER_REACHED = "reminder_reached", _("reminder reached")
    MENTION = "mention", _("you were mentioned")
    ESCALATION = "escalation", _("case escalated")


# The type Zammad clients know for each kind (Zammad has create/update/reminder_reached/
# escalation); Vorgang's own reason is given beside it.
ZAMMAD_TYPES: dict[str, str] = {
    NotificationKind.ASSIGNED: "update",
    NotificationKind.CITIZEN_REPLIED: "update",
    NotificationKind.REMINDER_REACHED: "reminder_reached",
    NotificationKind.MENTION: "update",
    NotificationKind.ESCALATION: "escalation",
}


class OnlineNotification(models.Model):
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="online_notifications",
    )
    ticket = models.ForeignKey(
        "tickets.Ticket",
        verbose_name=_("case"),
        on_delete=models.CASCADE,
        related_name="online_notifications",
    )
    kind = models.CharField(_("kind"), max_length=20, choices=NotificationKind.choices)
    # Who caused it (Zammad: created_by); null for the system (mail intake, automation).
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    seen = models.BooleanField(_("seen"), default=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-updated_at", "-pk"]
        indexes = [models.Index(fields=["user", "seen", "updated_at"])]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.kind} #{self.ticket_id}"

    @property
    def zammad_type(self) -> str:
        return ZAMMAD_TYPES.get(self.kind, "update")


# Kinds an agent may switch on or off (escalation comes from the SLA issue, later).
CHOOSABLE_KINDS: tuple[str, ...] = (
    NotificationKind.ASSIGNED,
    NotificationKind.CITIZEN_REPLIED,
    NotificationKind.REMINDER_REACHED,
    NotificationKind.MENTION,
)


def _all_kinds() -> list[str]:
    return list(NotificationKind.values)


class NotificationPreference(models.Model):
    """Which kinds of notification an agent wants in the desk and which by e-mail.

    No row means the defaults: everything in the desk and by e-mail. The lists hold
    NotificationKind values; a kind missing from a list is switched off there.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notification_preference",
    )
    in_app = models.JSONField(_("in the desk"), default=_all_kinds)
    email = models.JSONField(_("by e-mail"), default=_all_kinds)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("notification preference")
        verbose_name_plural = _("notification preferences")

    def __str__(self) -> str:
        return f"{self.user_id}: in app {self.in_app}, e-mail {self.email}"


class ReminderNotice(models.Model):
    """A reminder date that was already announced, so that it is announced only once."""

    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.CASCADE, related_name="+")
    pending_until = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["ticket", "pending_until"], name="reminder_notice_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.ticket_id} @ {self.pending_until:%Y-%m-%d %H:%M}"
