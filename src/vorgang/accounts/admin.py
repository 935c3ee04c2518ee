from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from vorgang.core.admin import TenantScoped

from .models import ApiToken, Department, DepartmentAccess, Organisation, User


class DepartmentAccessInline(TenantScoped, admin.TabularInline):
    model = DepartmentAccess
    tenant_path = "department__tenant"
    extra = 0


@admin.register(Department)
class DepartmentAdmin(TenantScoped, admin.ModelAdmin):
    list_display = ["name", "email_address", "follow_up_policy", "active"]
    search_fields = ["name", "email_address"]
    inlines = [DepartmentAccessInline]


@admin.register(Organisation)
class OrganisationAdmin(TenantScoped, admin.ModelAdmin):
    list_display = ["name"]
    search_fields = ["name"]


@admin.register(User)
class UserAdmin(TenantScoped, BaseUserAdmin):
    list_display = ["username", "email", "first_name", "last_name", "role", "is_active"]
    list_filter = ["role", "is_active"]
    search_fields = ["username", "email", "first_name", "last_name"]
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (_("Person"), {"fields": ("first_name", "last_name", "email", "phone", "address")}),
        (_("Role"), {"fields": ("role", "is_active", "language", "organisation")}),
        (_("Citizen"), {"fields": ("external_id", "trust_level")}),
    )
    add_fieldsets = ((None, {"fields": ("username", "email", "role", "password1", "password2")}),)
    inlines = [DepartmentAccessInline]


@admin.register(ApiToken)
class ApiTokenAdmin(TenantScoped, admin.ModelAdmin):
    tenant_path = "user__tenant"
    list_display = ["user", "name", "created_at", "expires_at", "last_used_at", "revoked_at"]
    fields = ["name", "expires_at", "revoked_at"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # tokens are issued by `vorgang api-token` or the user's settings
