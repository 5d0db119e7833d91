"""The Activity pages (executions, events) and the Audit Log with its streamed CSV export."""

from __future__ import annotations

import uuid
from typing import Any

from django.db.models import Q
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse

from audit.activity.models import Event, Execution
from audit.export import csv_response, filters_message
from audit.filters import AuditFilter, EventFilter, ExecutionFilter, filtered
from audit.readable import with_readable_changes
from audit.trail.models import AuditEntry
from audit.trail.services import record_export
from customers.identity.permissions import organization_required
from customers.platform.keyset import keyset_page
from customers.platform.rendering import render_page
from customers.platform.requests import AuthedRequest
from customers.selectors import Customer

PAGE_SIZE = 50


def _customer_choice(request: AuthedRequest) -> Customer | None:
    """The customer the filter names, to show its name beside the search box."""
    try:
        key = uuid.UUID(request.GET.get("customer", ""))
    except ValueError:
        return None
    return Customer.objects.for_organization(request.organization).filter(pk=key).first()


def _results(request: AuthedRequest, template: str, context: dict[str, Any]) -> HttpResponse:
    return render_page(request, template, context)


@organization_required
def executions(request: AuthedRequest) -> HttpResponse:
    base = Execution.objects.for_organization(request.organization).select_related(
        "workflow", "customer"
    )
    filters = ExecutionFilter(request.GET or None, queryset=base, request=request)
    page = keyset_page(filtered(filters, base), "started_at", request.GET, PAGE_SIZE)
    return _results(
        request,
        "audit/executions.html",
        {
            "filter": filters,
            "page": page,
            "customer_choice": _customer_choice(request),
        },
    )


@organization_required
def execution_detail(request: AuthedRequest, execution_id: int) -> HttpResponse:
    execution = get_object_or_404(
        Execution.objects.for_organization(request.organization).select_related(
            "workflow", "customer"
        ),
        pk=execution_id,
    )
    template = "audit/execution_detail.html"
    if request.htmx:
        template += "#drawer"
    return render(request, template, {"execution": execution})


EVENT_TABS = [("", "All"), ("webhook", "Webhook"), ("scheduled", "Scheduled"), ("manual", "Manual")]


@organization_required
def events(request: AuthedRequest) -> HttpResponse:
    base = Event.objects.for_organization(request.organization).select_related("customer")
    filters = EventFilter(request.GET or None, queryset=base, request=request)
    page = keyset_page(filtered(filters, base), "occurred_at", request.GET, PAGE_SIZE)
    return _results(
        request,
        "audit/events.html",
        {
            "filter": filters,
            "page": page,
            "tabs": EVENT_TABS,
            "current_tab": request.GET.get("type", ""),
            "customer_choice": _customer_choice(request),
        },
    )


def _audit_queryset(request: AuthedRequest) -> tuple[AuditFilter, Any]:
    base = AuditEntry.objects.for_organization(request.organization)
    filters = AuditFilter(request.GET or None, queryset=base, request=request)
    return filters, filtered(filters, base)


@organization_required
def audit_log(request: AuthedRequest) -> HttpResponse:
    filters, queryset = _audit_queryset(request)
    page = keyset_page(queryset, "created_at", request.GET, PAGE_SIZE)
    with_readable_changes(page.rows, request.organization)
    return _results(request, "audit/audit_log.html", {"filter": filters, "page": page})


@organization_required
def audit_log_export(request: AuthedRequest) -> StreamingHttpResponse:
    queryset = _audit_queryset(request)[1]
    record_export(
        organization=request.organization, actor=request.user, message=filters_message(request)
    )
    return csv_response(queryset, address=lambda entry: entry.ip_address)


@organization_required
def customer_lookup(request: AuthedRequest) -> HttpResponse:
    """Search-as-you-type for the customer filters: a handful of matches, never 100,000."""
    # The box on the Activity pages is named customer_q (it sits in their filter form).
    query = (request.GET.get("q") or request.GET.get("customer_q") or "").strip()
    matches = []
    if query:
        matches = list(
            Customer.objects.for_organization(request.organization)
            .filter(
                Q(name__icontains=query)
                | Q(slug__icontains=query)
                | Q(external_id__icontains=query)
            )
            .order_by("name")[:10]
        )
    # The links go back to the page that asked, and only ever to one of these pages.
    targets = [reverse(name) for name in LOOKUP_TARGETS]
    wanted = request.GET.get("for", "")
    # A pick keeps the page's other filters (the box sends its whole form) but starts over at
    # the newest rows.
    keep = request.GET.copy()
    for name in ("q", "customer_q", "customer", "for", "before", "after"):
        keep.pop(name, None)
    return render_page(
        request,
        "audit/customer_lookup.html",
        {
            "matches": matches,
            "query": query,
            "target": wanted if wanted in targets else targets[0],
            "keep": keep.urlencode(),
        },
        partials=("customer-matches",),
    )


LOOKUP_TARGETS = ("activity:executions", "activity:events")
