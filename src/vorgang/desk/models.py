"""Overviews that administrators define beside the built-in ones (Zammad: overviews).

An overview is a saved list of cases: conditions (which cases), columns (what is
shown), an order and a visibility (who sees it in the navigation). The conditions
only ever narrow what the agent may see anyway: ``desk.overviews`` applies them on
top of ``tickets.selectors.visible_tickets``.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from vorgang.accounts.models import Department, Role, Tenant, User
from vorgang.catalogue.models import OnlineService
from vorgang.tickets.models import Priority, State, Tag

# The columns an overview may show, in the order they appear (key, label).
COLUMN_CHOICES: list[tuple[str, Any]] = [
    ("number", _("Number")),
    ("title", _("Title")),
    ("citizen", _("Citizen")),
    ("department", _("Department")),
    ("service", _("Online service")),
    ("state", _("State")),
    ("priority", _("Priority")),
    ("owner", _("Owner")),
    ("tags", _("Tags")),
    ("created", _("Created")),
    ("updated", _("Updated")),
    ("pending_until", _("Waiting until")),
    ("closed", _("Closed")),
]
COLUMN_KEYS = [key for key, _label in COLUMN_CHOICES]
DEFAULT_COLUMNS = ["number", "title", "citizen", "department", "state", "priority", "owner"]
DEFAULT_COLUMNS += ["created"]

# The orders an overview may have (key as in the ``sort`` parameter, label).
ORDER_CHOICES: list[tuple[str, Any]] = [
    ("-age", _("newest first")),
    ("age", _("oldest first")),
    ("-updated", _("last changed first")),
    ("updated", _("longest unchanged first")),
    ("-priority", _("highest priority first")),
    ("priority", _("lowest priority first")),
    ("pending", _("waiting date, soonest first")),
    ("number", _("number, ascending")),
    ("-number", _("number, descending")),
]

VISIBLE_ROLES: list[tuple[str, Any]] = [
    (Role.AGENT, Role.AGENT.label),
    (Role.ADMIN, Role.ADMIN.label),
]


class OwnerCondition(models.TextChoices):
    ANY = "", _("any owner or none")
    ME = "me", _("me (the agent looking at it)")
    NOBODY = "nobody", _("nobody")
    SOMEONE = "someone", _("someone")
    PERSON = "person", _("the person chosen below")


class Overview(models.Model):
    """An admin-defined overview of one tenant."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="overviews")
    slug = models.SlugField(
        _("short name"),
        max_length=60,
        help_text=_("Part of the address: /overviews/<short name>/. Letters, digits, hyphens."),
    )
    name_de = models.CharField(_("name (German)"), max_length=100)
    name_en = models.CharField(_("name (English)"), max_length=100, blank=True)

    # --- conditions (all must hold; an empty condition does not filter) ---
    departments = models.ManyToManyField(
        Department, verbose_name=_("departments"), blank=True, related_name="+"
    )
    services = models.ManyToManyField(
        OnlineService, verbose_name=_("online services"), blank=True, related_name="+"
    )
    states = models.ManyToManyField(
        State,
        verbose_name=_("states"),
        blank=True,
        related_name="+",
        help_text=_("None chosen: every state except closed and merged."),
    )
    priorities = models.ManyToManyField(
        Priority, verbose_name=_("priorities"), blank=True, related_name="+"
    )
    owner = models.CharField(
        _("owner"), max_length=10, choices=OwnerCondition.choices, default="", blank=True
    )
    owner_person = models.ForeignKey(
        User,
        verbose_name=_("person"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        limit_choices_to={"role__in": [Role.AGENT, Role.ADMIN]},
    )
    tags = models.ManyToManyField(
        Tag,
        verbose_name=_("tags"),
        blank=True,
        related_name="+",
        help_text=_("Cases with at least one of these tags."),
    )
    older_than_days = models.PositiveIntegerField(
        _("older than (days)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text=_("Only cases received more than this many days ago."),
    )

    # --- presentation ---
    columns = models.JSONField(_("columns"), default=list, blank=True)
    order = models.CharField(_("order"), max_length=20, choices=ORDER_CHOICES, default="-age")

    # --- who sees it ---
    visible_roles = models.JSONField(
        _("visible to roles"),
        default=list,
        blank=True,
        help_text=_("None chosen: every agent and administrator."),
    )
    visible_departments = models.ManyToManyField(
        Department,
        verbose_name=_("visible to members of"),
        blank=True,
        related_name="+",
        help_text=_("None chosen: members of every department."),
    )
    position = models.PositiveIntegerField(_("position"), default=100)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("overview")
        verbose_name_plural = _("overviews")
        ordering = ["position", "name_de"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "slug"], name="desk_overview_unique_slug")
        ]

    def __str__(self) -> str:
        return self.name_de

    @property
    def name(self) -> str:
        """The name in the active language (German when no English one is given)."""
        if (get_language() or "de").startswith("en") and self.name_en:
            return self.name_en
        return self.name_de

    def clean(self) -> None:
        from .overviews import BUILT_IN_SLUGS

        errors: dict[str, Any] = {}
        if self.slug in BUILT_IN_SLUGS:
            errors["slug"] = _("This short name belongs to a built-in overview.")
        if self.owner == OwnerCondition.PERSON and self.owner_person_id is None:
            errors["owner_person"] = _("Choose the person whose cases the overview shows.")
        if not isinstance(self.columns, list) or any(c not in COLUMN_KEYS for c in self.columns):
            errors["columns"] = _("Unknown column.")
        roles = {r for r, _label in VISIBLE_ROLES}
        if not isinstance(self.visible_roles, list) or any(
            r not in roles for r in self.visible_roles
        ):
            errors["visible_roles"] = _("Unknown role.")
        if errors:
            raise ValidationError(errors)
