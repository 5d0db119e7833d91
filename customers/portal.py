"""The customer portal (/portal/): a customer's own users run their own customer.

Every query here is scoped with ``.for_customer(request.customer)``: the portal can never show
another customer's rows, even of the same organization.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import wraps
from typing import Any
from uuid import UUID

import qrcode
import qrcode.image.svg
from django import forms
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.services import Outcome, record
from customers.access import attempt, warn_if_undelivered
from customers.forms import (
    PortalCustomerForm,
    merge_stale_edit,
    record_sign_in_refusal,
    sign_in_refusal,
)
from customers.models import ApiToken, Connection, CustomerStatus, CustomerUser, Invitation
from customers.net import client_ip, ip_allowed
from customers.services import (
    ServiceError,
    StaleEdit,
    api_token_create,
    api_token_revoke,
    connection_revoke,
    customer_user_change_role,
    customer_user_remove,
    customer_user_set_locked,
    invite_resend,
    invite_revoke,
    invite_send,
    portal_settings_update,
)
from customers.signals import SESSION_SIGNED_IN_AT

ADMIN_ONLY = "Only an admin of your customer can change this."

View = Callable[..., HttpResponse]


def _refuse(request: HttpRequest, customer: Any, message: str, action: str) -> None:
    record(
        action=action,
        organization=customer.organization,
        actor=request.user,
        resource=customer,
        outcome=Outcome.DENIED,
        message=message,
    )


def _blocked(request: HttpRequest, seat: CustomerUser) -> HttpResponse | None:
    """Why this person may not use the portal right now, as a page; None when they may."""
    customer = seat.customer
    if customer.status in (CustomerStatus.SUSPENDED, CustomerStatus.DELETED):
        reason = (
            f"{customer.name} is {customer.get_status_display().lower()}, so its portal is "
            f"closed. Contact {customer.organization.name} to have it reactivated."
        )
    elif seat.locked:
        reason = "Your account was locked by an admin of your customer. Ask them to unlock it."
    else:
        address = client_ip(request)
        if ip_allowed(address, customer.ip_whitelist):
            return None
        reason = (
            f"{customer.name} only allows access from listed addresses, and yours ({address}) "
            "is not one of them. Ask an admin of your customer to add it."
        )
        _refuse(request, customer, reason, "portal.ip_denied")
    return render(
        request, "portal/blocked.html", {"reason": reason, "customer": customer}, status=403
    )


def _second_factor(request: HttpRequest, seat: CustomerUser) -> HttpResponse | None:
    """Pass the second factor before anything else: always once the person has enrolled a
    device, and with forced 2FA, set one up first."""
    if request.user.is_verified():
        return None
    has_device = TOTPDevice.objects.filter(user=request.user, confirmed=True).exists()
    customer = seat.customer
    if not customer.force_2fa and not has_device:
        return None
    started = request.session.get(SESSION_SIGNED_IN_AT)
    if (
        customer.force_2fa
        and customer.force_2fa_since
        and (not started or datetime.fromisoformat(started) < customer.force_2fa_since)
    ):
        # A session that began before 2FA was required, and never passed it, ends here.
        logout(request)
        messages.info(
            request,
            f"{customer.name} now requires two-factor authentication. Sign in again to set it up.",
        )
        return redirect(f"{reverse('login')}?next={reverse('portal:home')}")
    return redirect("portal:two_factor_verify" if has_device else "portal:two_factor_setup")


def _password_sign_in_refused(request: HttpRequest) -> HttpResponse | None:
    """The sign-in page's refusal (forced SSO), applied on every portal request too: a session
    obtained some other way (an invitation link, a session from before SSO was forced) ends."""
    refusal = sign_in_refusal(request.user)
    if not refusal:
        return None
    record_sign_in_refusal(request.user, refusal, request)
    logout(request)
    return render(request, "portal/blocked.html", {"reason": refusal}, status=403)


def portal_page(*, admin_only: bool = False, second_factor: bool = True) -> Callable[[View], View]:
    def decorator(view: View) -> View:
        @login_required
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            seat = CustomerUser.seats_of(request.user).first()
            if seat is None:
                return render(request, "portal/no_customer.html", status=403)
            blocked = _password_sign_in_refused(request) or _blocked(request, seat)
            if blocked is not None:
                return blocked
            if second_factor:
                challenge = _second_factor(request, seat)
                if challenge is not None:
                    return challenge
            request.seat, request.customer = seat, seat.customer
            if admin_only and not seat.is_admin and request.method == "POST":
                _refuse(request, seat.customer, ADMIN_ONLY, "permission.denied")
                raise PermissionDenied(ADMIN_ONLY)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def _render(request: HttpRequest, template: str, context: dict[str, Any], status: int = 200):
    context.setdefault("customer", request.customer)
    context.setdefault("seat", request.seat)
    return render(request, template, context, status=status)


@portal_page()
def home(request: HttpRequest) -> HttpResponse:
    return _render(
        request,
        "portal/home.html",
        {
            "admin_invitation": request.customer.admin_invitation,
        },
    )


@portal_page(admin_only=True)
def settings_view(request: HttpRequest) -> HttpResponse:
    customer = request.customer
    form = PortalCustomerForm(request.POST or None, instance=customer)
    if not request.seat.is_admin:
        for field in form.fields.values():
            field.disabled = True
    conflict = None
    if request.method == "POST" and form.is_valid():
        changes = {name: form.cleaned_data[name] for name in form.changed_data if name != "version"}
        try:
            portal_settings_update(
                customer=customer,
                actor=request.user,
                expected_version=form.cleaned_data["version"],
                changes=changes,
                client_address=client_ip(request),
            )
        except StaleEdit as error:
            conflict, form = merge_stale_edit(request, form, error.current)
            form.add_error(None, f"{error} Review the differences below, then save again.")
        except ValidationError as error:
            for field, errors in error.message_dict.items():
                for message in errors:
                    form.add_error(field if field in form.fields else None, message)
        except ServiceError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, "Settings saved.")
            return redirect("portal:settings")
    return _render(
        request,
        "portal/settings.html",
        {"form": form, "conflict": conflict},
        status=409 if conflict else 422 if form.errors else 200,
    )


class TeammateInviteForm(forms.Form):
    email = forms.EmailField(
        error_messages={"invalid": "Enter a full email address, like jane@example.com."}
    )
    role = forms.ChoiceField(choices=CustomerUser.Role.choices, initial=CustomerUser.Role.USER)


@portal_page(admin_only=True)
def users(request: HttpRequest) -> HttpResponse:
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
            form.add_error("email", " ".join(getattr(error, "messages", [str(error)])))
        else:
            if not warn_if_undelivered(request, invitation):
                messages.success(request, f"Invitation sent to {form.cleaned_data['email']}.")
            return redirect("portal:users")
    return _render(
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


def _seat(request: HttpRequest, seat_id: UUID) -> CustomerUser:
    return get_object_or_404(
        CustomerUser.objects.for_customer(request.customer).select_related("user", "customer"),
        pk=seat_id,
    )


def _seat_action(run: Callable[[HttpRequest, CustomerUser], str]) -> View:
    @require_POST
    @portal_page(admin_only=True)
    @wraps(run)
    def view(request: HttpRequest, seat_id: UUID) -> HttpResponse:
        seat = _seat(request, seat_id)
        try:
            messages.success(request, run(request, seat))
        except ServiceError as error:
            messages.error(request, str(error))
        return redirect("portal:users")

    return view


@_seat_action
def user_role(request: HttpRequest, seat: CustomerUser) -> str:
    seat = customer_user_change_role(
        seat=seat, role=request.POST.get("role", ""), actor=request.user
    )
    return f"{seat.user.email} is now {seat.get_role_display()}."


@_seat_action
def user_lock(request: HttpRequest, seat: CustomerUser) -> str:
    customer_user_set_locked(seat=seat, locked=True, actor=request.user)
    return f"{seat.user.email} is locked out of the portal."


@_seat_action
def user_unlock(request: HttpRequest, seat: CustomerUser) -> str:
    customer_user_set_locked(seat=seat, locked=False, actor=request.user)
    return f"{seat.user.email} can sign in again."


@_seat_action
def user_remove(request: HttpRequest, seat: CustomerUser) -> str:
    customer_user_remove(seat=seat, actor=request.user)
    return f"{seat.user.email} was removed from {seat.customer.name}."


def _invitation_action(service: Callable[..., Any], success: str) -> View:
    @require_POST
    @portal_page(admin_only=True)
    def view(request: HttpRequest, invitation_id: UUID) -> HttpResponse:
        invitation = get_object_or_404(
            Invitation.objects.for_customer(request.customer).select_related("customer"),
            pk=invitation_id,
        )
        attempt(
            request,
            success.format(email=invitation.email),
            service,
            invitation=invitation,
            actor=request.user,
        )
        return redirect("portal:users")

    return view


invitation_resend = _invitation_action(invite_resend, "Sent a new invitation to {email}.")
invitation_revoke = _invitation_action(invite_revoke, "Revoked the invitation for {email}.")


@portal_page()
def connections(request: HttpRequest) -> HttpResponse:
    return _render(
        request,
        "portal/connections.html",
        {
            "connections": Connection.objects.for_customer(request.customer),
        },
    )


@require_POST
@portal_page(admin_only=True)
def connection_revoke_view(request: HttpRequest, connection_id: UUID) -> HttpResponse:
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
def usage(request: HttpRequest) -> HttpResponse:
    from billing.services import chart_bars, events_per_day_series, usage_rows

    customer = request.customer
    return _render(
        request,
        "portal/usage.html",
        {
            "usage_rows": usage_rows(customer),
            "chart": chart_bars(events_per_day_series(customer)),
            "chart_id": "portal",
        },
    )


class TokenForm(forms.Form):
    name = forms.CharField(
        max_length=100, label="Token name", help_text="Where it will be used, e.g. “ci-pipeline”."
    )


@portal_page(admin_only=True)
def tokens(request: HttpRequest) -> HttpResponse:
    customer = request.customer
    form = TokenForm(request.POST or None)
    new_secret = None
    if request.method == "POST" and form.is_valid():
        try:
            _, new_secret = api_token_create(
                organization=customer.organization,
                customer=customer,
                name=form.cleaned_data["name"],
                actor=request.user,
            )
        except ServiceError as error:
            form.add_error("name", str(error))
        else:
            form = TokenForm()
    response = _render(
        request,
        "portal/tokens.html",
        {
            "form": form,
            "new_secret": new_secret,
            "tokens": ApiToken.objects.for_customer(customer).select_related("created_by"),
        },
        status=422 if form.errors else 200,
    )
    if new_secret:
        response["Cache-Control"] = "no-store"
    return response


@require_POST
@portal_page(admin_only=True)
def token_revoke(request: HttpRequest, token_id: UUID) -> HttpResponse:
    token = get_object_or_404(ApiToken.objects.for_customer(request.customer), pk=token_id)
    attempt(
        request, f"Token “{token.name}” revoked.", api_token_revoke, token=token, actor=request.user
    )
    return redirect("portal:tokens")


# --- two-factor authentication ----------------------------------------------------------------


THROTTLED = "Too many wrong codes in a row: wait a few seconds, then enter the current code."


class TokenCodeForm(forms.Form):
    code = forms.CharField(
        label="6-digit code",
        max_length=8,
        widget=forms.TextInput(
            attrs={"inputmode": "numeric", "autocomplete": "one-time-code", "autofocus": True}
        ),
    )


def _verified(request: HttpRequest, device: TOTPDevice, action: str) -> HttpResponse:
    otp_login(request, device)
    seat = CustomerUser.seats_of(request.user).first()
    if seat is not None and not seat.two_factor_enabled:
        CustomerUser.objects.for_customer(seat.customer).filter(pk=seat.pk).update(
            two_factor_enabled=True
        )
    record(
        action=action,
        organization=seat.customer.organization if seat else None,
        actor=request.user,
        resource=request.user,
        resource_type="user",
    )
    return redirect("portal:home")


@portal_page(second_factor=False)
def two_factor_setup(request: HttpRequest) -> HttpResponse:
    user = request.user
    if TOTPDevice.objects.filter(user=user, confirmed=True).exists():
        return redirect("portal:two_factor_verify")
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)
    form = TokenCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        allowed, _ = device.verify_is_allowed()
        if not allowed:
            form.add_error("code", THROTTLED)
        elif device.verify_token(form.cleaned_data["code"].strip()):
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            messages.success(request, "Two-factor authentication is on.")
            return _verified(request, device, "two_factor.enabled")
        form.add_error(
            "code", "That code is not right. Check your device's clock and try the current code."
        )
    image = qrcode.make(device.config_url, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    response = _render(
        request,
        "portal/two_factor_setup.html",
        {
            "form": form,
            "qr_svg": image.to_string(encoding="unicode"),
            "secret": _base32(device.bin_key),
        },
        status=422 if form.errors else 200,
    )
    response["Cache-Control"] = "no-store"
    return response


@portal_page(second_factor=False)
def two_factor_verify(request: HttpRequest) -> HttpResponse:
    devices = list(TOTPDevice.objects.filter(user=request.user, confirmed=True))
    if not devices:
        return redirect("portal:two_factor_setup")
    form = TokenCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        code = form.cleaned_data["code"].strip()
        if not any(d.verify_is_allowed()[0] for d in devices):
            form.add_error("code", THROTTLED)
            return _render(request, "portal/two_factor_verify.html", {"form": form}, status=429)
        device = next((d for d in devices if d.verify_token(code)), None)
        if device is not None:
            return _verified(request, device, "two_factor.verified")
        record(
            action="two_factor.failed",
            organization=request.customer.organization,
            actor=request.user,
            resource=request.user,
            resource_type="user",
            outcome=Outcome.FAILURE,
        )
        form.add_error("code", "That code is not right. Try the current code from your app.")
    return _render(
        request, "portal/two_factor_verify.html", {"form": form}, status=422 if form.errors else 200
    )


def _base32(key: bytes) -> str:
    from base64 import b32encode

    return b32encode(key).decode().rstrip("=")
