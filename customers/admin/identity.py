"""Support's pages for people and organizations: users, organizations, memberships, API keys,
verified domains."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db import transaction
from django.http import HttpRequest, HttpResponse

from audit.trail.actions import Action
from audit.trail.services import SECRET_SET, record
from customers.admin.mixins import AuditedAdminMixin, TenantAdminMixin
from customers.models import ApiToken, Membership, Organization, User, VerifiedDomain
from customers.services import SERVICE_ERRORS, api_token_revoke


@admin.register(User)
class UserAdmin(AuditedAdminMixin, DjangoUserAdmin):
    ordering = ["email"]
    list_display = ["email", "name", "is_staff", "is_active", "date_joined", "last_login"]
    list_filter = ["is_staff", "is_superuser", "is_active"]
    search_fields = ["email", "name"]
    readonly_fields = ["date_joined", "last_login"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Profile", {"fields": ("name",)}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)

    def user_change_password(
        self, request: HttpRequest, id: str, form_url: str = ""
    ) -> HttpResponse:
        # Audited in the same transaction as the new hash; the entry says "password set" only.
        with transaction.atomic():
            response = super().user_change_password(request, id, form_url)
            saved = (
                request.method == "POST"
                and response.status_code == 302
                and response["Location"] != request.get_full_path()
            )
            if saved:
                user = User.objects.get(pk=id)
                record(
                    action=Action.USER_PASSWORD_SET_BY_SUPPORT,
                    organization=user.home_organization(),
                    actor=request.user,
                    resource=user,
                    changes={"password": [None, SECRET_SET]},
                )
        return response


# A person's own email preference is theirs to change (Overview → Alerts), not support's.
PERSONAL = ["usage_alert_emails"]


class MembershipInline(admin.StackedInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]
    exclude = PERSONAL


@admin.register(Organization)
class OrganizationAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ["name", "slug", "created_at"]
    search_fields = ["name", "slug", "id"]
    readonly_fields = ["id", "created_at"]
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ["user", "organization", "role", "created_at"]
    list_filter = ["role"]
    search_fields = ["user__email", "organization__name"]
    list_select_related = ["user", "organization"]
    autocomplete_fields = ["user", "organization"]
    exclude = PERSONAL


@admin.register(ApiToken)
class ApiTokenAdmin(TenantAdminMixin, AuditedAdminMixin, admin.ModelAdmin):
    # token_hash is never shown: support can see that a key exists and revoke it, nothing more.
    list_display = ["name", "prefix", "organization", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["revoked_at"]
    search_fields = ["name", "prefix", "organization__name"]
    list_select_related = ["organization"]
    fields = [
        "name",
        "prefix",
        "organization",
        "created_by",
        "created_at",
        "last_used_at",
        "revoked_at",
    ]
    readonly_fields = fields
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Revoke", permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: Any) -> None:
        for token in queryset:
            try:
                api_token_revoke(token=token, actor=request.user)
            except SERVICE_ERRORS as error:
                self.message_user(request, f"{token}: {error}", messages.WARNING)


@admin.register(VerifiedDomain)
class VerifiedDomainAdmin(TenantAdminMixin, admin.ModelAdmin):
    """Read-only for support: a domain is proven by its DNS record, never set by hand."""

    list_display = ["domain", "customer", "status", "created_at", "verified_at", "last_checked_at"]
    list_filter = ["status"]
    search_fields = ["domain", "customer__name", "customer__slug"]
    list_select_related = ["customer"]
    fields = [
        "organization",
        "customer",
        "domain",
        "status",
        "token",
        "created_at",
        "created_by",
        "verified_at",
        "last_checked_at",
        "last_result",
    ]
    readonly_fields = fields
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
