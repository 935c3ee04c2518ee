"""Case attributes in the configuration admin: each tenant's own, checked on save.

Options are edited as lines ``value = label`` (order kept); the default as text read
according to the type. Name and type are fixed once the attribute exists, and an
attribute that cases hold values for cannot be deleted (deactivate it instead).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from vorgang.core.admin import TenantScoped

from .models import CHOICE_TYPES, CaseAttribute, DataType


class OptionsField(forms.Field):
    """Options as one ``value = label`` line each; a line without ``=`` is its own label."""

    widget = forms.Textarea(attrs={"rows": 8, "cols": 60})

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, list):
            return "\n".join(
                f"{item[0]} = {item[1]}" if item[0] != item[1] else str(item[0])
                for item in value
                if isinstance(item, list | tuple) and len(item) == 2
            )
        return value

    def to_python(self, value: Any) -> list[list[str]]:
        text = value if isinstance(value, str) else ""
        options: list[list[str]] = []
        for line in text.splitlines():
            if not line.strip():
                continue
            key, sep, label = line.partition("=")
            key = key.strip()
            options.append([key, label.strip() if sep and label.strip() else key])
        return options


class CaseAttributeForm(forms.ModelForm):
    tenant_id: int | None = None  # set by the admin for the signed-in admin's tenant

    options = OptionsField(
        label=_("options"),
        required=False,
        help_text=_(
            "Single and multiple choice only: one option per line as “value = label”, "
            "e.g. “ausweis = Personalausweis”. The value is what the API sends; it must "
            "not contain = or a comma."
        ),
    )
    default = forms.CharField(
        label=_("default value"),
        required=False,
        help_text=_(
            "Used when a case is created without a value. Yes/no: true or false; "
            "multiple choice: values separated by commas; dates have no default."
        ),
    )

    class Meta:
        model = CaseAttribute
        fields = [
            "name",
            "label_de",
            "label_en",
            "data_type",
            "options",
            "required",
            "default",
            "max_length",
            "min_value",
            "max_value",
            "active",
            "position",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None and "default" in self.fields:
            self.initial["default"] = _default_as_text(self.instance.default)

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean() or {}
        # The tenant is not a form field; the model's checks (name unique per tenant) need it.
        if self.instance.tenant_id is None and self.tenant_id is not None:
            self.instance.tenant_id = self.tenant_id
        data_type = cleaned.get("data_type") or self.instance.data_type
        cleaned["default"] = _default_from_text(data_type, cleaned.get("default") or "")
        if data_type not in CHOICE_TYPES and not cleaned.get("options"):
            cleaned["options"] = []
        return cleaned


def _default_as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def _default_from_text(data_type: str, text: str) -> Any:
    """The default typed for the attribute; wrong text is left for the model's check."""
    text = text.strip()
    if not text:
        return None
    if data_type == DataType.MULTISELECT:
        return [part.strip() for part in text.split(",") if part.strip()]
    if data_type == DataType.BOOLEAN:
        return {"true": True, "false": False}.get(text.lower(), text)
    if data_type == DataType.INTEGER:
        try:
            return int(text)
        except ValueError:
            return text
    return text


@admin.register(CaseAttribute)
class CaseAttributeAdmin(TenantScoped, admin.ModelAdmin):
    form = CaseAttributeForm
    list_display = ("name", "label_de", "label_en", "data_type", "required", "active", "position")
    list_filter = ("active", "data_type")
    search_fields = ("name", "label_de", "label_en")
    ordering = ("position", "name")

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        form.tenant_id = request.user.tenant_id  # type: ignore[attr-defined,union-attr]
        return form

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        # Values are stored under the name and were checked against the type.
        if obj is not None:
            return ("name", "data_type", "created_at", "updated_at")
        return ()

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and obj.in_use():
            return False  # cases hold values for it: deactivate it instead
        return super().has_delete_permission(request, obj)

    def get_actions(self, request: HttpRequest) -> Any:
        # The bulk delete would skip the in-use check of has_delete_permission(obj).
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions
