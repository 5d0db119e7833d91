"""The limits pages: plans and pooled caps, and the Customize Customer Limits grid."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from django.contrib import messages
from django.db.models import Q, QuerySet
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from billing.dimensions import DIMENSIONS
from billing.errors import LimitError
from billing.limits.forms import EntitlementsForm, OverrideForm, PlanLimitForm, PooledCapForm
from billing.limits.models import Plan, PooledCap
from billing.limits.services.changes import (
    override_clear,
    override_set,
    plan_entitlements_set,
    plan_limit_impact,
    plan_limit_set,
    pooled_cap_set,
)
from billing.limits.services.forecasts import by_forecast
from billing.limits.services.limits import effective_limits_for, plan_defaults, usage_for
from customers.identity.permissions import organization_required, refuse_write
from customers.platform.rendering import render_page
from customers.platform.requests import AuthedRequest
from customers.platform.responses import refusal_onto_form
from customers.records.pagination import LIVE_STATUSES, CustomerPaginator, kept_count
from customers.selectors import ENTITLEMENT_FIELDS, Customer, CustomerStatus


@dataclass
class OverviewForms:
    """The billing page's three kinds of form, bound to the POST for the one submitted."""

    plan_form: PlanLimitForm
    cap_form: PooledCapForm
    entitlement_forms: dict[Any, EntitlementsForm]
    impact: list | None = None


@organization_required
def billing_overview(request: AuthedRequest) -> HttpResponse:
    organization = request.organization
    plans = list(Plan.objects.for_organization(organization))
    forms = OverviewForms(
        PlanLimitForm(organization=organization),
        PooledCapForm(),
        {plan.pk: EntitlementsForm(plan=plan) for plan in plans},
    )
    if request.method == "POST":
        if not request.membership.can_write:
            refuse_write(request)
        save = SAVES.get(request.POST.get("form", ""), _save_plan_default)
        done = save(request, forms, plans)
        if done is not None:
            return done
    return _overview_page(request, forms, plans)


def _save_entitlements(
    request: AuthedRequest, forms: OverviewForms, plans: list[Plan]
) -> HttpResponse | None:
    plan = next((p for p in plans if str(p.pk) == request.POST.get("plan")), None)
    if plan is None:
        raise Http404("No such plan in your organization.")
    form = forms.entitlement_forms[plan.pk] = EntitlementsForm(request.POST, plan=plan)
    if not form.is_valid():
        return None
    changes = form.changed_entitlements()
    plan_entitlements_set(plan=plan, entitlements=changes, actor=request.user)
    saved = "entitlements saved; its customers follow" if changes else "nothing changed"
    messages.success(request, f"{plan.name}: {saved}.")
    return redirect("billing:overview")


def _save_cap(
    request: AuthedRequest, forms: OverviewForms, plans: list[Plan]
) -> HttpResponse | None:
    forms.cap_form = PooledCapForm(request.POST)
    if not forms.cap_form.is_valid():
        return None
    pooled_cap_set(
        organization=request.organization, actor=request.user, **forms.cap_form.cleaned_data
    )
    messages.success(request, "Pooled cap saved.")
    return redirect("billing:overview")


def _save_plan_default(
    request: AuthedRequest, forms: OverviewForms, plans: list[Plan]
) -> HttpResponse | None:
    forms.plan_form = PlanLimitForm(request.POST, organization=request.organization)
    if not forms.plan_form.is_valid():
        return None
    data = forms.plan_form.cleaned_data
    forms.impact = plan_limit_impact(**data)
    # Show who the new value would put over their usage before applying it.
    if forms.impact and request.POST.get("confirm") != "1":
        return None
    plan_limit_set(actor=request.user, **data)
    value = "unlimited" if data["value"] is None else data["value"]
    label = DIMENSIONS[data["dimension"]].label
    messages.success(request, f"{data['plan'].name}: {label} is now {value}.")
    return redirect("billing:overview")


SAVES = {"entitlements": _save_entitlements, "cap": _save_cap, "plan": _save_plan_default}


def _overview_page(request: AuthedRequest, forms: OverviewForms, plans: list[Plan]) -> HttpResponse:
    defaults = plan_defaults(request.organization.pk)
    caps = {c.dimension: c.value for c in PooledCap.objects.for_organization(request.organization)}
    return render(
        request,
        "billing/overview.html",
        {
            "plans": plans,
            "rows": [
                (d, [defaults.get((p.pk, d.key)) for p in plans], caps.get(d.key))
                for d in DIMENSIONS.values()
            ],
            "entitlements": [
                (Plan._meta.get_field(f).verbose_name, [getattr(p, f) for p in plans])
                for f in ENTITLEMENT_FIELDS
            ],
            "plan_form": forms.plan_form,
            "cap_form": forms.cap_form,
            "entitlement_forms": list(forms.entitlement_forms.values()),
            "impact": forms.impact,
        },
        status=422 if forms.plan_form.errors or forms.cap_form.errors else 200,
    )


GRID_PAGE_SIZE = 25


@organization_required
def customer_limits(request: AuthedRequest) -> HttpResponse:
    organization = request.organization
    query = request.GET.get("q", "").strip()  # NUL never gets here (config/input_guard.py)
    plan_id = request.GET.get("plan", "")
    plans = list(Plan.objects.for_organization(organization))
    sort = request.GET.get("sort", "name")
    customers = _grid_customers(organization, query, plan_id, plans, sort)
    # Unfiltered, the total is the count the database keeps; a search or a plan counts rows.
    total = None if query or plan_id else kept_count(organization, LIVE_STATUSES)
    paginator = CustomerPaginator(customers, GRID_PAGE_SIZE, count=total)
    page = paginator.get_page(request.GET.get("page"))
    rows = list(page.object_list)
    forecasts: dict = {}
    limits, used = effective_limits_for(rows), usage_for(rows, forecasts=forecasts)
    return render_page(
        request,
        "billing/customer_limits.html",
        {
            "page": page,
            "plans": plans,
            "dimensions": list(DIMENSIONS.values()),
            "grid": [
                (c, [_cell(c, d.key, limits, used, forecasts) for d in DIMENSIONS.values()])
                for c in rows
            ],
            "query": query,
            "plan_id": plan_id,
            "sort": "forecast" if sort == "forecast" else "name",
        },
        partials=("grid",),
    )


