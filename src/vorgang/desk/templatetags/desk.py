"""Template helpers of the desk: ``{% load desk %}``."""

from __future__ import annotations

from typing import Any

from django import template

from vorgang.accounts.models import User

from .. import queries

register = template.Library()


@register.simple_tag
def local_outbox() -> bool:
    """Mail is kept on this machine (no relay configured): admins can read it in the desk."""
    from django.conf import settings

    return bool(settings.EMAIL_BACKEND == "django.core.mail.backends.filebased.EmailBackend")


@register.simple_tag
def tenant_name(user: Any) -> str:
    """The user's tenant, but only where several tenants share the install."""
    if isinstance(user, User) and user.is_authenticated and queries.several_tenants():
        return user.tenant.name
    return ""
