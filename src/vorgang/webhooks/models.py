"""Webhook endpoints and the log of their deliveries.

A delivery keeps the payload as it was when the event happened, so a retry or a
re-send carries the same facts; the payload holds citizen data and is therefore
never shown in the admin or the API, only sent to the registered receiver.
"""

from __future__ import annotations

import secrets
import uuid
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from vorgang.accounts.models import Department, Tenant

SECRET_MIN_LENGTH = 16


class WebhookEvent(models.TextChoices):
    """The events an admin can subscribe a webhook to."""

    TICKET_CREATED = "ticket.created", _("case created")
    TICKET_UPDATED = "ticket.updated", _("case changed")
    TICKET_STATE_CHANGED = "ticket.state_changed", _("state of a case changed")
    ARTICLE_CREATED = "article.created", _("message or note added")
    CITIZEN_REPLIED = "citizen.replied", _("citizen replied")


# Sent by "send test event"; not something to subscribe to.
TEST_EVENT = "webhook.test"


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def validate_webhook_url(value: str) -> None:
    """Only http and https: no file:, ftp: or other schemes urllib would happily open."""
    scheme = urlsplit(value).scheme.lower()
    if scheme not in ("http", "https"):
        raise ValidationError(
            _("The URL must start with http:// or https://."), code="invalid_scheme"
        )
    URLValidator(schemes=["http", "https"])(value)


def validate_events(value: Any) -> None:
    if not isinstance(value, list) or not value:
        raise ValidationError(_("Choose at least one event."), code="no_events")
    unknown = [v for v in value if v not in WebhookEvent.values]
    if unknown:
        raise ValidationError(
            _("Unknown events: %(names)s. Known: %(known)s.")
            % {"names": ", ".join(map(str, unknown)), "known": ", ".join(WebhookEvent.values)},
            code="unknown_events",
        )


def validate_secret(value: str) -> None:
    if len(value) < SECRET_MIN_LENGTH:
        raise ValidationError(
            _("The secret must be at least %(n)d characters long.") % {"n": SECRET_MIN_LENGTH},
            code="short_secret",
        )


class Webhook(models.Model):
    """An endpoint of another system that is told about changes to cases."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="webhooks")
    name = models.CharField(_("name"), max_length=200)
    url = models.CharField(_("URL"), max_length=2000, validators=[validate_webhook_url])
    # Kept in clear: the HMAC needs it. Shown once when created, masked afterwards.
    secret = models.CharField(
        _("secret"), max_length=200, default=new_secret, validators=[validate_secret]
    )
    events = models.JSONField(_("events"), default=list, validators=[validate_events])
    departments = models.ManyToManyField(
        Department,
        verbose_name=_("only cases of these departments"),
        blank=True,
        related_name="+",
        help_text=_("Empty: cases of every department."),
    )
    services = models.ManyToManyField(
        "catalogue.OnlineService",
        verbose_name=_("only cases of these online services"),
        blank=True,
        related_name="+",
        help_text=_("Empty: cases of every online service and cases without one."),
    )
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("webhook")
        verbose_name_plural = _("webhooks")
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return self.name

    @property
    def secret_hint(self) -> str:
        """Enough of the secret to tell two apart, not enough to use it."""
        return f"…{self.secret[-4:]}" if self.secret else ""


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("pending")
    SUCCEEDED = "succeeded", _("succeeded")
    FAILED = "failed", _("failed")


class WebhookDelivery(models.Model):
    """One event for one webhook: sent, retried with backoff, or given up."""

    webhook = models.ForeignKey(
        Webhook, verbose_name=_("webhook"), on_delete=models.CASCADE, related_name="deliveries"
    )
    delivery_id = models.UUIDField(_("delivery id"), default=uuid.uuid4, unique=True)
    event = models.CharField(_("event"), max_length=40)
    payload = models.JSONField(default=dict)
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=DeliveryStatus.choices,
        default=DeliveryStatus.PENDING,
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_status_code = models.PositiveIntegerField(_("last status code"), null=True, blank=True)
    response_time_ms = models.PositiveIntegerField(_("response time (ms)"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    # While pending: when the next attempt is due (or, during an attempt, when it is
    # taken as abandoned); empty once finished.
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    resent_from = models.ForeignKey(
        "self",
        verbose_name=_("re-sent from"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="resends",
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.event} {self.delivery_id}"
