"""The customer portal (/portal/): a customer's own users run their own customer. Every query
is scoped with ``.for_customer(request.customer)``: it never shows another customer's rows."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from uuid import UUID

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from audit.selectors import events_per_day_series
from billing.services import chart_bars, usage_rows
from customers.connections.models import Connection
from customers.connections.services import connection_revoke
from customers.identity.forms import TokenForm
from customers.identity.models import ApiToken
from customers.identity.services.organizations import api_token_create, api_token_revoke
from customers.people.actions import act_on_invitation, warn_if_undelivered
from customers.people.forms import TeammateInviteForm
from customers.people.models import CustomerUser, Invitation
from customers.people.services.invitations import invite_send
from customers.people.services.seats import (
    customer_user_change_role,
    customer_user_remove,
    customer_user_set_break_glass,
    customer_user_set_locked,
    portal_settings_update,
)
from customers.platform.errors import SERVICE_ERRORS, ServiceError, refusal_text
from customers.platform.net import client_ip
from customers.platform.requests import AuthedRequest
from customers.platform.responses import (
    attempt,
    private_page,
    refusal_onto_form,
    secret_to_show,
    show_secret_once,
)
from customers.portal.access import View, portal_page, render_portal
from customers.records.editing import Edit, save_edit
from customers.records.forms import PortalCustomerForm


@portal_page()
def home(request: AuthedRequest) -> HttpResponse:
    return render_portal(
        request,
        "portal/home.html",
        {
            "admin_invitation": request.customer.admin_invitation,
        },
    )


@portal_page(admin_only=True)
def settings_view(request: AuthedRequest) -> HttpResponse:
    customer = request.customer
    form = PortalCustomerForm(request.POST or None, instance=customer)
    if not request.seat.is_admin:
        for field in form.fields.values():
            field.disabled = True
    edit = Edit(form)
    if request.method == "POST" and form.is_valid():
        edit = save_edit(
            request,
            form,
            portal_settings_update,
            customer=customer,
            actor=request.user,
            client_address=client_ip(request),
        )
        if edit.saved:
            messages.success(request, "Settings saved.")
            return redirect("portal:settings")
    return render_portal(
        request,
        "portal/settings.html",
        # Shown beside the allow-list: the address a new list must include to let you back in.
        {"form": edit.form, "conflict": edit.conflict, "request_ip": client_ip(request)},
        status=edit.status,
    )


@portal_page(admin_only=True)
def users(request: AuthedRequest) -> HttpResponse:
    customer = request.customer
    form = TeammateInviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            invitation = invite_send(
                customer=customer,
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
                actor=request.user,
            )
        except (ServiceError, ValidationError) as error:
            refusal_onto_form(form, error, field="email")
        else:
            if not warn_if_undelivered(request, invitation):
                messages.success(request, f"Invitation sent to {form.cleaned_data['email']}.")
            return redirect("portal:users")
    return render_portal(
        request,
        "portal/users.html",
        {
            "form": form,
            "seats": CustomerUser.objects.for_customer(customer).select_related("user"),
            "invitations": Invitation.objects.for_customer(customer)
            .filter(status=Invitation.Status.PENDING)
            .select_related("invited_by"),
            "roles": CustomerUser.Role.choices,
        },
        status=422 if form.errors else 200,
    )


def _seat(request: AuthedRequest, seat_id: UUID) -> CustomerUser:
    return get_object_or_404(
        CustomerUser.objects.for_customer(request.customer).select_related("user", "customer"),
        pk=seat_id,
    )


def _seat_action(run: Callable[[HttpRequest, CustomerUser], str]) -> View:
    @require_POST
    @portal_page(admin_only=True)
    @wraps(run)
    def view(request: AuthedRequest, seat_id: UUID) -> HttpResponse:
        seat = _seat(request, seat_id)
        try:
            messages.success(request, run(request, seat))
        except SERVICE_ERRORS as error:
            messages.error(request, refusal_text(error))
        return redirect("portal:users")

    return view


@_seat_action
def user_role(request: AuthedRequest, seat: CustomerUser) -> str:
    seat = customer_user_change_role(
        seat=seat, role=request.POST.get("role", ""), actor=request.user
    )
    return f"{seat.user.email} is now {seat.get_role_display()}."


@_seat_action
def user_lock(request: AuthedRequest, seat: CustomerUser) -> str:
    customer_user_set_locked(seat=seat, locked=True, actor=request.user)
    return f"{seat.user.email} is locked out of the portal."


@_seat_action
def user_unlock(request: AuthedRequest, seat: CustomerUser) -> str:
    customer_user_set_locked(seat=seat, locked=False, actor=request.user)
    return f"{seat.user.email} can sign in again."


@_seat_action
def user_break_glass(request: AuthedRequest, seat: CustomerUser) -> str:
    on = request.POST.get("on") == "1"
    customer_user_set_break_glass(seat=seat, on=on, actor=request.user)
    if on:
        return (
            f"{seat.user.email} can sign in with a password and a second factor while SSO is "
            "forced; each such sign-in is emailed to the other admins."
        )
    return f"{seat.user.email} is no longer a break-glass account."


@_seat_action
def user_remove(request: AuthedRequest, seat: CustomerUser) -> str:
    customer_user_remove(seat=seat, actor=request.user)
    return f"{seat.user.email} was removed from {seat.customer.name}."


def _invitation_action(action: str) -> View:
    @require_POST
    @portal_page(admin_only=True)
    def view(request: AuthedRequest, invitation_id: UUID) -> HttpResponse:
        invitations = Invitation.objects.for_customer(request.customer)
        act_on_invitation(request, invitations, invitation_id, action)
        return redirect("portal:users")

    return view


invitation_resend = _invitation_action("resend")
invitation_revoke = _invitation_action("revoke")


@portal_page()
def connections(request: AuthedRequest) -> HttpResponse:
    return render_portal(
        request,
        "portal/connections.html",
        {
            "connections": Connection.objects.for_customer(request.customer),
        },
    )


@require_POST
@portal_page(admin_only=True)
def connection_revoke_view(request: AuthedRequest, connection_id: UUID) -> HttpResponse:
    connection = get_object_or_404(
        Connection.objects.for_customer(request.customer).select_related("customer"),
        pk=connection_id,
    )
    attempt(
        request,
        f"Revoked {connection}.",
        connection_revoke,
        connection=connection,
        actor=request.user,
    )
    return redirect("portal:connections")


@portal_page()
def usage(request: AuthedRequest) -> HttpResponse:
    customer = request.customer
    return render_portal(
        request,
        "portal/usage.html",
        {
            "usage_rows": usage_rows(customer),
            "chart": chart_bars(events_per_day_series(customer)),
            "chart_id": "portal",
        },
    )


@portal_page(admin_only=True)
def tokens(request: AuthedRequest) -> HttpResponse:
    customer = request.customer
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            token, new_secret = api_token_create(
                organization=customer.organization,
                customer=customer,
                name=form.cleaned_data["name"],
                actor=request.user,
            )
        except SERVICE_ERRORS as error:
            refusal_onto_form(form, error, field="name")
        else:
            messages.success(request, f"API key “{token.name}” created. Copy it now.")
            return show_secret_once(request, new_secret, "portal:tokens")
    new_secret = secret_to_show(request) if request.method == "GET" else None
    response = render_portal(
        request,
        "portal/tokens.html",
        {
            "form": form,
            "new_secret": new_secret,
            "tokens": ApiToken.objects.for_customer(customer).select_related("created_by"),
        },
        status=422 if form.errors else 200,
    )
    return private_page(response, new_secret)


@require_POST
@portal_page(admin_only=True)
def token_revoke(request: AuthedRequest, token_id: UUID) -> HttpResponse:
    token = get_object_or_404(ApiToken.objects.for_customer(request.customer), pk=token_id)
    attempt(
        request,
        f"API key “{token.name}” revoked.",
        api_token_revoke,
        token=token,
        actor=request.user,
    )
    return redirect("portal:tokens")
