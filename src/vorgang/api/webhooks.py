"""Webhooks in the API (Vorgang's own addition; admins only).

``GET/POST /webhooks``, ``GET/PUT/DELETE /webhooks/{id}``,
``GET /webhooks/{id}/deliveries`` and ``POST /webhook_deliveries/{id}/resend``.
The secret is returned once, in the answer to the POST that created it; later
answers carry only ``secret_hint``. Deliveries are listed without their payload
(it holds case content, which the admin role does not see by itself).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.http import HttpRequest
from ninja import Router, Schema, Status
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr
from pydantic import ValidationError as PydanticValidationError

from vorgang.accounts.models import User
from vorgang.core.errors import InvalidInput
from vorgang.webhooks import dispatch, services
from vorgang.webhooks.models import Webhook, WebhookDelivery

from .common import json_body, paginate, ts

router = Router(tags=["webhooks"])

Ref = StrictInt | StrictStr


class WebhookCreate(BaseModel):
    """The body of POST /webhooks."""

    model_config = ConfigDict(extra="forbid")

    name: StrictStr = Field(min_length=1, max_length=200)
    url: StrictStr = Field(description="http:// or https:// only")
    events: list[StrictStr] = Field(
        description="ticket.created, ticket.updated, ticket.state_changed, "
        "article.created, citizen.replied"
    )
    secret: StrictStr | None = Field(
        None, description="At least 16 characters; generated when left out."
    )
    department_ids: list[Ref] = Field(
        default_factory=list, description="Department (group) ids or names; empty: all."
    )
    service_ids: list[Ref] = Field(
        default_factory=list, description="Online service ids or short names; empty: all."
    )
    active: StrictBool = True


class WebhookUpdate(BaseModel):
    """The body of PUT /webhooks/{id}: only the fields given change."""

    model_config = ConfigDict(extra="forbid")

    name: StrictStr | None = Field(None, min_length=1, max_length=200)
    url: StrictStr | None = None
    events: list[StrictStr] | None = None
    secret: StrictStr | None = None
    department_ids: list[Ref] | None = None
    service_ids: list[Ref] | None = None
    active: StrictBool | None = None


class WebhookOut(Schema):
    id: int
    name: str
    url: str
    events: list[str]
    department_ids: list[int]
    service_ids: list[int]
    active: bool
    secret_hint: str
    secret: str | None = Field(None, description="Only in the answer to the creating POST.")
    created_at: str | None
    updated_at: str | None


class DeliveryOut(Schema):
    id: int
    delivery_id: UUID
    webhook_id: int
    event: str
    status: str
    attempts: int
    last_status_code: int | None
    response_time_ms: int | None
    last_error: str
    next_attempt_at: str | None
    resent_from_id: int | None
    created_at: str | None
    updated_at: str | None


class ErrorOut(Schema):
    error: str
    error_human: str


def _body_schema(model: type[BaseModel]) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": model.model_json_schema()}},
        }
    }


def _parse(request: HttpRequest, model: type[BaseModel]) -> Any:
    """Bad JSON, wrong types and unknown fields are a 422 that names the field."""
    data = json_body(request)
    try:
        return model.model_validate(data)
    except PydanticValidationError as exc:
        details = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in exc.errors()
        )
        raise InvalidInput(details) from None


def _user(request: HttpRequest) -> User:
    user: User = request.auth  # type: ignore[attr-defined]
    services.require_admin(user)
    return user


def webhook_out(webhook: Webhook, *, secret: str | None = None) -> dict[str, Any]:
    return {
        "id": webhook.pk,
        "name": webhook.name,
        "url": webhook.url,
        "events": list(webhook.events),
        "department_ids": sorted(d.pk for d in webhook.departments.all()),
        "service_ids": sorted(s.pk for s in webhook.services.all()),
        "active": webhook.active,
        "secret_hint": webhook.secret_hint,
        "secret": secret,
        "created_at": ts(webhook.created_at),
        "updated_at": ts(webhook.updated_at),
    }


def delivery_out(delivery: WebhookDelivery) -> dict[str, Any]:
    return {
        "id": delivery.pk,
        "delivery_id": delivery.delivery_id,
        "webhook_id": delivery.webhook_id,
        "event": delivery.event,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "last_status_code": delivery.last_status_code,
        "response_time_ms": delivery.response_time_ms,
        "last_error": delivery.last_error,
        "next_attempt_at": ts(delivery.next_attempt_at),
        "resent_from_id": delivery.resent_from_id,
        "created_at": ts(delivery.created_at),
        "updated_at": ts(delivery.updated_at),
    }


def _input(body: WebhookCreate | WebhookUpdate) -> services.WebhookInput:
    return services.WebhookInput(
        name=body.name,
        url=body.url,
        secret=body.secret,
        events=body.events,
        departments=body.department_ids,
        services=body.service_ids,
        active=body.active,
    )


ERRORS: dict[int, Any] = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut}


@router.get(
    "/webhooks",
    response={200: list[WebhookOut], **ERRORS},
    summary="The webhooks of the admin's tenant",
)
def list_webhooks(request: HttpRequest) -> Any:
    user = _user(request)
    return [webhook_out(w) for w in paginate(request, services.webhooks(user).order_by("pk"))]


@router.post(
    "/webhooks",
    response={201: WebhookOut, **ERRORS},
    openapi_extra=_body_schema(WebhookCreate),
    summary="Register a webhook; the answer holds its secret, shown only this once",
)
def create_webhook(request: HttpRequest) -> Any:
    user = _user(request)
    body: WebhookCreate = _parse(request, WebhookCreate)
    webhook, secret = services.create_webhook(user, _input(body))
    return Status(201, webhook_out(services.get_webhook(user, webhook.pk), secret=secret))


@router.get("/webhooks/{webhook_id}", response={200: WebhookOut, **ERRORS}, summary="A webhook")
def show_webhook(request: HttpRequest, webhook_id: int) -> Any:
    return webhook_out(services.get_webhook(_user(request), webhook_id))


@router.put(
    "/webhooks/{webhook_id}",
    response={200: WebhookOut, **ERRORS},
    openapi_extra=_body_schema(WebhookUpdate),
    summary="Change a webhook (only the fields given)",
)
def update_webhook(request: HttpRequest, webhook_id: int) -> Any:
    user = _user(request)
    webhook = services.get_webhook(user, webhook_id)
    body: WebhookUpdate = _parse(request, WebhookUpdate)
    services.update_webhook(user, webhook, _input(body))
    return webhook_out(services.get_webhook(user, webhook_id))


@router.delete(
    "/webhooks/{webhook_id}",
    response={200: dict[str, Any], **ERRORS},
    summary="Remove a webhook and its delivery log",
)
def delete_webhook(request: HttpRequest, webhook_id: int) -> Any:
    user = _user(request)
    services.delete_webhook(user, services.get_webhook(user, webhook_id))
    return {}


@router.get(
    "/webhooks/{webhook_id}/deliveries",
    response={200: list[DeliveryOut], **ERRORS},
    summary="A webhook's deliveries, newest first (without payloads)",
)
def list_deliveries(request: HttpRequest, webhook_id: int) -> Any:
    user = _user(request)
    webhook = services.get_webhook(user, webhook_id)
    found = services.deliveries(user).filter(webhook=webhook).order_by("-created_at", "-pk")
    return [delivery_out(d) for d in paginate(request, found)]


@router.post(
    "/webhook_deliveries/{delivery_id}/resend",
    response={201: DeliveryOut, **ERRORS},
    summary="Send a finished delivery again, as a new delivery with a new id",
)
def resend_delivery(request: HttpRequest, delivery_id: int) -> Any:
    user = _user(request)
    copy = dispatch.resend(services.get_delivery(user, delivery_id))
    return Status(201, delivery_out(copy))
