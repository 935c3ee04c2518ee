"""Online services in the configuration admin: each tenant's own, checked on save."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from vorgang.core.admin import TenantScoped

from .models import OnlineService
from .processing import expected_days


class PrettyJSONField(forms.JSONField):
    """JSON edited as indented text, keys sorted as in the export files, umlauts as they are.

    (PostgreSQL does not keep the key order of JSON values; sorted keys look the same on
    every database. The form's field order is ``ui.order``, a list.)"""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("widget", forms.Textarea(attrs={"rows": 16, "cols": 100}))
        super().__init__(**kwargs)

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, forms.fields.InvalidJSONInput):
            return value
        return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True)


class OnlineServiceForm(forms.ModelForm):
    tenant_id: int | None = None  # set by the admin for the signed-in admin's tenant

    schema = PrettyJSONField(
        label=_("data schema (JSON Schema)"),
        help_text=_("JSON Schema, draft 2020-12: an object with properties."),
    )
    ui = PrettyJSONField(
        label=_("form layout"),
        required=False,
        help_text=_(
            'Field order, labels and help texts in German and English, widgets: {"order": '
            '[...], "fields": {"name": {"label_de": ..., "label_en": ..., "widget": ...}}, '
            '"citizen": {"email": ...}}'
        ),
    )
    documents = PrettyJSONField(
        label=_("documents"),
        required=False,
        help_text=_(
            'A list of {"key", "name_de", "name_en", "description_de", "description_en", '
            '"accept", "max_bytes", "required", "may_need_translation"}.'
        ),
    )

    class Meta:
        model = OnlineService
        fields = [
            "slug",
            "name_de",
            "name_en",
            "description_de",
            "description_en",
            "leika",
            "department",
            "active",
            "processing_time",
            "processing_days",
            "confirmation_de",
            "confirmation_en",
            "schema",
            "ui",
            "documents",
        ]

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean() or {}
        # The tenant is not a form field; the model's checks (slug unique per tenant,
        # department of the tenant) need it before the instance is validated.
        if self.instance.tenant_id is None and self.tenant_id is not None:
            self.instance.tenant_id = self.tenant_id
        for name, empty in (("ui", {}), ("documents", [])):
            if cleaned.get(name) is None:
                cleaned[name] = empty
        return cleaned


@admin.register(OnlineService)
class OnlineServiceAdmin(TenantScoped, admin.ModelAdmin):
    form = OnlineServiceForm
    list_display = ("name_de", "slug", "department", "active", "processing")
    list_filter = ("active", "department")
    search_fields = ("name_de", "name_en", "slug", "leika")
    ordering = ("name_de",)

    @admin.display(description=_("expected processing time"))
    def processing(self, obj: OnlineService) -> str:
        days = expected_days(obj)
        return "—" if days is None else str(days)

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        form.tenant_id = request.user.tenant_id  # type: ignore[attr-defined,union-attr]
        return form
