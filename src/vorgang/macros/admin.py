"""Text modules and macros in the configuration admin: admins only, each tenant its own.

The department choices are the tenant's own, and a macro's actions are checked
against ``schema`` for the admin's tenant before they are saved.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from vorgang.accounts.models import Department
from vorgang.core.admin import TenantScoped

from . import schema
from .models import Macro, TextModule


class _DepartmentsOfTenant(TenantScoped):
    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "departments":
            kwargs["queryset"] = Department.objects.filter(
                tenant_id=request.user.tenant_id  # type: ignore[union-attr]
            )
        return super().formfield_for_manytomany(db_field, request, **kwargs)  # type: ignore[misc]


@admin.register(TextModule)
class TextModuleAdmin(_DepartmentsOfTenant, admin.ModelAdmin[TextModule]):
    list_display = ("name", "keywords", "active")
    list_filter = ("active",)
    search_fields = ("name", "keywords", "body_de", "body_en")
    filter_horizontal = ("departments",)


class MacroForm(forms.ModelForm[Macro]):
    tenant_id: int | None = None  # set by the admin for the signed-in admin's tenant

    class Meta:
        model = Macro
        fields = ("name", "actions", "departments", "active")
        widgets = {"actions": forms.Textarea(attrs={"rows": 8, "cols": 70})}

    def clean_actions(self) -> Any:
        actions = self.cleaned_data.get("actions")
        errors = schema.validate(actions, self.tenant_id or 0)
        if errors:
            raise forms.ValidationError(errors)
        return actions


@admin.register(Macro)
class MacroAdmin(_DepartmentsOfTenant, admin.ModelAdmin[Macro]):
    form = MacroForm
    list_display = ("name", "summary", "active")
    list_filter = ("active",)
    search_fields = ("name",)
    filter_horizontal = ("departments",)

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        form.tenant_id = request.user.tenant_id  # type: ignore[attr-defined,union-attr]
        return form

    @admin.display(description="actions")
    def summary(self, obj: Macro) -> str:
        return json.dumps(obj.actions, ensure_ascii=False)[:120]
