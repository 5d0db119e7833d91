from __future__ import annotations

from typing import Any
from uuid import UUID

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from billing.dimensions import DIMENSIONS
from billing.forms import EntitlementsForm, OverrideForm, PlanLimitForm, PooledCapForm
from billing.models import ENTITLEMENT_FIELDS, Plan, PooledCap
from billing.services import (
    LimitError,
    effective_limits_for,
    override_clear,
    override_set,
    plan_defaults,
    plan_entitlements_set,
    plan_limit_impact,
    plan_limit_set,
    pooled_cap_set,
    usage_for,
)
from customers.access import organization_required, refuse_write
from customers.models import Customer, CustomerStatus


@organization_required
def billing_overview(request: HttpRequest) -> HttpResponse:
    organization = request.organization
    plan_form = PlanLimitForm(organization=organization)
    cap_form = PooledCapForm()
    plans = list(Plan.objects.for_organization(organization))
    entitlement_forms = {plan.pk: EntitlementsForm(plan=plan) for plan in plans}
    impact = None
    if request.method == "POST":
        if not request.membership.can_write:
            refuse_write(request)
        if request.POST.get("form") == "entitlements":
            plan = next((p for p in plans if str(p.pk) == request.POST.get("plan")), None)
            if plan is None:
                raise Http404("No such plan in your organization.")
            form = entitlement_forms[plan.pk] = EntitlementsForm(request.POST, plan=plan)
            if form.is_valid():
                changes = form.changed_entitlements()
                plan_entitlements_set(plan=plan, entitlements=changes, actor=request.user)
                messages.success(
                    request,
                    f"{plan.name}: entitlements saved; its customers follow."
                    if changes
                    else f"{plan.name}: nothing changed.",
                )
                return redirect("billing:overview")
        elif request.POST.get("form") == "cap":
            cap_form = PooledCapForm(request.POST)
            if cap_form.is_valid():
                pooled_cap_set(
                    organization=organization, actor=request.user, **cap_form.cleaned_data
                )
                messages.success(request, "Pooled cap saved.")
                return redirect("billing:overview")
        else:
            plan_form = PlanLimitForm(request.POST, organization=organization)
            if plan_form.is_valid():
                data = plan_form.cleaned_data
                impact = plan_limit_impact(**data)
                # Show who the new value would put over their usage before applying it.
                if request.POST.get("confirm") == "1" or not impact:
                    plan_limit_set(actor=request.user, **data)
                    messages.success(
                        request,
                        f"{data['plan'].name}: {DIMENSIONS[data['dimension']].label} is now "
                        f"{'unlimited' if data['value'] is None else data['value']}.",
                    )
                    return redirect("billing:overview")
    defaults = plan_defaults(organization.pk)
    caps = {c.dimension: c.value for c in PooledCap.objects.for_organization(organization)}
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
            "plan_form": plan_form,
            "cap_form": cap_form,
            "entitlement_forms": list(entitlement_forms.values()),
            "impact": impact,
        },
        status=422 if plan_form.errors or cap_form.errors else 200,
    )


GRID_PAGE_SIZE = 25


@organization_required
def customer_limits(request: HttpRequest) -> HttpResponse:
    organization = request.organization
    customers = (
        Customer.objects.for_organization(organization)
        .exclude(status=CustomerStatus.DELETED)
        .select_related("plan")
        .order_by("name", "id")
    )
    query = request.GET.get("q", "").replace("\x00", "").strip()  # PostgreSQL refuses NUL
    if query:
        customers = customers.filter(
            Q(name__icontains=query) | Q(slug__icontains=query) | Q(external_id__icontains=query)
        )
    plan_id = request.GET.get("plan", "")
    plans = list(Plan.objects.for_organization(organization))
    if plan_id and any(str(p.pk) == plan_id for p in plans):
        customers = customers.filter(plan_id=plan_id)
    page = Paginator(customers, GRID_PAGE_SIZE).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    limits, used = effective_limits_for(rows), usage_for(rows)
    template = "billing/customer_limits.html"
    if request.htmx and request.htmx.target == "grid":
        template += "#grid"
    return render(
        request,
        template,
        {
            "page": page,
            "plans": plans,
            "dimensions": list(DIMENSIONS.values()),
            "grid": [
                (c, [_cell(c, d.key, limits, used) for d in DIMENSIONS.values()]) for c in rows
            ],
            "query": query,
            "plan_id": plan_id,
        },
    )


def _cell(customer: Customer, dimension: str, limits: dict, used: dict) -> dict[str, Any]:
    limit = limits[customer.pk][dimension]
    usage = used[customer.pk][dimension]
    return {
        "customer": customer,
        "dimension": DIMENSIONS[dimension],
        "limit": limit,
        "used": usage,
        "over": limit.value is not None and usage > limit.value,
    }


@require_http_methods(["GET", "POST"])
@organization_required
def limit_cell(request: HttpRequest, customer_id: UUID, dimension: str) -> HttpResponse:
    """One cell of the grid: GET shows its editor, POST saves and answers with the new cell."""
    if dimension not in DIMENSIONS:
        raise Http404("No such quota dimension.")
    customer = get_object_or_404(
        Customer.objects.for_organization(request.organization).select_related("plan"),
        pk=customer_id,
    )
    if not request.membership.can_write:
        refuse_write(request)
    limit = effective_limits_for([customer])[customer.pk][dimension]
    initial = {
        "value": limit.value,
        "reason": limit.override.reason if limit.override else "",
        "expires_at": limit.override.expires_at if limit.override else None,
        "action": "unlimited" if limit.override and limit.value is None else "set",
    }
    # Several editors can be open at once: each cell's fields get their own ids.
    form = OverrideForm(
        request.POST or None, initial=initial, auto_id=f"limit-{customer.pk}-{dimension}-%s"
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                _apply(customer, dimension, form.cleaned_data, request)
            except LimitError as error:
                form.add_error(None, str(error))
            else:
                if not request.htmx:
                    return redirect("billing:customer_limits")
                cell = _cell(
                    customer, dimension, effective_limits_for([customer]), usage_for([customer])
                )
                return render(request, "billing/limit_cell.html#cell", {"cell": cell})
        status = 422
    context = {
        "form": form,
        "customer": customer,
        "dimension": DIMENSIONS[dimension],
        "limit": limit,
    }
    template = "billing/limit_cell.html#editor_cell" if request.htmx else "billing/limit_cell.html"
    return render(request, template, context, status=status)


def _apply(customer: Customer, dimension: str, data: dict[str, Any], request: HttpRequest) -> None:
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
