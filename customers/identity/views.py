"""Signing in and out, passwords, the organization switcher, the home page and API keys."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit
from uuid import UUID

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.db.models import Count
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import Resolver404, resolve, reverse, reverse_lazy
from django.views.decorators.http import require_POST

from audit.selectors import recent_entries
from audit.trail.actions import Action
from billing.services import recent_alerts
from customers.identity.forms import ApiTokenForm
from customers.identity.middleware import SESSION_KEY
from customers.identity.models import ApiToken
from customers.identity.permissions import (
    organization_required,
    refuse_write,
    write_access_required,
)
from customers.identity.services.organizations import (
    api_token_create,
    api_token_revoke,
    membership_alert_emails_set,
)
from customers.identity.services.passwords import (
    ResetThrottled,
    password_reset_request,
    password_set_recorded,
)
from customers.platform.errors import SERVICE_ERRORS
from customers.platform.net import client_ip, local_path
from customers.platform.requests import AuthedRequest
from customers.platform.responses import (
    attempt,
    private_page,
    refusal_onto_form,
    secret_to_show,
    show_secret_once,
)
from customers.records.models import Customer


class PasswordResetView(auth_views.PasswordResetView):
    html_email_template_name = "registration/password_reset_email.html"
    email_template_name = "registration/password_reset_email.txt"
    subject_template_name = "registration/password_reset_subject.txt"
    success_url = reverse_lazy("password_reset_done")

    def form_valid(self, form: Any) -> HttpResponse:
        # Links in emails come from SITE_URL, never from the request's Host header.
        self.extra_email_context = {"site_url": settings.SITE_URL}
        try:
            password_reset_request(
                email=form.cleaned_data["email"], client_address=client_ip(self.request)
            )
        except ResetThrottled as refusal:
            form.add_error(None, str(refusal))
            return self.render_to_response(self.get_context_data(form=form), status=429)
        return super().form_valid(form)


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    success_url = reverse_lazy("password_reset_complete")

    def form_valid(self, form: Any) -> HttpResponse:
        with transaction.atomic():  # the new password and its audit entry, or neither
            response = super().form_valid(form)
            password_set_recorded(user=form.user, action=Action.PASSWORD_RESET)
        return response


class PasswordChangeView(auth_views.PasswordChangeView):
    success_url = reverse_lazy("password_change_done")

    def form_valid(self, form: Any) -> HttpResponse:
        with transaction.atomic():  # the new password and its audit entry, or neither
            response = super().form_valid(form)
            password_set_recorded(
                user=form.user,  # the signed-in person whose password the form changed
                action=Action.PASSWORD_CHANGED,
                organization=getattr(self.request, "organization", None),
            )
        return response


@organization_required
def home(request: AuthedRequest) -> HttpResponse:

    counts = dict(
        Customer.objects.for_organization(request.organization)
        .values_list("status")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return render(
        request,
        "customers/home.html",
        {
            "status_counts": [
                (status, label, counts.get(status, 0)) for status, label in Customer.Status.choices
            ],
            "recent": recent_entries(request.organization),
            "alerts": recent_alerts(request.organization.pk),
        },
    )


@require_POST
@write_access_required
def alert_emails(request: AuthedRequest) -> HttpResponse:
    """Turn one's own usage alert emails on or off. Only owners and admins get them, so only
    they have the switch."""
    on = request.POST.get("usage_alert_emails") == "on"
    membership_alert_emails_set(membership=request.membership, on=on, actor=request.user)
    messages.success(
        request, "Usage alert emails are on." if on else "You no longer get usage alert emails."
    )
    return redirect("home")


@require_POST
@login_required
def organization_switch(request: AuthedRequest) -> HttpResponse:
    wanted = request.POST.get("organization", "")
    membership = next((m for m in request.memberships if str(m.organization_id) == wanted), None)
    if membership is None:
        messages.error(request, "You are not a member of that organization.")
    else:
        request.session[SESSION_KEY] = str(membership.organization_id)
        messages.success(request, f"Now working in {membership.organization.name}.")
    return redirect(same_section(local_path(request.POST.get("next", ""))) or reverse("home"))


# A page about one object belongs to the other organization's data: after a switch, go to the
# list it came from in the new organization (its filters would not apply either).
SECTIONS = {
    "customers": "customers:list",
    "billing:limit_cell": "billing:customer_limits",
    "activity:execution_detail": "activity:executions",
    "api_key_revoke": "api_keys",
}


def same_section(path: str | None) -> str | None:
    """The same section of the console, without anything that names one organization's rows."""
    if not path:
        return None
    try:
        match = resolve(urlsplit(path).path)
    except Resolver404:
        return None
    if not match.kwargs:
        return urlsplit(path).path
    name = SECTIONS.get(match.view_name) or SECTIONS.get(match.namespace)
    return reverse(name) if name else None


@organization_required
def api_keys(request: AuthedRequest) -> HttpResponse:
    form = ApiTokenForm()
    if request.method == "POST":
        if not request.membership.can_write:
            refuse_write(request)
        form = ApiTokenForm(request.POST)
        if form.is_valid():
            try:
                token, new_secret = api_token_create(
                    organization=request.organization,
                    name=form.cleaned_data["name"],
                    actor=request.user,
                )
            except SERVICE_ERRORS as error:
                refusal_onto_form(form, error, field="name")
            else:
                messages.success(request, f"API key “{token.name}” created. Copy it now.")
                return show_secret_once(request, new_secret, "api_keys")
    shown = secret_to_show(request) if request.method == "GET" else None
    tokens = (
        ApiToken.objects.for_organization(request.organization)
        .filter(customer__isnull=True)  # customer tokens live in each customer's portal
        .select_related("created_by")
    )
    response = render(
        request,
        "customers/api_keys.html",
        {"form": form, "tokens": tokens, "new_secret": shown},
        status=422 if form.errors else 200,
    )
    return private_page(response, shown)


@require_POST
@write_access_required
def api_key_revoke(request: AuthedRequest, token_id: UUID) -> HttpResponse:
    token = get_object_or_404(ApiToken.objects.for_organization(request.organization), pk=token_id)
    attempt(
        request,
        f"API key “{token.name}” revoked. Clients using it now get 401.",
        api_token_revoke,
        token=token,
        actor=request.user,
    )
    return redirect("api_keys")
