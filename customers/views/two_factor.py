"""Two-factor authentication in the portal: set up a TOTP device, and pass it at sign-in."""

from __future__ import annotations

from base64 import b32encode

import qrcode
import qrcode.image.svg
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.services import Outcome, record
from customers.forms import TokenCodeForm
from customers.middleware import current_seat
from customers.models import CustomerUser
from customers.views.portal_access import portal_page, render_portal

THROTTLED = "Too many wrong codes in a row: wait a few seconds, then enter the current code."


def _verified(request: HttpRequest, device: TOTPDevice, action: str) -> HttpResponse:
    otp_login(request, device)
    seat = current_seat(request)
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
    response = render_portal(
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
    status = 200
    if request.method == "POST" and form.is_valid():
        device, status = _check_code(request, devices, form)
        if device is not None:
            return _verified(request, device, "two_factor.verified")
    return render_portal(request, "portal/two_factor_verify.html", {"form": form}, status=status)


def _check_code(
    request: HttpRequest, devices: list[TOTPDevice], form: TokenCodeForm
) -> tuple[TOTPDevice | None, int]:
    """The device the code belongs to; otherwise None and the status the page answers with
    (429 while django-otp makes the person wait after wrong codes)."""
    if not any(d.verify_is_allowed()[0] for d in devices):
        form.add_error("code", THROTTLED)
        return None, 429
    code = form.cleaned_data["code"].strip()
    device = next((d for d in devices if d.verify_token(code)), None)
    if device is None:
        record(
            action="two_factor.failed",
            organization=request.customer.organization,
            actor=request.user,
            resource=request.user,
            resource_type="user",
            outcome=Outcome.FAILURE,
        )
        form.add_error("code", "That code is not right. Try the current code from your app.")
    return device, 422


def _base32(key: bytes) -> str:
    return b32encode(key).decode().rstrip("=")
