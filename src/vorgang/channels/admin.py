"""Admin for the channels: the inbound journal, IMAP mailboxes and postmaster rules.

Tenant walls: an admin sees the journal entries of their own tenant. Entries that
belong to no tenant (mail to no known department, "unroutable") may come from any
tenant's citizens, so only superusers see those, beside their own tenant's.
The journal is read-only here; the one action is "process again".
"""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from vorgang.core.admin import AdminOnly, TenantScoped

from . import journal
from .models import InboundMessage, Mailbox, PostmasterRule, RuleAction


@admin.register(InboundMessage)
class InboundMessageAdmin(AdminOnly, admin.ModelAdmin):
    list_display = [
        "pk",
        "status",
        "channel",
        "received_at",
        "department",
        "attempts",
        "error_summary",
    ]
    list_display_links = ["pk", "status"]
    list_filter = ["status", "channel"]
    list_select_related = ["department"]
    date_hierarchy = "received_at"
    actions = ["reprocess"]
    fields = readonly_fields = (
        "status",
        "channel",
        "received_at",
        "started_at",
        "processed_at",
        "attempts",
        "department",
        "recipient",
        "envelope_from",
        "message_id",
        "size",
        "source_ref",
        "ticket",
        "article",
        "error",
        "note",
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[InboundMessage]:
        queryset = super().get_queryset(request)
        user = request.user
        own = Q(tenant_id=user.tenant_id)  # type: ignore[union-attr]
        if user.is_superuser:
            own |= Q(tenant__isnull=True)
        return queryset.filter(own)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False  # entries come in by LMTP, IMAP, the pipe or a form

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # the journal records what arrived; it is not edited

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # kept until the retention rules remove it

    @admin.display(description=_("error"))
    def error_summary(self, obj: InboundMessage) -> str:
        line = obj.error.strip().split("\n", 1)[0]
        return line if len(line) <= 100 else line[:99] + "…"

    @admin.action(description=_("Process the selected messages again"))
    def reprocess(self, request: HttpRequest, queryset: QuerySet[InboundMessage]) -> None:
        ids = list(queryset.values_list("pk", flat=True))
        count = journal.retry(ids)
        skipped = len(ids) - count
        self.message_user(
            request,
            ngettext(
                "%(count)d message queued for processing again.",
                "%(count)d messages queued for processing again.",
                count,
            )
            % {"count": count},
            messages.SUCCESS,
        )
        if skipped:
            self.message_user(
                request,
                ngettext(
                    "%(count)d message was already processed and was left as it is.",
                    "%(count)d messages were already processed and were left as they are.",
                    skipped,
                )
                % {"count": skipped},
                messages.WARNING,
            )


class KeepPasswordInput(forms.PasswordInput):
    """A password field that shows nothing and keeps the stored value when left empty."""

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs={"autocomplete": "new-password", **(attrs or {})})


class MailboxForm(forms.ModelForm):
    password = forms.CharField(
        label=_("password"),
        required=False,
        strip=False,
        widget=KeepPasswordInput(),
        help_text=_("Leave empty to keep the stored password."),
    )

    class Meta:
        model = Mailbox
        fields = [
            "name",
            "host",
            "port",
            "security",
            "verify_certificate",
            "username",
            "password",
            "folder",
            "after_fetch",
            "move_to",
            "department",
            "poll_interval",
            "active",
        ]

    def clean_password(self) -> str:
        password: str = self.cleaned_data.get("password") or ""
        if password:
            return password
        if self.instance.pk:
            return self.instance.password
        raise forms.ValidationError(_("Enter the mailbox's password."), code="required")

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean() or {}
        if cleaned.get("after_fetch") == "move" and not cleaned.get("move_to"):
            self.add_error("move_to", _("Name the folder to move fetched messages to."))
        return cleaned


@admin.register(Mailbox)
class MailboxAdmin(TenantScoped, admin.ModelAdmin):
    form = MailboxForm
    list_display = [
        "name",
        "host",
        "folder",
        "department",
        "after_fetch",
        "active",
        "last_polled_at",
        "last_error_summary",
    ]
    list_filter = ["active"]
    search_fields = ["name", "host"]
    readonly_fields = ["last_polled_at", "last_error", "uidvalidity", "last_uid"]

    @admin.display(description=_("last error"))
    def last_error_summary(self, obj: Mailbox) -> str:
        return obj.last_error.strip().split("\n", 1)[0][:100]


class PostmasterRuleForm(forms.ModelForm):
    class Meta:
        model = PostmasterRule
        fields = [
            "name",
            "position",
            "active",
            "header",
            "match_type",
            "value",
            "action",
            "department",
            "priority",
            "tag",
            "stop",
        ]

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean() or {}
        if cleaned.get("match_type") == "regex" and cleaned.get("value"):
            try:
                re.compile(cleaned["value"])
            except re.error as exc:
                self.add_error("value", _("Not a valid regular expression: %s") % exc)
        needs: dict[str, tuple[str, Any]] = {
            RuleAction.SET_DEPARTMENT.value: ("department", _("Choose the department.")),
            RuleAction.SET_PRIORITY.value: ("priority", _("Choose the priority.")),
            RuleAction.ADD_TAG.value: ("tag", _("Enter the tag.")),
        }
        needed = needs.get(str(cleaned.get("action") or ""))
        if needed is not None and not cleaned.get(needed[0]):
            self.add_error(needed[0], needed[1])
        return cleaned


@admin.register(PostmasterRule)
class PostmasterRuleAdmin(TenantScoped, admin.ModelAdmin):
    form = PostmasterRuleForm
    list_display = ["name", "position", "header", "match_type", "value", "action", "active"]
    list_editable = ["position", "active"]
    list_filter = ["action", "active"]
    search_fields = ["name", "header", "value"]
