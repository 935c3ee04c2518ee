"""The catalogue of online services: each described as data, none needs new code.

A service's ``schema`` (JSON Schema, draft 2020-12) says what a submission holds,
``ui`` how the hosted form shows it (field order, labels and help texts in German
and English, widgets), ``documents`` which files the citizen must or may upload.
"""

from __future__ import annotations

from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from vorgang.accounts.models import Department, Tenant

leika_validator = RegexValidator(r"^\d{14}$", _("A LeiKa key has exactly 14 digits."))


class ProcessingTime(models.TextChoices):
    FIXED = "fixed", _("a fixed number of days")
    COMPUTED = "computed", _("computed: median of closed cases of the last 90 days")


class OnlineService(models.Model):
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="online_services")
    slug = models.SlugField(_("short name"), max_length=100)
    name_de = models.CharField(_("name (German)"), max_length=200)
    name_en = models.CharField(_("name (English)"), max_length=200, blank=True)
    description_de = models.TextField(_("description (German)"), blank=True)
    description_en = models.TextField(_("description (English)"), blank=True)
    leika = models.CharField(
        _("LeiKa key"), max_length=14, blank=True, validators=[leika_validator]
    )
    department = models.ForeignKey(
        Department,
        verbose_name=_("responsible department"),
        on_delete=models.PROTECT,
        related_name="online_services",
    )
    schema = models.JSONField(_("data schema (JSON Schema)"), default=dict)
    ui = models.JSONField(_("form layout"), default=dict, blank=True)
    documents = models.JSONField(_("documents"), default=list, blank=True)
    processing_time = models.CharField(
        _("expected processing time"),
        max_length=10,
        choices=ProcessingTime.choices,
        default=ProcessingTime.FIXED,
    )
    processing_days = models.PositiveIntegerField(_("processing days"), null=True, blank=True)
    confirmation_de = models.TextField(_("confirmation text (German)"), blank=True)
    confirmation_en = models.TextField(_("confirmation text (English)"), blank=True)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("online service")
        verbose_name_plural = _("online services")
        ordering = ["name_de"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "slug"], name="online_service_unique_slug")
        ]

    def __str__(self) -> str:
        return self.name_de

    def clean(self) -> None:
        """Check the whole definition (schema, form layout, documents, department, LeiKa)."""
        from django.core.exceptions import ValidationError

        from .validation import definition_errors

        errors = definition_errors(self)
        errors.pop("leika", None)  # the field's own validator reports it already
        if errors:
            raise ValidationError(errors)


class IdempotencyKey(models.Model):
    """A submission's idempotency key: the same key for the same service is one case.

    The unique constraint is what makes a concurrent duplicate fail: the second
    transaction cannot insert its key, rolls back (its case too) and answers with
    the first case.
    """

    service = models.ForeignKey(
        OnlineService, on_delete=models.CASCADE, related_name="idempotency_keys"
    )
    key = models.CharField(max_length=200)
    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("idempotency key")
        verbose_name_plural = _("idempotency keys")
        constraints = [
            models.UniqueConstraint(fields=["service", "key"], name="idempotency_key_unique")
        ]

    def __str__(self) -> str:
        return f"{self.service_id}: {self.key}"


class ProvidedDocument(models.Model):
    """Which of a service's documents an attachment of a case is (for "still missing")."""

    ticket = models.ForeignKey(
        "tickets.Ticket", on_delete=models.CASCADE, related_name="provided_documents"
    )
    document_key = models.CharField(max_length=100)
    attachment = models.ForeignKey("tickets.Attachment", on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("provided document")
        verbose_name_plural = _("provided documents")
        indexes = [models.Index(fields=["ticket", "document_key"])]

    def __str__(self) -> str:
        return f"{self.ticket_id}: {self.document_key}"
