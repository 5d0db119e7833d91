from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from audit.models import AuditEntry
from customers.admin import TenantAdminMixin


@admin.register(AuditEntry)
class AuditEntryAdmin(TenantAdminMixin, admin.ModelAdmin):
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

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
