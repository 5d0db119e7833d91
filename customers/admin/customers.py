"""Support's pages for customers, their users, invitations and connections, through the services."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import path

from billing.selectors import plan_names_everywhere, plans_of
from customers.admin.lifecycle import STEPS, bulk_action, change_page_step
from customers.admin.mixins import (
    AuditedAdminMixin,
    EstimatedCountPaginator,
    ParentScopedInlineFormSet,
    TenantAdminMixin,
)
from customers.models import Connection, Customer, CustomerUser, Invitation
from customers.services import (
    EDITABLE_FIELDS,
    LIFECYCLE,
    SERVICE_ERRORS,
    connection_revoke,
    customer_update,
    invite_resend,
    invite_revoke,
)


class PlanNameFilter(admin.SimpleListFilter):
    """Django's related-field filters read the plan table through its scoped manager (and fail
    closed); support filters by plan name across every organization."""

    title = "plan"
    parameter_name = "plan_name"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        names = plan_names_everywhere()
        return [(name, name) for name in names]

    def queryset(self, request: HttpRequest, queryset: Any) -> Any:
        return queryset.filter(plan__name=self.value()) if self.value() else queryset


class CustomerUserInline(admin.StackedInline):
    model = CustomerUser
    formset = ParentScopedInlineFormSet
    extra = 0
    fields = ["user", "role", "locked", "two_factor_enabled", "created_at"]
    readonly_fields = ["user", "created_at"]
    can_delete = False
    show_change_link = True

    def get_queryset(self, request: HttpRequest) -> models.QuerySet:
        return CustomerUser.objects.unscoped().select_related("user")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyInline(admin.StackedInline):
    """A customer's rows shown on its page for support to read; changes go through the
    rows' own actions (resend, revoke), which call the services."""

    formset = ParentScopedInlineFormSet
    extra = 0
    can_delete = False
    show_change_link = True

    def get_queryset(self, request: HttpRequest) -> models.QuerySet:
        return self.model.objects.unscoped()

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class InvitationInline(ReadOnlyInline):
    # token_hash is never shown.
    model = Invitation
    fields = ["email", "role", "is_admin_invite", "status", "sent_at", "expires_at"]
    readonly_fields = fields


class ConnectionInline(ReadOnlyInline):
    model = Connection
    fields = ["app", "account_label", "status", "connected_at", "last_used_at"]
    readonly_fields = fields


@admin.register(Customer)
class CustomerAdmin(TenantAdminMixin, admin.ModelAdmin):
    list_display = ["name", "slug", "organization", "status", "admin_email", "plan", "created_at"]
    list_filter = ["status", PlanNameFilter, "force_2fa", "force_sso"]
    search_fields = ["name", "slug", "external_id", "admin_email", "=id"]
    list_select_related = ["organization", "plan"]
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    readonly_fields = [
        "id",
        "organization",
        "status",
        "status_before_delete",
        *Customer.ENTITLEMENT_FIELDS,
        "created_at",
        "updated_at",
        "deleted_at",
        "version",
        "admin_email",
        "owner",
        "admin_invitation",
    ]
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "id",
                    "organization",
                    "name",
                    "slug",
                    "external_id",
                    "plan",
                    "status",
                    "status_before_delete",
                )
            },
        ),
        ("Customer admin", {"fields": ("admin_email", "owner", "admin_invitation")}),
        (
            "Contacts",
            {
                "fields": (
                    "billing_contact",
                    "legal_contact",
                    "security_contact",
                    "technical_contact",
                    "phone_number",
                    "postal_address",
                )
            },
        ),
        ("Billing", {"fields": ("billing_network_type", "billing_ref")}),
        ("Security", {"fields": ("force_2fa", "force_sso", "ip_whitelist")}),
        (
            "Features",
            {
                "fields": (
                    "has_account_panel",
                    "has_improved_events",
                    "has_openstack_logging",
                    "has_pci",
                )
            },
        ),
        ("Entitlements (from the plan)", {"fields": Customer.ENTITLEMENT_FIELDS}),
        ("Dates", {"fields": ("created_at", "updated_at", "deleted_at", "version")}),
    )
    inlines = [CustomerUserInline, InvitationInline, ConnectionInline]
    actions = [bulk_action(step) for step in STEPS]  # each asks first, with counts

    def get_urls(self) -> list[Any]:
        step = path(
            "<uuid:object_id>/lifecycle/<str:step>/",
            self.admin_site.admin_view(self.lifecycle_view),
            name="customers_customer_lifecycle",
        )
        return [step, *super().get_urls()]

    def lifecycle_view(self, request: HttpRequest, object_id: Any, step: str) -> HttpResponse:
        customer = self.get_object(request, str(object_id))
        if customer is None or step not in STEPS:
            raise Http404("No such customer or step.")
        if not self.has_change_permission(request, customer):
            raise PermissionDenied
        return change_page_step(self, request, customer, step)

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        # The lifecycle buttons the customer's status allows, beside History.
        customer = self.get_object(request, object_id)
        status = getattr(customer, "status", None)
        steps = [(step, STEPS[step][1]) for step in STEPS if status in LIFECYCLE[step]]
        extra = {**(extra_context or {}), "lifecycle_steps": steps}
        return super().change_view(request, object_id, form_url, extra_context=extra)

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        # A hard delete would skip the retention window: customers are deleted softly.
        actions.pop("delete_selected", None)
        return actions

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Customers are created by their organization, where the invitation flow runs.
        return False

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        # Choices come from the customer's own organization and users, never every tenant's.
        customer_id = request.resolver_match.kwargs.get("object_id")
        customer = Customer.objects.unscoped().filter(pk=customer_id).first()
        if customer is not None and db_field.name == "plan":
            kwargs["queryset"] = plans_of(customer.organization_id)
        elif customer is not None and db_field.related_model is CustomerUser:
            kwargs["queryset"] = CustomerUser.objects.for_customer(customer).select_related("user")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request: HttpRequest, obj: Customer, form: Any, change: bool) -> None:
        # The same rule as the console: one service, version bump, audit entry, validation.
        fields = [f for f in form.changed_data if f in EDITABLE_FIELDS]
        current = Customer.objects.unscoped().get(pk=obj.pk)
        customer_update(
            customer=current,
            actor=request.user,
            expected_version=None,
            changes={field: form.cleaned_data[field] for field in fields},
        )


