"""Support's lifecycle steps for customers (suspend, reactivate, delete, restore), as bulk
actions on the list and as buttons on a customer's page: each asks first, with the count and
what it affects, as the console's dialogs do, then calls the service for each customer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from customers.models import Connection, Customer, CustomerUser
from customers.services import (
    LIFECYCLE,
    SERVICE_ERRORS,
    customer_delete,
    customer_reactivate,
    customer_restore,
    customer_suspend,
    refusal_text,
)

# step -> (service, label, what it does), in the words the console's dialogs use
STEPS: dict[str, tuple[Callable[..., Any], str, str]] = {
    "suspend": (
        customer_suspend,
        "Suspend",
        "Their users can no longer sign in to the portal, their API keys are refused and "
        "ingestion stops. Nothing is deleted.",
    ),
    "reactivate": (
        customer_reactivate,
        "Reactivate",
        "Portal sign-in, their API keys and ingestion work again.",
    ),
    "delete": (
        customer_delete,
        "Delete (soft, restorable)",
        "They are hidden and can be restored until the retention period ends; then purged.",
    ),
    "restore": (
        customer_restore,
        "Restore",
        "They return with the status they had before they were deleted.",
    ),
}
TEMPLATE = "admin/customers/customer/confirm_lifecycle.html"


def _confirmation(
    request: HttpRequest, modeladmin: Any, step: str, customers: list[Customer], **extra: Any
) -> HttpResponse:
    ids = [c.pk for c in customers]
    _, label, consequence = STEPS[step]
    many = "customer" if len(customers) == 1 else "customers"
    context = {
        **modeladmin.admin_site.each_context(request),
        "opts": modeladmin.model._meta,
        "title": f"{label.split(' (')[0]} {len(customers)} {many}?",
        "step": step,
        "label": label,
        "consequence": consequence,
        "customers": customers,
        # those whose status refuses the step (already suspended, deleted…), said up front
        "refused": sum(c.status not in LIFECYCLE[step] for c in customers),
        "verb": {"suspend": "suspended", "reactivate": "reactivated"}.get(step, f"{step}d"),
        "users": CustomerUser.objects.unscoped().filter(customer_id__in=ids).count(),
        "connections": Connection.objects.unscoped().filter(customer_id__in=ids).count(),
        **extra,
    }
    return render(request, TEMPLATE, context)


def _run(request: HttpRequest, modeladmin: Any, step: str, customers: Any) -> None:
    service, label, _ = STEPS[step]
    done, refused = 0, []
    for customer in customers:
        try:
            service(customer=customer, actor=request.user)
            done += 1
        except SERVICE_ERRORS as error:
            refused.append(refusal_text(error))
    if done:
        modeladmin.message_user(request, f"{label}: {done} customer(s).", messages.SUCCESS)
    for message in refused:
        modeladmin.message_user(request, message, messages.WARNING)


def bulk_action(step: str) -> Callable[..., HttpResponse | None]:
    """A list action that shows the confirmation first; "Yes" posts the selection again."""

    def action(modeladmin: Any, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        if request.POST.get("confirmed") != "yes":
            return _confirmation(
                request,
                modeladmin,
                step,
                list(queryset),
                action=f"lifecycle_{step}",
                cancel_url=request.get_full_path(),
            )
        _run(request, modeladmin, step, queryset)
        return None

    action.__name__ = f"lifecycle_{step}"
    return admin.action(description=STEPS[step][1])(action)


def change_page_step(
    modeladmin: Any, request: HttpRequest, customer: Customer, step: str
) -> HttpResponse:
    """The button on a customer's page: GET asks, POST does it and goes back to the page."""
    back = reverse("admin:customers_customer_change", args=[customer.pk])
    if request.method == "POST":
        _run(request, modeladmin, step, [customer])
        return redirect(back)
    return _confirmation(request, modeladmin, step, [customer], cancel_url=back)
