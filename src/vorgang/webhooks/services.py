"""Writing webhooks (for the API; the admin uses its model form with the same validators).

Every lookup is scoped to the admin's tenant: departments and online services of
another tenant are "unknown", as are its webhooks and deliveries.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from vorgang.accounts.models import Department, User
from vorgang.catalogue.models import OnlineService
from vorgang.core.errors import InvalidInput, NotFound, PermissionDenied

from .models import (
    Webhook,
    WebhookDelivery,
    new_secret,
    validate_events,
    validate_secret,
    validate_webhook_url,
)


def require_admin(user: User) -> None:
    if not user.is_active or not user.is_admin:
        raise PermissionDenied(_("Only administrators manage webhooks."))


def webhooks(user: User) -> QuerySet[Webhook]:
    require_admin(user)
    return Webhook.objects.filter(tenant_id=user.tenant_id).prefetch_related(
        "departments", "services"
    )


def get_webhook(user: User, pk: int) -> Webhook:
    found = webhooks(user).filter(pk=pk).first()
    if found is None:
        raise NotFound(_("There is no webhook %(id)s.") % {"id": pk})
    return found


def deliveries(user: User) -> QuerySet[WebhookDelivery]:
    require_admin(user)
    return WebhookDelivery.objects.filter(webhook__tenant_id=user.tenant_id)


def get_delivery(user: User, pk: int) -> WebhookDelivery:
    found = deliveries(user).select_related("webhook").filter(pk=pk).first()
    if found is None:
        raise NotFound(_("There is no webhook delivery %(id)s.") % {"id": pk})
    return found


@dataclass
class WebhookInput:
    """Fields to set; ``None`` leaves a field as it is (on update)."""

    name: str | None = None
    url: str | None = None
    secret: str | None = None
    events: list[str] | None = None
    departments: Sequence[int | str] | None = None
    services: Sequence[int | str] | None = None
    active: bool | None = None


def create_webhook(user: User, data: WebhookInput) -> tuple[Webhook, str]:
    """The new webhook and its secret (generated unless given), shown to the caller once."""
    require_admin(user)
    missing = [f for f in ("name", "url", "events") if getattr(data, f) is None]
    if missing:
        raise InvalidInput(_("Missing fields: %(fields)s.") % {"fields": ", ".join(missing)})
    webhook = Webhook(tenant_id=user.tenant_id, secret=data.secret or new_secret())
    _apply(user, webhook, data)
    return webhook, webhook.secret


def update_webhook(user: User, webhook: Webhook, data: WebhookInput) -> Webhook:
    require_admin(user)
    if webhook.tenant_id != user.tenant_id:
        raise NotFound(_("There is no webhook %(id)s.") % {"id": webhook.pk})
    if data.secret is not None:
        webhook.secret = data.secret
    _apply(user, webhook, data)
    return webhook


def delete_webhook(user: User, webhook: Webhook) -> None:
    require_admin(user)
    if webhook.tenant_id != user.tenant_id:
        raise NotFound(_("There is no webhook %(id)s.") % {"id": webhook.pk})
    webhook.delete()


def _apply(user: User, webhook: Webhook, data: WebhookInput) -> None:
    if data.name is not None:
        name = data.name.strip()
        if not name or len(name) > 200:
            raise InvalidInput(_("The name must have 1 to 200 characters."))
        webhook.name = name
    if data.url is not None:
        webhook.url = data.url.strip()
        _check(validate_webhook_url, webhook.url, "url")
        if len(webhook.url) > 2000:
            raise InvalidInput(_("url: the URL is too long."))
    if data.events is not None:
        _check(validate_events, list(data.events), "events")
        webhook.events = list(dict.fromkeys(data.events))  # without repeats, in order
    _check(validate_secret, webhook.secret, "secret")
    if data.active is not None:
        webhook.active = data.active
    departments = _departments(user, data.departments) if data.departments is not None else None
    services = _services(user, data.services) if data.services is not None else None
    with transaction.atomic():
        webhook.save()
        if departments is not None:
            webhook.departments.set(departments)
        if services is not None:
            webhook.services.set(services)


def _check(validator: Any, value: Any, field: str) -> None:
    try:
        validator(value)
    except ValidationError as exc:
        raise InvalidInput(f"{field}: {' '.join(exc.messages)}") from None


def _departments(user: User, refs: Sequence[int | str]) -> list[Department]:
    """Departments by id or by name, within the tenant; an unknown one is a 422."""
    found = []
    base = Department.objects.filter(tenant_id=user.tenant_id)
    for ref in refs:
        department = (
            base.filter(pk=ref).first() if isinstance(ref, int) else base.filter(name=ref).first()
        )
        if department is None:
            raise InvalidInput(_("Unknown department %(ref)s.") % {"ref": repr(ref)})
        found.append(department)
    return found


def _services(user: User, refs: Sequence[int | str]) -> list[OnlineService]:
    """Online services by id or by short name (slug), within the tenant."""
    found = []
    base = OnlineService.objects.filter(tenant_id=user.tenant_id)
    for ref in refs:
        service = (
            base.filter(pk=ref).first() if isinstance(ref, int) else base.filter(slug=ref).first()
        )
        if service is None:
            raise InvalidInput(_("Unknown online service %(ref)s.") % {"ref": repr(ref)})
        found.append(service)
    return found
