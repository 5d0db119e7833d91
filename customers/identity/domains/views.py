"""The domains pages: the portal's, where a customer's admins add and prove their own domains,
and the console's, where the organization's owners and admins do it for a customer."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from django import forms
from django.contrib import messages
from django.db.models import QuerySet
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from customers.identity.domains.models import VerifiedDomain
from customers.identity.domains.services import domain_add, domain_remove, domain_verify
from customers.identity.permissions import (
    organization_required,
    refuse_write,
    write_access_required,
)
from customers.platform.errors import SERVICE_ERRORS
from customers.platform.requests import AuthedRequest
from customers.platform.responses import attempt, refusal_onto_form
from customers.portal.access import portal_page, render_portal
from customers.records.models import Customer

# An action's URL for one domain: ("check" | "remove", domain id) → path.
ActionUrl = Callable[[str, UUID], str]


class DomainForm(forms.Form):
    domain = forms.CharField(
        max_length=253,
        label="Domain",
        help_text="Your company's mail domain, e.g. example.com: the part after the @.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )


def _added(request: AuthedRequest, form: DomainForm, customer: Customer) -> bool:
    """Add the form's domain to ``customer``; a refusal goes onto the form."""
    if not form.is_valid():
        return False
    try:
        claim = domain_add(
            customer=customer, domain=form.cleaned_data["domain"], actor=request.user
        )
    except SERVICE_ERRORS as error:
        refusal_onto_form(form, error, field="domain")
        return False
    messages.success(request, f"{claim.domain} added: publish its TXT record, then check it.")
    return True


@dataclass(frozen=True)
class Row:
    domain: VerifiedDomain
    check_url: str
    remove_url: str


def _rows(domains: QuerySet[VerifiedDomain], url: ActionUrl) -> list[Row]:
    return [Row(domain, url("check", domain.pk), url("remove", domain.pk)) for domain in domains]


def _not_yet(result: VerifiedDomain) -> str | None:
    """What a check that did not verify found, in plain words."""
    return None if result.status == VerifiedDomain.Status.VERIFIED else result.last_result


def _checked(request: AuthedRequest, domain: VerifiedDomain) -> None:
    """Check now, and say what was found: success, or the plain-words reason it is not yet."""
    attempt(
        request,
        f"{domain.domain} is verified.",
        domain_verify,
        warning=_not_yet,
        domain=domain,
        actor=request.user,
    )


# --- the portal -------------------------------------------------------------------------------


def _portal_url(action: str, domain_id: UUID) -> str:
    return reverse(f"portal:domain_{action}", args=[domain_id])


@portal_page(admin_only=True, read_admin_only=True)
def portal_domains(request: AuthedRequest) -> HttpResponse:
    customer = request.customer
    form = DomainForm(request.POST or None)
    if request.method == "POST" and _added(request, form, customer):
        return redirect("portal:domains")
    return render_portal(
        request,
        "portal/domains.html",
        {
            "form": form,
            "domains": _rows(VerifiedDomain.objects.for_customer(customer), _portal_url),
        },
        status=422 if form.errors else 200,
    )


def _portal_domain(request: AuthedRequest, domain_id: UUID) -> VerifiedDomain:
    domain: VerifiedDomain = get_object_or_404(
        VerifiedDomain.objects.for_customer(request.customer).select_related("customer"),
        pk=domain_id,
    )
    return domain


@require_POST
@portal_page(admin_only=True, read_admin_only=True)
def portal_domain_check(request: AuthedRequest, domain_id: UUID) -> HttpResponse:
    _checked(request, _portal_domain(request, domain_id))
    return redirect("portal:domains")


@require_POST
@portal_page(admin_only=True, read_admin_only=True)
def portal_domain_remove(request: AuthedRequest, domain_id: UUID) -> HttpResponse:
    domain = _portal_domain(request, domain_id)
    attempt(request, f"Removed {domain.domain}.", domain_remove, domain=domain, actor=request.user)
    return redirect("portal:domains")


# --- the console ------------------------------------------------------------------------------


def _customer(request: AuthedRequest, customer_id: UUID) -> Customer:
    customer: Customer = get_object_or_404(
        Customer.objects.for_organization(request.organization).select_related("organization"),
        pk=customer_id,
    )
    return customer


@organization_required
def console_domains(request: AuthedRequest, customer_id: UUID) -> HttpResponse:
    customer = _customer(request, customer_id)
    form = DomainForm(request.POST or None)
    if request.method == "POST":
        if not request.membership.can_write:
            refuse_write(request)
        if _added(request, form, customer):
            return redirect("customers:domains", customer.pk)

    def url(action: str, domain_id: UUID) -> str:
        return reverse(f"customers:domain_{action}", args=[customer.pk, domain_id])

    return render(
        request,
        "customers/domains.html",
        {
            "customer": customer,
            "form": form,
            "domains": _rows(VerifiedDomain.objects.for_customer(customer), url),
            "can_write": request.membership.can_write,
        },
        status=422 if form.errors else 200,
    )


def _console_domain(request: AuthedRequest, customer_id: UUID, domain_id: UUID) -> VerifiedDomain:
    customer = _customer(request, customer_id)
    domain: VerifiedDomain = get_object_or_404(
        VerifiedDomain.objects.for_customer(customer).select_related("customer"), pk=domain_id
    )
    return domain


@require_POST
@write_access_required
def console_domain_check(request: AuthedRequest, customer_id: UUID, domain_id: UUID) -> Any:
    _checked(request, _console_domain(request, customer_id, domain_id))
    return redirect("customers:domains", customer_id)


@require_POST
@write_access_required
def console_domain_remove(request: AuthedRequest, customer_id: UUID, domain_id: UUID) -> Any:
    domain = _console_domain(request, customer_id, domain_id)
    attempt(request, f"Removed {domain.domain}.", domain_remove, domain=domain, actor=request.user)
    return redirect("customers:domains", customer_id)
