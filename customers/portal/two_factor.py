"""Two-factor authentication in the portal: set up a TOTP device, and pass it at sign-in."""

from __future__ import annotations

from base64 import b32encode

import qrcode
import qrcode.image.svg
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect
from django_otp import login as otp_login

from customers.identity.forms import TokenCodeForm
from customers.identity.services.two_factor import (
    CodeThrottled,
    confirmed_devices,
    device_for_setup,
    has_two_factor,
    two_factor_check,
    two_factor_enable,
)
from customers.platform.errors import ServiceError
from customers.platform.requests import AuthedRequest
from customers.portal.access import portal_page, render_portal


@portal_page(second_factor=False)
def two_factor_setup(request: AuthedRequest) -> HttpResponse:
    if has_two_factor(request.user):
        return redirect("portal:two_factor_verify")
    device = device_for_setup(request.user)
    form = TokenCodeForm(request.POST or None)
    throttled = False
    if request.method == "POST" and form.is_valid():
        try:
            two_factor_enable(
                user=request.user,
                seat=request.seat,
                device=device,
                code=form.cleaned_data["code"],
            )
        except ServiceError as refusal:
            form.add_error("code", str(refusal))
            throttled = isinstance(refusal, CodeThrottled)
        else:
            otp_login(request, device)
            messages.success(request, "Two-factor authentication is on.")
            return redirect("portal:home")
    image = qrcode.make(device.config_url, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    response = render_portal(
        request,
        "portal/two_factor_setup.html",
        {
            "form": form,
            "qr_svg": image.to_string(encoding="unicode"),
            "secret": _base32(device.bin_key),
        },
        status=(429 if throttled else 422) if form.errors else 200,
    )
    response["Cache-Control"] = "no-store"
    return response


@portal_page(second_factor=False)
def two_factor_verify(request: AuthedRequest) -> HttpResponse:
    devices = confirmed_devices(request.user)
    if not devices:
        return redirect("portal:two_factor_setup")
    form = TokenCodeForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            device = two_factor_check(
                user=request.user,
                seat=request.seat,
                code=form.cleaned_data["code"],
                devices=devices,
            )
        except ServiceError as refusal:
            form.add_error("code", str(refusal))
            # 429 while django-otp makes the person wait after wrong codes.
            status = 429 if isinstance(refusal, CodeThrottled) else 422
        else:
            otp_login(request, device)
            return redirect("portal:home")
    return render_portal(request, "portal/two_factor_verify.html", {"form": form}, status=status)


def _base32(key: bytes) -> str:
    return b32encode(key).decode().rstrip("=")
