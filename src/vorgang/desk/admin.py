"""Admin-defined overviews in the configuration admin: each tenant's own, admins only."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from vorgang.core.admin import TenantScoped

from .models import COLUMN_CHOICES, DEFAULT_COLUMNS, VISIBLE_ROLES, Overview


class OverviewForm(forms.ModelForm):
    tenant_id: int | None = None  # set by the admin for the signed-in admin's tenant

    columns = forms.MultipleChoiceField(
        label=_("columns"),
        choices=COLUMN_CHOICES,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        initial=DEFAULT_COLUMNS,
        help_text=_("None chosen: number, title, citizen, department, state, priority, owner."),
    )
    visible_roles = forms.MultipleChoiceField(
        label=_("visible to roles"),
        choices=VISIBLE_ROLES,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=_("None chosen: every agent and administrator."),
    )

    class Meta:
        model = Overview
        fields = [
            "name_de",
            "name_en",
            "slug",
            "position",
            "active",
            "departments",
            "services",
            "states",
            "priorities",
            "owner",
            "owner_person",
            "tags",
            "older_than_days",
            "columns",
            "order",
            "visible_roles",
            "visible_departments",
        ]

    def clean_slug(self) -> str:
        slug: str = self.cleaned_data["slug"]
        tenant_id = self.instance.tenant_id or self.tenant_id
        if tenant_id is None:
            return slug
        taken = Overview.objects.filter(tenant_id=tenant_id, slug=slug).exclude(pk=self.instance.pk)
        if taken.exists():
            raise forms.ValidationError(_("Another overview already has this short name."))
        return slug

    def clean_columns(self) -> list[str]:
        chosen = set(self.cleaned_data.get("columns") or [])
        # Kept in the fixed order of the column list, whatever order the browser sent.
        return [key for key, _label in COLUMN_CHOICES if key in chosen]


@admin.register(Overview)
class OverviewAdmin(TenantScoped, admin.ModelAdmin):
    form = OverviewForm
    list_display = ("name_de", "name_en", "slug", "position", "active")
    list_editable = ("position", "active")
    list_filter = ("active",)
    search_fields = ("name_de", "name_en", "slug")
    ordering = ("position", "name_de")
    filter_horizontal = (
        "departments",
        "services",
        "states",
        "priorities",
        "tags",
        "visible_departments",
    )
    fieldsets = (
        (None, {"fields": ("name_de", "name_en", "slug", "position", "active")}),
        (
            _("Which cases"),
            {
                "fields": (
                    "departments",
                    "services",
                    "states",
                    "priorities",
                    "owner",
                    "owner_person",
                    "tags",
                    "older_than_days",
                )
            },
        ),
        (_("How they are shown"), {"fields": ("columns", "order")}),
        (_("Who sees the overview"), {"fields": ("visible_roles", "visible_departments")}),
    )

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        form.tenant_id = request.user.tenant_id  # type: ignore[attr-defined,union-attr]
        return form

    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        # Departments, services and tags of the admin's own tenant only (states and
        # priorities are global configuration).
        related = db_field.remote_field.model
        if any(f.name == "tenant" for f in related._meta.get_fields()):
            kwargs["queryset"] = related._default_manager.filter(
                tenant_id=request.user.tenant_id  # type: ignore[union-attr]
            )
        return super().formfield_for_manytomany(db_field, request, **kwargs)
