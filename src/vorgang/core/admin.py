"""Shared pieces for the configuration admin (Django admin).

Only users with the admin role reach it, and each sees only their own tenant's
objects: the wall between tenants holds in the admin too.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest


def _is_admin(request: HttpRequest) -> bool:
    user = request.user
    return bool(user.is_authenticated and user.is_active and getattr(user, "is_admin", False))


class AdminOnly:
    """Grants the admin role every permission on a configuration model."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return _is_admin(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _is_admin(request)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return _is_admin(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _is_admin(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _is_admin(request)


class TenantScoped(AdminOnly):
    """For models with a ``tenant`` field: list, edit and create within one's own tenant."""

    tenant_path = "tenant"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        qs: QuerySet[Any] = super().get_queryset(request)  # type: ignore[misc]
        return qs.filter(**{self.tenant_path: request.user.tenant_id})  # type: ignore[union-attr]

    def get_exclude(self, request: HttpRequest, obj: Any = None) -> list[str]:
        base = list(super().get_exclude(request, obj) or [])  # type: ignore[misc]
        return [*base, "tenant"] if self.tenant_path == "tenant" else base

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if self.tenant_path == "tenant" and not change:
            obj.tenant_id = request.user.tenant_id  # type: ignore[union-attr]
        super().save_model(request, obj, form, change)  # type: ignore[misc]

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        # Choices in related fields are limited to the tenant too.
        related = db_field.remote_field.model
        if any(f.name == "tenant" for f in related._meta.get_fields()):
            kwargs["queryset"] = related._default_manager.filter(
                tenant_id=request.user.tenant_id  # type: ignore[union-attr]
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)  # type: ignore[misc]
