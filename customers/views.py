from __future__ import annotations

from typing import Any
from uuid import UUID

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from customers.access import organization_required, refuse_write, write_access_required
from customers.forms import ApiTokenForm
from customers.middleware import SESSION_KEY
from customers.models import ApiToken
from customers.services import ServiceError, api_token_create, api_token_revoke


class PasswordResetView(auth_views.PasswordResetView):
    html_email_template_name = "registration/password_reset_email.html"
    email_template_name = "registration/password_reset_email.txt"
    subject_template_name = "registration/password_reset_subject.txt"
    success_url = reverse_lazy("password_reset_done")

    def form_valid(self, form: Any) -> HttpResponse:
        # Links in emails come from SITE_URL, never from the request's Host header.
        self.extra_email_context = {"site_url": settings.SITE_URL}
        return super().form_valid(form)


@organization_required
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "customers/home.html")


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
    next_url = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = "home"
    return redirect(next_url)


@organization_required
def api_keys(request: HttpRequest) -> HttpResponse:
    form = ApiTokenForm()
    new_secret = None
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
            except ServiceError as error:
                form.add_error("name", str(error))
            else:
                form = ApiTokenForm()
                messages.success(request, f"Key “{token.name}” created. Copy it now.")
    tokens = ApiToken.objects.for_organization(request.organization).select_related("created_by")
    response = render(
        request,
        "customers/api_keys.html",
        {"form": form, "tokens": tokens, "new_secret": new_secret},
        status=422 if form.errors else 200,
    )
    if new_secret:
        # The secret is on this page only: keep it out of every cache.
        response["Cache-Control"] = "no-store"
    return response


@require_POST
@write_access_required
def api_key_revoke(request: HttpRequest, token_id: UUID) -> HttpResponse:
    token = get_object_or_404(ApiToken.objects.for_organization(request.organization), pk=token_id)
    try:
        api_token_revoke(token=token, actor=request.user)
    except ServiceError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"Key “{token.name}” revoked. Clients using it now get 401.")
    return redirect("api_keys")
