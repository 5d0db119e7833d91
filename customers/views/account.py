"""Signing in and out, passwords, the organization switcher, the home page and API keys."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import Resolver404, resolve, reverse, reverse_lazy
from django.views.decorators.http import require_POST

from audit.selectors import recent_entries
from audit.services import Outcome, record
from billing.services import recent_alerts
from customers.access import (
    attempt,
    organization_required,
    private_page,
    refusal_onto_form,
    refuse_write,
    secret_to_show,
    show_secret_once,
    write_access_required,
)
from customers.forms import ApiTokenForm
from customers.middleware import SESSION_KEY
from customers.models import ApiToken, Customer, User
from customers.net import client_ip, local_path
from customers.services import (
    SERVICE_ERRORS,
    api_token_create,
    api_token_revoke,
    membership_alert_emails_set,
)
from customers.throttle import throttle_hit


class PasswordResetView(auth_views.PasswordResetView):
    html_email_template_name = "registration/password_reset_email.html"
    email_template_name = "registration/password_reset_email.txt"
    subject_template_name = "registration/password_reset_subject.txt"
    success_url = reverse_lazy("password_reset_done")

    def form_valid(self, form: Any) -> HttpResponse:
        # Links in emails come from SITE_URL, never from the request's Host header.
        self.extra_email_context = {"site_url": settings.SITE_URL}
        email = form.cleaned_data["email"]
        user = User.objects.filter(email__iexact=email).first()
        refused = self._throttled(email, user)
        if refused is not None:
            return refused
        record(
            action="password_reset.requested",
            organization=user.home_organization() if user else None,
            actor=None,
            actor_label=email,
            resource=user,
            resource_type="user",
            resource_label=email,
        )
        return super().form_valid(form)

    def _throttled(self, email: str, user: User | None) -> HttpResponse | None:
        """The sign-in throttle's rule (LOGIN_FAILURE_LIMIT per cool-off window), per client
        address and per email: past it, no email is sent. Only the first refusal in a window
        is audited, so a flood cannot flood the audit log either."""
        window = timedelta(hours=settings.AXES_COOLOFF_TIME)
        limit = settings.AXES_FAILURE_LIMIT
        address = client_ip(self.request) or "unknown"
        hits = max(
            throttle_hit("password_reset.ip", address, window=window),
            throttle_hit("password_reset.email", email, window=window),
        )
        if hits <= limit:
            return None
        minutes = round(window.total_seconds() / 60)
        if hits == limit + 1:
            record(
                action="password_reset.throttled",
                organization=user.home_organization() if user else None,
                actor=None,
                actor_label=email,
                resource=user,
                resource_type="user",
                resource_label=email,
                outcome=Outcome.DENIED,
                message=f"More than {limit} reset requests in {minutes} minutes.",
            )
        form = self.get_form()
        form.add_error(None, PASSWORD_RESET_THROTTLED.format(minutes=minutes))
        return self.render_to_response(self.get_context_data(form=form), status=429)


PASSWORD_RESET_THROTTLED = (
    "Too many password reset requests from your address or for this email. Wait {minutes} "
    "minutes, then try again; a link that was already sent still works."
)


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    success_url = reverse_lazy("password_reset_complete")

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        record(
            action="password.reset",
            organization=form.user.home_organization(),
            actor=form.user,
            resource=form.user,
            resource_type="user",
        )
        return response


class PasswordChangeView(auth_views.PasswordChangeView):
    success_url = reverse_lazy("password_change_done")

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        record(
            action="password.changed",
            organization=getattr(self.request, "organization", None),
            actor=self.request.user,
            resource=self.request.user,
            resource_type="user",
        )
        return response


@organization_required
def home(request: HttpRequest) -> HttpResponse:

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
def alert_emails(request: HttpRequest) -> HttpResponse:
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
def organization_switch(request: HttpRequest) -> HttpResponse:
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
def api_keys(request: HttpRequest) -> HttpResponse:
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
    new_secret = secret_to_show(request) if request.method == "GET" else None
    tokens = (
        ApiToken.objects.for_organization(request.organization)
        .filter(customer__isnull=True)  # customer tokens live in each customer's portal
        .select_related("created_by")
    )
    response = render(
        request,
        "customers/api_keys.html",
        {"form": form, "tokens": tokens, "new_secret": new_secret},
        status=422 if form.errors else 200,
    )
    return private_page(response, new_secret)


@require_POST
@write_access_required
def api_key_revoke(request: HttpRequest, token_id: UUID) -> HttpResponse:
    token = get_object_or_404(ApiToken.objects.for_organization(request.organization), pk=token_id)
    attempt(
        request,
        f"Key “{token.name}” revoked. Clients using it now get 401.",
        api_token_revoke,
        token=token,
        actor=request.user,
    )
    return redirect("api_keys")
