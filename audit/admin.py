"""Support's read-only pages for audit entries, executions and events."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from audit.activity.models import Event, Execution
from audit.trail.models import AuditEntry
from customers.admin.mixins import AdminBase, EstimatedCountPaginator, TenantAdminMixin


class ReadOnlyAdminMixin(AdminBase):
    """Records that support reads but never writes from the admin."""

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(AuditEntry)
class AuditEntryAdmin(TenantAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only: support reads the trail, nobody edits it."""

    list_display = [
        "created_at",
        "organization",
        "actor_label",
        "action",
        "resource_type",
        "resource_label",
        "outcome",
    ]
    list_filter = ["outcome", "actor_type", "action"]
    search_fields = ["action", "actor_label", "resource_id", "resource_label", "request_id"]
    list_select_related = ["organization"]
    date_hierarchy = None
    show_full_result_count = False
    paginator = EstimatedCountPaginator

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Execution)
class ExecutionAdmin(TenantAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["started_at", "workflow", "customer", "triggered_by", "status", "duration_ms"]
    list_filter = ["status", "triggered_by"]
    search_fields = ["customer__name", "workflow__name", "=id"]
    list_select_related = ["workflow", "customer"]
    show_full_result_count = False
    paginator = EstimatedCountPaginator


@admin.register(Event)
class EventAdmin(TenantAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["occurred_at", "name", "type", "direction", "customer", "status"]
    list_filter = ["type", "direction"]
    search_fields = ["customer__name", "name", "=id"]
    list_select_related = ["customer"]
    show_full_result_count = False
    paginator = EstimatedCountPaginator
