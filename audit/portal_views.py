"""The customer's own audit log in the portal (/portal/audit-log/): the entries about that
customer only (its users' actions and the organization's actions on it), with the Audit Log's
filters and streamed CSV export. Scoped with ``for_customer``. The organization staff's
addresses are theirs: a customer sees the client address only of its own users' entries."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404

from audit.export import csv_response, filters_message
from audit.filters import AuditFilter, filtered
from audit.readable import with_readable_changes
from audit.trail.models import AuditEntry
from audit.trail.services import record_export
from customers.platform.keyset import keyset_page
from customers.platform.rendering import render_page
from customers.platform.requests import AuthedRequest
from customers.portal.access import portal_page
from customers.selectors import ApiToken, Customer, CustomerUser

PAGE_SIZE = 50


class _OwnAddresses:
    """Which entries were made by the customer's own people (its users or its tokens)."""

    def __init__(self, customer: Customer) -> None:
        self.users = set(
            CustomerUser.objects.for_customer(customer).values_list("user_id", flat=True)
        )
        self.tokens = set(ApiToken.objects.for_customer(customer).values_list("pk", flat=True))

    def __call__(self, entry: AuditEntry) -> str | None:
        own = entry.actor_user_id in self.users or entry.actor_token_id in self.tokens
        return entry.ip_address if own else None


def _entries(request: AuthedRequest) -> tuple[AuditFilter, Any]:
    # Who at the organization opened the customer's records is the organization's business
    # (read auditing is its own tool): views stay out of the customer's log.
    base = AuditEntry.objects.for_customer(request.customer).exclude(action__endswith=".viewed")
    filters = AuditFilter(request.GET or None, queryset=base, request=request)
    return filters, filtered(filters, base)


@portal_page(admin_only=True, read_admin_only=True)
def audit_log(request: AuthedRequest) -> HttpResponse:
    filters, queryset = _entries(request)
    page = keyset_page(queryset, "created_at", request.GET, PAGE_SIZE)
    with_readable_changes(page.rows, request.customer.organization_id)
    address = _OwnAddresses(request.customer)
    for entry in page.rows:
        entry.ip_address = address(entry)
    return render_page(
        request,
        "portal/audit_log.html",
        {"filter": filters, "page": page, "customer": request.customer, "seat": request.seat},
    )


@portal_page(admin_only=True, read_admin_only=True)
def audit_entry(request: AuthedRequest, entry_id: int) -> HttpResponse:
    """One entry in full: every change, the message, the request id (another customer's: 404)."""
    entry = get_object_or_404(_entries(request)[1], pk=entry_id)
    with_readable_changes([entry], request.customer.organization_id)
    entry.ip_address = _OwnAddresses(request.customer)(entry)
    return render_page(
        request,
        "portal/audit_entry.html",
        {"entry": entry, "customer": request.customer, "seat": request.seat},
    )


@portal_page(admin_only=True, read_admin_only=True)
def audit_log_export(request: AuthedRequest) -> StreamingHttpResponse:
    queryset = _entries(request)[1]
    record_export(
        organization=request.customer.organization,
        actor=request.user,
        resource=request.customer,
        message=filters_message(request),
    )
    return csv_response(queryset, address=_OwnAddresses(request.customer))
