"""Custom case attributes: fields an office's admins add to every case (Zammad's object
manager attributes for tickets).

The definitions live here; the values live on the case (``Ticket.attributes``, a JSON
object keyed by the attribute's ``name``) and are checked by ``values.clean``.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from vorgang.accounts.models import Tenant

# ``History.field`` holds the name of a changed attribute and has 40 characters.
MAX_NAME = 40
MAX_LABEL = 200
# Text values: the default bound, and the most an admin may allow.
DEFAULT_TEXT_LENGTH = 255
TEXT_LIMIT = 5000
# Whole numbers: a 32-bit range, as Zammad's integer columns (and safe in JavaScript).
INT_MIN = -(2**31)
INT_MAX = 2**31 - 1
MAX_OPTIONS = 500
MAX_OPTION_VALUE = 100


class DataType(models.TextChoices):
    TEXT = "text", _("text")
    SELECT = "select", _("single choice")
    MULTISELECT = "multiselect", _("multiple choice")
    DATE = "date", _("date")
    DATETIME = "datetime", _("date and time")
    BOOLEAN = "boolean", _("yes or no")
    INTEGER = "integer", _("whole number")


CHOICE_TYPES = frozenset({DataType.SELECT, DataType.MULTISELECT})
# Zammad allows no default for dates; a fixed date as a default makes no sense either.
NO_DEFAULT_TYPES = frozenset({DataType.DATE, DataType.DATETIME})


class CaseAttribute(models.Model):
    """One custom field of the cases of a tenant.

    ``name`` and ``data_type`` cannot change once the attribute exists: the stored values
    are keyed by the name and were checked against the type.
    """

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="case_attributes")
    name = models.CharField(
        _("name"),
        max_length=MAX_NAME,
        help_text=_(
            "Identifier in the API and in exports: lowercase letters, digits and _, "
            "starting with a letter, e.g. service_type. Cannot be changed later."
        ),
    )
    label_de = models.CharField(_("label (German)"), max_length=MAX_LABEL)
    label_en = models.CharField(_("label (English)"), max_length=MAX_LABEL, blank=True)
    data_type = models.CharField(
        _("type"), max_length=12, choices=DataType.choices, default=DataType.TEXT
    )
    # [[value, label], ...]: a list, because PostgreSQL's jsonb does not keep key order.
    options = models.JSONField(_("options"), default=list, blank=True)
    required = models.BooleanField(_("required"), default=False)
    default = models.JSONField(_("default value"), null=True, blank=True)
    max_length = models.PositiveIntegerField(
        _("maximum length"),
        null=True,
        blank=True,
        help_text=_("Text only: the most characters a value may have (default 255)."),
    )
    min_value = models.BigIntegerField(_("minimum"), null=True, blank=True)
    max_value = models.BigIntegerField(_("maximum"), null=True, blank=True)
    active = models.BooleanField(_("active"), default=True)
    position = models.IntegerField(_("position"), default=0)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("case attribute")
        verbose_name_plural = _("case attributes")
        ordering = ["position", "name"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="case_attribute_unique_name")
        ]

    def __str__(self) -> str:
        return f"{self.label_de} ({self.name})"

    def label(self, language: str | None = None) -> str:
        """The label in ``language`` (default: the active one); German when none in English."""
        language = language or get_language() or "de"
        if language.startswith("en") and self.label_en:
            return self.label_en
        return self.label_de or self.name

    @property
    def option_map(self) -> dict[str, str]:
        """The options as value -> label, in the admin's order."""
        result: dict[str, str] = {}
        for item in self.options if isinstance(self.options, list) else []:
            if isinstance(item, list | tuple) and len(item) == 2:
                result[str(item[0])] = str(item[1])
        return result

    @property
    def text_limit(self) -> int:
        return min(self.max_length or DEFAULT_TEXT_LENGTH, TEXT_LIMIT)

    @property
    def bounds(self) -> tuple[int, int]:
        low = INT_MIN if self.min_value is None else max(self.min_value, INT_MIN)
        high = INT_MAX if self.max_value is None else min(self.max_value, INT_MAX)
        return low, high

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        from .definitions import definition_errors

        errors = definition_errors(self)
        if errors:
            raise ValidationError(errors)

    def in_use(self) -> bool:
        """Whether any case of the tenant holds a value for this attribute."""
        from vorgang.tickets.models import Ticket

        return Ticket.objects.filter(
            tenant_id=self.tenant_id, attributes__has_key=self.name
        ).exists()
