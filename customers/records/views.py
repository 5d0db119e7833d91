"""The customers console: list, create, detail, edit, and the Danger Zone actions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from audit import selectors as audit
from audit.selectors import events_per_day_series
from audit.trail.services import record_read
from billing.services import chart_bars, usage_rows
from customers.connections import services as connections_services
from customers.connections.models import Connection
from customers.connections.services import connections_revoke_all
from customers.identity.permissions import organization_required, write_access_required
from customers.identity.sso.models import WARN_BEFORE, SsoConnection
from customers.identity.sso.saml_metadata import expiry_words
from customers.people.actions import act_on_invitation, warn_if_undelivered
from customers.people.models import CustomerUser, Invitation
from customers.people.services.invitations import customer_admin_replace
from customers.platform.errors import ServiceError
from customers.platform.rendering import render_page
from customers.platform.requests import AuthedRequest
from customers.platform.responses import attempt, refusal_onto_form
from customers.records.editing import Edit, save_edit
from customers.records.filters import CustomerFilter
from customers.records.forms import (
    CustomerCreateForm,
    CustomerEditForm,
    DeleteCustomerForm,
    ReplaceAdminForm,
)
from customers.records.models import Customer
from customers.records.pagination import CustomerPaginator
from customers.records.services.lifecycle import (
    IMPACT_CAP,
    IMPACT_WINDOW,
    customer_delete,
    customer_reactivate,
    customer_restore,
    customer_suspend,
    impact_summary,
)
from customers.records.services.records import customer_create, customer_update

PAGE_SIZES = (10, 25, 50, 100)


def customer_for(request: AuthedRequest, customer_id: UUID) -> Customer:
    """The customer if it is in the current organization, else 404 (as if it did not exist)."""
    return get_object_or_404(
        Customer.objects.for_organization(request.organization).select_related(
            "organization",
            "plan",
            "owner__user",
            "admin_invitation",
            "billing_contact__user",
            "legal_contact__user",
            "security_contact__user",
            "technical_contact__user",
        ),
        pk=customer_id,
    )


def _page_size(request: AuthedRequest) -> int:
    try:
        size = int(request.GET.get("per_page", 25))
    except ValueError:
        return 25
    return size if size in PAGE_SIZES else 25


@organization_required
def customer_list(request: AuthedRequest) -> HttpResponse:
    customers = Customer.objects.for_organization(request.organization).select_related(
        "plan", "admin_invitation"
    )
    filters = CustomerFilter(request.GET or None, queryset=customers, request=request)
    paginator = CustomerPaginator(filters.qs, _page_size(request), count=filters.known_count())
    page = paginator.get_page(request.GET.get("page"))
    sort = request.GET.get("sort", "name")
    return render_page(
        request,
        "customers/list.html",
        {
            "filter": filters,
            "page": page,
            "page_sizes": PAGE_SIZES,
            "is_filtered": any(
                request.GET.get(key) for key in ("q", "status", "plan", "attention")
            ),
            "sort": sort,
            "sort_label": _sort_label(sort),
        },
    )


def _sort_label(sort: str) -> str:
    """ "status, descending": what the table's caption tells a screen reader."""
    return f"{sort.lstrip('-')}, {'descending' if sort.startswith('-') else 'ascending'}"


@write_access_required
def create(request: AuthedRequest) -> HttpResponse:
    form = CustomerCreateForm(request.POST or None, organization=request.organization)
    if request.method == "POST" and form.is_valid():
        try:
            customer = customer_create(
                organization=request.organization,
                actor=request.user,
                **form.cleaned_data,
            )
        except (ServiceError, ValidationError) as error:
            refusal_onto_form(form, error)
        else:
            if warn_if_undelivered(request, customer.admin_invitation):
                messages.success(request, f"Created {customer.name}.")
            else:
                invited = f" and invited {customer.admin_email}" if customer.admin_email else ""
                messages.success(request, f"Created {customer.name}{invited}.")
            return redirect(customer)
    return render(
        request,
        "customers/create.html",
        {"form": form},
        status=422 if form.errors else 200,
    )


