"""Text modules and macros, each a tenant's own and offered in chosen departments.

Neither changes a case by itself: the desk renders a text module into the reply or
note field (``rendering``), and ``apply.apply_macro`` turns a macro's actions into
calls of ``tickets.services``, so every change keeps its permission check and history.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from vorgang.accounts.models import Department, Tenant


class TextModule(models.Model):
    """A reusable text; ``{{ citizen.name }}`` and the like are filled in per case."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="text_modules")
    name = models.CharField(_("name"), max_length=100)
    keywords = models.CharField(
        _("keywords"),
        max_length=250,
        blank=True,
        help_text=_("Words agents may type to find the text, separated by spaces or commas."),
    )
    body_de = models.TextField(
        _("text (German)"),
        help_text=_(
            "Placeholders: {{ citizen.name }}, {{ citizen.first_name }}, "
            "{{ citizen.last_name }}, {{ citizen.email }}, {{ case.number }}, "
            "{{ case.title }}, {{ service.name }}, {{ agent.name }}, {{ agent.email }}, "
            "{{ department.name }}, {{ department.email }}, {{ today }}."
        ),
    )
    body_en = models.TextField(
        _("text (English)"),
        blank=True,
        help_text=_("Used for citizens who chose English; empty: the German text."),
    )
    departments = models.ManyToManyField(
        Department,
        verbose_name=_("offered in"),
        blank=True,
        related_name="+",
        help_text=_("Departments whose agents see the text; none: every department."),
    )
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("text module")
        verbose_name_plural = _("text modules")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="text_module_unique_name")
        ]

    def __str__(self) -> str:
        return self.name

    def body_for(self, language: str) -> str:
        """The text in the citizen's language, falling back to German."""
        if language == "en" and self.body_en.strip():
            return self.body_en
        return self.body_de


class Macro(models.Model):
    """Several changes to a case in one click; ``actions`` follows ``schema.ACTIONS``."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="macros")
    name = models.CharField(_("name"), max_length=100)
    actions = models.JSONField(
        _("actions"),
        default=dict,
        help_text=_(
            'A JSON object, e.g. {"state": "closed", "priority": "2 normal", '
            '"owner": "me", "tags_add": ["done"], "text_module": "Thanks", '
            '"text_as": "reply"}. Keys: state, pending_days, priority, owner '
            '("me", "none" or a login), department, tags_add, tags_remove, '
            'text_module, text_as ("note" or "reply").'
        ),
    )
    departments = models.ManyToManyField(
        Department,
        verbose_name=_("offered in"),
        blank=True,
        related_name="+",
        help_text=_("Departments whose agents see the macro; none: every department."),
    )
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("macro")
        verbose_name_plural = _("macros")
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="macro_unique_name")]

    def __str__(self) -> str:
        return self.name