def _grid_customers(
    organization: Any, query: str, plan_id: str, plans: list[Plan], sort: str
) -> QuerySet[Customer]:
    """The grid's customers: not deleted, searched, of one plan, by name or by forecast."""
    customers = (
        Customer.objects.for_organization(organization)
        .exclude(status=CustomerStatus.DELETED)
        .select_related("plan")
        .order_by("name", "id")
    )
    if query:
        customers = customers.filter(
            Q(name__icontains=query) | Q(slug__icontains=query) | Q(external_id__icontains=query)
        )
    if plan_id and any(str(p.pk) == plan_id for p in plans):
        customers = customers.filter(plan_id=plan_id)
    return by_forecast(customers) if sort == "forecast" else customers


def _cell(
    customer: Customer, dimension: str, limits: dict, used: dict, forecasts: dict
) -> dict[str, Any]:
    limit = limits[customer.pk][dimension]
    usage = used[customer.pk][dimension]
    forecast = forecasts.get(customer.pk, {}).get(dimension)
    reaches = forecast.reaches_limit_at if forecast and limit.value is not None else None
    return {
        "customer": customer,
        "id": f"cell-{customer.pk}-{dimension}",
        "url": reverse("billing:limit_cell", args=[customer.pk, dimension]),
        "dimension": DIMENSIONS[dimension],
        "limit": limit,
        "used": usage,
        "over": limit.value is not None and usage > limit.value,
        "reaches_limit_at": reaches,
        "reached": reaches is not None and usage >= limit.value,
    }


@require_http_methods(["GET", "POST"])
@organization_required
def limit_cell(request: AuthedRequest, customer_id: UUID, dimension: str) -> HttpResponse:
    """One cell of the grid: GET shows its editor, POST saves and answers with the new cell."""
    if dimension not in DIMENSIONS:
        raise Http404("No such quota dimension.")
    customer = get_object_or_404(
        Customer.objects.for_organization(request.organization).select_related("plan"),
        pk=customer_id,
    )
    if not request.membership.can_write:
        refuse_write(request)
    if request.method == "GET" and request.GET.get("show") == "cell":  # the editor's Cancel
        return _cell_response(request, customer, dimension)
    limit = effective_limits_for([customer])[customer.pk][dimension]
    # Several editors can be open at once: each cell's fields get their own ids.
    form = OverrideForm(
        request.POST or None,
        initial=_editor_values(limit),
        auto_id=f"limit-{customer.pk}-{dimension}-%s",
    )
    if request.method == "POST" and _saved(form, customer, dimension, request):
        return _saved_cell(request, customer, dimension)
    context = {
        "form": form,
        "customer": customer,
        "dimension": DIMENSIONS[dimension],
        "limit": limit,
    }
    template = "billing/limit_cell.html#editor_cell" if request.htmx else "billing/limit_cell.html"
    return render(request, template, context, status=422 if request.method == "POST" else 200)


def _saved(form: OverrideForm, customer: Customer, dimension: str, request: AuthedRequest) -> bool:
    """Applies a valid editor; a refusal (a limit out of range) lands on the form."""
    if not form.is_valid():
        return False
    try:
        _apply(customer, dimension, form.cleaned_data, request)
    except LimitError as error:
        refusal_onto_form(form, error)
        return False
    return True


def _editor_values(limit: Any) -> dict[str, Any]:
    override = limit.override
    return {
        "value": limit.value,
        "reason": override.reason if override else "",
        "expires_at": override.expires_at if override else None,
        "action": "unlimited" if override and limit.value is None else "set",
    }


def _saved_cell(request: AuthedRequest, customer: Customer, dimension: str) -> HttpResponse:
    """After a save: the new cell for HTMX, the whole grid otherwise."""
    if not request.htmx:
        return redirect("billing:customer_limits")
    return _cell_response(request, customer, dimension)


def _cell_response(request: AuthedRequest, customer: Customer, dimension: str) -> HttpResponse:
    forecasts: dict = {}
    used = usage_for([customer], forecasts=forecasts)
    cell = _cell(customer, dimension, effective_limits_for([customer]), used, forecasts)
    return render(request, "billing/limit_cell.html#cell", {"cell": cell})


def _apply(
    customer: Customer, dimension: str, data: dict[str, Any], request: AuthedRequest
) -> None:
    action = data["action"]
    if action == "reset":
        override_clear(customer=customer, dimension=dimension, actor=request.user)
        messages.success(request, f"{customer.name}: back to the plan default.")
        return
    value = None if action == "unlimited" else data["value"]
    override_set(
        customer=customer,
        dimension=dimension,
        value=value,
        reason=data["reason"],
        actor=request.user,
        expires_at=data.get("expires_at"),
    )
    current = usage_for([customer])[customer.pk][dimension]
    if value is not None and current > value:
        messages.warning(
            request,
            f"{customer.name} already used {current}, more than the new limit of {value}: "
            "further use is refused until the window resets.",
        )
    else:
        messages.success(request, f"{customer.name}: {DIMENSIONS[dimension].label} saved.")
