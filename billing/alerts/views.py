"""The Usage alerts page (Billing → Usage alerts): the percents of each daily and monthly limit
at which alerts fire, for the organization, a plan (?plan=) or a customer (?customer=)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from django.contrib import messages
from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from billing.alerts.forms import ThresholdsForm
from billing.alerts.models import DEFAULT_ALERT_PERCENTS
from billing.alerts.services.alerts import Thresholds, thresholds_at, thresholds_set
from billing.errors import LimitError
from billing.limits.models import Plan
from customers.identity.permissions import organization_required, refuse_write
from customers.platform.requests import AuthedRequest
from customers.platform.responses import refusal_onto_form
from customers.selectors import Customer


@dataclass(frozen=True)
class Scope:
    """Whose percents the page edits, and what it follows when it sets none."""

    plan: Plan | None = None
    customer: Customer | None = None

    @property
    def name(self) -> str:
        if self.customer:
            return self.customer.name
        return f"the {self.plan.name} plan" if self.plan else "your organization"

    @property
    def above(self) -> str:
        if self.customer:
            return f"its plan's ({self.customer.plan.name})"
        return "the organization's" if self.plan else "Tenantry's default"

    @property
    def query(self) -> str:
        if self.customer:
            return f"?customer={self.customer.pk}"
        return f"?plan={self.plan.pk}" if self.plan else ""


def _uuid(value: str) -> UUID:
    try:
        return UUID(value)
    except ValueError:
        raise Http404("No such plan or customer in your organization.") from None


def _scope(request: AuthedRequest) -> Scope:
    """From the URL; another organization's plan or customer is a 404, like a missing one."""
    organization = request.organization
    if customer_id := request.GET.get("customer"):
        customer = (
            Customer.objects.for_organization(organization)
            .select_related("plan")
            .filter(pk=_uuid(customer_id))
            .first()
        )
        if customer is None:
            raise Http404("No such customer in your organization.")
        return Scope(customer=customer)
    if plan_id := request.GET.get("plan"):
        plan = Plan.objects.for_organization(organization).filter(pk=_uuid(plan_id)).first()
        if plan is None:
            raise Http404("No such plan in your organization.")
        return Scope(plan=plan)
    return Scope()


def _thresholds(organization_id: Any, scope: Scope) -> tuple[dict, dict]:
    """What applies at the scope, and what it would follow without its own percents."""
    current = thresholds_at(
        organization_id, plan_id=scope.plan.pk if scope.plan else None, customer=scope.customer
    )
    if scope.customer:
        inherited = thresholds_at(organization_id, plan_id=scope.customer.plan_id)
    elif scope.plan:
        inherited = thresholds_at(organization_id)
    else:
        inherited = {
            key: Thresholds(t.dimension, DEFAULT_ALERT_PERCENTS, "default")
            for key, t in current.items()
        }
    return current, inherited


@organization_required
def alert_thresholds(request: AuthedRequest) -> HttpResponse:
    organization = request.organization
    scope = _scope(request)
    current, inherited = _thresholds(organization.pk, scope)
    form = ThresholdsForm(
        request.POST or None, current=current, inherited=inherited, above=scope.above
    )
    if request.method == "POST":
        if not request.membership.can_write:
            refuse_write(request)
        if form.is_valid() and _save(request, form, scope):
            messages.success(request, f"Usage alerts saved for {scope.name}.")
            return redirect(reverse("billing:alert_thresholds") + scope.query)
    return render(
        request,
        "billing/alert_thresholds.html",
        {
            "scope": scope,
            "form": form,
            "rows": [
                (t, form[f"{key}_mode"], form[f"{key}_percents"]) for key, t in current.items()
            ],
            "plans": list(Plan.objects.for_organization(organization)),
        },
        status=422 if form.errors else 200,
    )


def _save(request: AuthedRequest, form: ThresholdsForm, scope: Scope) -> bool:
    try:
        with transaction.atomic():  # every dimension, or none
            for dimension, percents in form.wanted().items():
                thresholds_set(
                    organization=request.organization,
                    actor=request.user,
                    dimension=dimension,
                    percents=percents,
                    plan=scope.plan,
                    customer=scope.customer,
                )
    except LimitError as error:
        refusal_onto_form(form, error)
        return False
    return True