@organization_required
def detail(request: AuthedRequest, customer_id: UUID) -> HttpResponse:
    customer = customer_for(request, customer_id)
    # Read auditing (opt-in): a person opening the page, not each fragment it reloads.
    if not request.htmx:
        record_read(organization=request.organization, actor=request.user, resource=customer)
    viewers = audit.recent_viewers(customer) if request.organization.audit_reads else None
    return render(
        request, "customers/detail.html", _detail_context(request, customer, viewers=viewers)
    )


def _detail_context(request: AuthedRequest, customer: Customer, **extra: Any) -> dict[str, Any]:
    # The page's queries, asserted in tests/customers/test_pages.py (DETAIL_QUERIES). Before
    # this function: the session, the user, their memberships (with "has a portal" as a
    # subquery), and the customer with its plan, organization, owner, invitation and contacts.
    # The seats and the connections are listed whole, so they give the impact counts and the
    # seats and connected-accounts gauges too: one query each.
    seats = list(CustomerUser.objects.for_customer(customer).select_related("user"))
    connections = list(Connection.objects.for_customer(customer).order_by("app", "account_label"))
    connected = sum(1 for c in connections if c.status == Connection.Status.CONNECTED)
    # The newest executions carry the capped count of the last 7 days (a subquery computed once).
    executions = list(
        audit.recent_executions(
            customer,
            count_since=timezone.now() - IMPACT_WINDOW,
            cap=IMPACT_CAP,
        )
    )
    impact = impact_summary(
        customer,
        users=len(seats),
        connections=connected,
        executions_7d=executions[0].since_count if executions else 0,
    )
    return {
        "customer": customer,
        "seats": seats,
        "connections": connections,
        # The latest invitations: one query.
        "invitations": Invitation.objects.for_customer(customer).select_related("invited_by")[:10],
        "impact": impact,
        "executions": executions,
        # The newest events and the audit entries about the customer: one query each.
        "events": audit.recent_events(customer),
        "audit_entries": audit.entries_about(customer),
        # SAML signing certificates that expire within 30 days: one query.
        "expiring_certificates": [
            (c, expiry_words(c.certificate_expires_at))
            for c in SsoConnection.objects.for_customer(customer).filter(
                protocol=SsoConnection.Protocol.SAML,
                certificate_expires_at__lte=timezone.now() + WARN_BEFORE,
            )
        ],
        "entitlement_fields": [
            (Customer._meta.get_field(name).verbose_name, getattr(customer, name))
            for name in Customer.ENTITLEMENT_FIELDS
        ],
        "replace_admin_form": extra.pop("replace_admin_form", ReplaceAdminForm()),
        "delete_form": extra.pop("delete_form", DeleteCustomerForm(customer=customer)),
        "retention_days": settings.CUSTOMER_RETENTION_DAYS,
        # Limits (plan defaults, overrides) and this window's counters: three queries.
        "usage_rows": usage_rows(
            customer, gauges={"seats": len(seats), "connected_accounts": connected}
        ),
        # Events per day: one grouped query on the customer's (organization, customer, time)
        # index.
        "chart": chart_bars(events_per_day_series(customer)),
        "chart_id": "customer",
        **extra,
    }


@write_access_required
def edit(request: AuthedRequest, customer_id: UUID) -> HttpResponse:
    customer = customer_for(request, customer_id)
    if customer.is_deleted:
        messages.error(request, f"{customer.name} is deleted; restore it before editing it.")
        return redirect(customer)
    form = CustomerEditForm(request.POST or None, instance=customer)
    edit = Edit(form)
    if request.method == "POST" and form.is_valid():
        edit = save_edit(request, form, customer_update, customer=customer, actor=request.user)
        if edit.saved:
            messages.success(request, f"Saved {customer.name}.")
            return redirect(customer)
    return render(
        request,
        "customers/edit.html",
        {"form": edit.form, "customer": customer, "conflict": edit.conflict},
        status=edit.status,
    )


