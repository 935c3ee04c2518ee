"""Admin for webhooks and their delivery log, within the admin's own tenant.

The secret is shown once, right after it was set, and masked afterwards. The
delivery log is read only and never shows the payload: it holds case content,
which the admin role does not see by itself (see docs/architecture.md).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from vorgang.core.admin import TenantScoped
from vorgang.core.errors import ServiceError

from . import dispatch
from .models import (
    Webhook,
    WebhookDelivery,
    WebhookEvent,
    new_secret,
    validate_secret,
)


class WebhookForm(forms.ModelForm):
    events = forms.MultipleChoiceField(
        label=_("events"),
        choices=WebhookEvent.choices,
        widget=forms.CheckboxSelectMultiple,
    )
    secret = forms.CharField(
        label=_("secret"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_(
            "Used to sign every delivery (HMAC-SHA256). Leave empty to keep the current "
            "secret, or, for a new webhook, to have one generated. It is shown once."
        ),
    )

    class Meta:
        model = Webhook
        fields = ["name", "url", "events", "secret", "departments", "services", "active"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.new_secret = ""  # set when this form sets a secret, to show it once

    def clean_secret(self) -> str:
        secret: str = self.cleaned_data.get("secret") or ""
        if not secret:
            if self.instance.pk:
                return self.instance.secret
            secret = new_secret()
        else:
            validate_secret(secret)
        self.new_secret = secret
        return secret


class WebhookTenantFilter(admin.SimpleListFilter):
    """Deliveries by webhook, offering only the admin's own tenant's webhooks."""

    title = _("webhook")
    parameter_name = "webhook"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        own = Webhook.objects.filter(tenant_id=request.user.tenant_id)  # type: ignore[union-attr]
        return [(str(w.pk), w.name) for w in own]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if value and value.isdigit():
            return queryset.filter(webhook_id=int(value))
        return queryset


@admin.register(Webhook)
class WebhookAdmin(TenantScoped, admin.ModelAdmin):
    form = WebhookForm
    list_display = ["name", "url", "event_list", "active", "deliveries_link", "created_at"]
    list_filter = ["active"]
    search_fields = ["name", "url"]
    readonly_fields = ["secret_hint", "created_at", "updated_at"]
    filter_horizontal = ["departments", "services"]
    actions = ["send_test_event"]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = ["name", "url", "events", "secret", "departments", "services", "active"]
        if obj is not None:
            fields[4:4] = ["secret_hint"]
            fields += ["created_at", "updated_at"]
        return fields

    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        # Filters offer only the tenant's own departments and online services.
        related = db_field.remote_field.model
        kwargs["queryset"] = related._default_manager.filter(
            tenant_id=request.user.tenant_id  # type: ignore[union-attr]
        )
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if form.new_secret:
            self.message_user(
                request,
                _("The secret of %(name)s is shown only now; store it in the receiver: %(secret)s")
                % {"name": obj.name, "secret": form.new_secret},
                messages.WARNING,
            )

    def get_deleted_objects(self, objs: Any, request: HttpRequest) -> Any:
        # The delivery log goes with its webhook; nobody deletes log rows one by one.
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        perms_needed.discard(str(WebhookDelivery._meta.verbose_name))
        return deleted, counts, perms_needed, protected

    @admin.display(description=_("secret"))
    def secret_hint(self, obj: Webhook) -> str:
        return obj.secret_hint

    @admin.display(description=_("events"))
    def event_list(self, obj: Webhook) -> str:
        return ", ".join(obj.events)

    @admin.display(description=_("deliveries"))
    def deliveries_link(self, obj: Webhook) -> str:
        url = reverse("admin:webhooks_webhookdelivery_changelist") + f"?webhook={obj.pk}"
        return format_html('<a href="{}">{}</a>', url, _("deliveries"))

    @admin.action(description=_("Send a test event to the selected webhooks"))
    def send_test_event(self, request: HttpRequest, queryset: QuerySet[Webhook]) -> None:
        sent = 0
        for webhook in queryset:
            try:
                dispatch.send_test(webhook)
            except ServiceError as exc:
                self.message_user(request, f"{webhook.name}: {exc.message}", messages.ERROR)
            else:
                sent += 1
        if sent:
            self.message_user(
                request,
                ngettext(
                    "%(count)d test event queued; its outcome appears in the deliveries.",
                    "%(count)d test events queued; their outcome appears in the deliveries.",
                    sent,
                )
                % {"count": sent},
                messages.SUCCESS,
            )


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(TenantScoped, admin.ModelAdmin):
    tenant_path = "webhook__tenant"
    list_display = [
        "created_at",
        "webhook",
        "event",
        "status",
        "attempts",
        "last_status_code",
        "response_time_ms",
        "error_summary",
        "next_attempt_at",
    ]
    list_display_links = ["created_at", "event"]
    list_filter = ["status", "event", WebhookTenantFilter]
    list_select_related = ["webhook"]
    search_fields = ["=delivery_id"]
    actions = ["resend"]
    # Everything but the payload, which holds case content.
    fields = readonly_fields = (
        "webhook",
        "delivery_id",
        "event",
        "status",
        "attempts",
        "last_status_code",
        "response_time_ms",
        "last_error",
        "next_attempt_at",
        "resent_from",
        "created_at",
        "updated_at",
    )

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False  # deliveries come from events, tests and re-sends

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # a log: what was attempted is not edited

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # goes with its webhook

    @admin.display(description=_("error"))
    def error_summary(self, obj: WebhookDelivery) -> str:
        line = obj.last_error.strip().split("\n", 1)[0]
        return line if len(line) <= 100 else line[:99] + "…"

    @admin.action(description=_("Re-send the selected deliveries"))
    def resend(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
        sent = 0
        for delivery in queryset.select_related("webhook"):
            try:
                dispatch.resend(delivery)
            except ServiceError as exc:
                self.message_user(request, f"{delivery.delivery_id}: {exc.message}", messages.ERROR)
            else:
                sent += 1
        if sent:
            self.message_user(
                request,
                ngettext(
                    "%(count)d delivery queued again as a new delivery.",
                    "%(count)d deliveries queued again as new deliveries.",
                    sent,
                )
                % {"count": sent},
                messages.SUCCESS,
            )
