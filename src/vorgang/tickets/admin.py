"""Admin for the case configuration (states, priorities); cases themselves are not here."""

from django.contrib import admin

from vorgang.core.admin import AdminOnly

from .models import Priority, State


@admin.register(State)
class StateAdmin(AdminOnly, admin.ModelAdmin):
    list_display = ["name", "kind", "next_state", "active"]


@admin.register(Priority)
class PriorityAdmin(AdminOnly, admin.ModelAdmin):
    list_display = ["name", "level", "is_default"]