@admin.register(CustomerUser)
class CustomerUserAdmin(TenantAdminMixin, AuditedAdminMixin, admin.ModelAdmin):
    list_display = ["user", "customer", "role", "locked", "two_factor_enabled", "created_at"]
    list_filter = ["role", "locked", "two_factor_enabled"]
    search_fields = ["user__email", "customer__name", "customer__slug"]
    list_select_related = ["user", "customer"]
    raw_id_fields = ["user", "customer"]
    readonly_fields = ["organization", "customer", "user", "created_at", "updated_at"]
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(Invitation)
class InvitationAdmin(TenantAdminMixin, AuditedAdminMixin, admin.ModelAdmin):
    # token_hash is never shown: support can resend or revoke, never read a link.
    list_display = [
        "email",
        "customer",
        "role",
        "status",
        "is_admin_invite",
        "sent_at",
        "expires_at",
        "accepted_at",
    ]
    list_filter = ["status", "role", "is_admin_invite"]
    search_fields = ["email", "customer__name", "customer__slug"]
    list_select_related = ["customer"]
    fields = [
        "organization",
        "customer",
        "email",
        "role",
        "is_admin_invite",
        "status",
        "invited_by",
        "created_at",
        "sent_at",
        "send_count",
        "expires_at",
        "accepted_at",
        "revoked_at",
    ]
    readonly_fields = fields
    show_full_result_count = False
    actions = ["resend", "revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def _run(self, request: HttpRequest, queryset: Any, service: Callable[..., Any]) -> None:
        for invitation in queryset.select_related("customer"):
            try:
                service(invitation=invitation, actor=request.user)
            except SERVICE_ERRORS as error:
                self.message_user(request, f"{invitation.email}: {error}", messages.WARNING)
            else:
                self.message_user(request, f"{invitation.email}: done.", messages.SUCCESS)

    @admin.action(description="Resend (new link, new expiry)", permissions=["change"])
    def resend(self, request: HttpRequest, queryset: Any) -> None:
        self._run(request, queryset, invite_resend)

    @admin.action(description="Revoke", permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: Any) -> None:
        self._run(request, queryset, invite_revoke)


@admin.register(Connection)
class ConnectionAdmin(TenantAdminMixin, admin.ModelAdmin):
    list_display = ["app", "account_label", "customer", "status", "connected_at", "last_used_at"]
    list_filter = ["status", "app"]
    search_fields = ["app", "account_label", "customer__name", "customer__slug"]
    list_select_related = ["customer"]
    fields = [
        "organization",
        "customer",
        "app",
        "account_label",
        "status",
        "scopes",
        "credential_ref",
        "connected_by",
        "connected_at",
        "last_used_at",
        "revoked_at",
    ]
    readonly_fields = fields
    show_full_result_count = False
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description="Revoke", permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: Any) -> None:
        for connection in queryset.select_related("customer"):
            try:
                connection_revoke(connection=connection, actor=request.user)
            except SERVICE_ERRORS as error:
                self.message_user(request, f"{connection}: {error}", messages.WARNING)