def _lifecycle_action(
    service: Callable[..., Any], success: str
) -> Callable[[HttpRequest, UUID], HttpResponse]:
    @require_POST
    @write_access_required
    def view(request: AuthedRequest, customer_id: UUID) -> HttpResponse:
        customer = customer_for(request, customer_id)
        attempt(
            request,
            success.format(name=customer.name),
            service,
            customer=customer,
            actor=request.user,
        )
        return redirect(customer)

    return view


# The page's own banner says what suspension refuses; the message only confirms it.
suspend = _lifecycle_action(customer_suspend, "{name} is suspended.")


reactivate = _lifecycle_action(customer_reactivate, "{name} is reactivated.")


restore = _lifecycle_action(customer_restore, "{name} is restored.")


@require_POST
@write_access_required
def delete(request: AuthedRequest, customer_id: UUID) -> HttpResponse:
    customer = customer_for(request, customer_id)
    form = DeleteCustomerForm(request.POST, customer=customer)
    if not form.is_valid():
        return render(
            request,
            "customers/detail.html",
            _detail_context(request, customer, delete_form=form, open_dialog="dialog-delete"),
            status=422,
        )
    try:
        customer_delete(customer=customer, actor=request.user)
    except ServiceError as error:
        messages.error(request, str(error))
        return redirect(customer)
    messages.success(
        request,
        f"{customer.name} is deleted. You can restore it for "
        f"{settings.CUSTOMER_RETENTION_DAYS} days.",
    )
    return redirect(customer)


@require_POST
@write_access_required
def revoke_connections(request: AuthedRequest, customer_id: UUID) -> HttpResponse:
    customer = customer_for(request, customer_id)
    try:
        count = connections_revoke_all(customer=customer, actor=request.user)
    except ServiceError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"Revoked {count} connected account(s) of {customer.name}.")
    return redirect(customer)


@require_POST
@write_access_required
def replace_admin(request: AuthedRequest, customer_id: UUID) -> HttpResponse:
    customer = customer_for(request, customer_id)
    form = ReplaceAdminForm(request.POST)
    if form.is_valid():
        try:
            replaced = customer_admin_replace(
                customer=customer, email=form.cleaned_data["email"], actor=request.user
            )
        except ServiceError as error:
            form.add_error("email", str(error))
        else:
            if not warn_if_undelivered(request, replaced.admin_invitation):
                messages.success(request, f"Invitation sent to {form.cleaned_data['email']}.")
            return redirect(customer)
    return render(
        request,
        "customers/detail.html",
        _detail_context(
            request, customer, replace_admin_form=form, open_dialog="dialog-replace-admin"
        ),
        status=422,
    )


@require_POST
@write_access_required
def connection_revoke(
    request: AuthedRequest, customer_id: UUID, connection_id: UUID
) -> HttpResponse:
    customer = customer_for(request, customer_id)
    connection = get_object_or_404(Connection.objects.for_customer(customer), pk=connection_id)
    attempt(
        request,
        f"Revoked {connection}.",
        connections_services.connection_revoke,
        connection=connection,
        actor=request.user,
    )
    return redirect(customer)


def _invitation_action(action: str) -> Callable[[HttpRequest, UUID, UUID], HttpResponse]:
    @require_POST
    @write_access_required
    def view(request: AuthedRequest, customer_id: UUID, invitation_id: UUID) -> HttpResponse:
        customer = customer_for(request, customer_id)
        act_on_invitation(request, Invitation.objects.for_customer(customer), invitation_id, action)
        return redirect(customer)

    return view


invitation_resend = _invitation_action("resend")
invitation_revoke = _invitation_action("revoke")
