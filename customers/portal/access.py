"""Who may use the portal right now: the checks every portal page runs first."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse

from audit.trail.actions import Action
from customers.identity.middleware import current_seat
from customers.identity.permissions import refuse_in_portal
from customers.identity.services.sign_in import password_sign_in_refused
from customers.identity.services.two_factor import has_two_factor
from customers.identity.signals import (
    SESSION_SIGNED_IN_AT,
    SESSION_SSO_CONNECTION,
    SESSION_SSO_CUSTOMER,
)
from customers.identity.sso.models import SsoConnection
from customers.people.models import CustomerUser
from customers.platform.net import client_ip, ip_allowed
from customers.platform.requests import AuthedRequest

ADMIN_ONLY = "Only an admin of your customer can change this."
# Whether this request's session passed through a still-active SSO connection, asked once.
THROUGH_SSO = "_through_sso"
ADMIN_ONLY_TO_READ = "Only an admin of your customer can see this page."


# Any page, a streamed export's too.
View = Callable[..., HttpResponseBase]


def _never() -> bool:
    return False


def _blocked(request: AuthedRequest, seat: CustomerUser) -> HttpResponse | None:
    """Why this person may not use the portal right now, as a page; None when they may."""
    customer = seat.customer
    if customer.is_closed:
        reason = (
            f"{customer.name} is {customer.get_status_display().lower()}, so its portal is "
            f"closed. Contact {customer.organization.name} to have it {customer.reopened_by}."
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
        refuse_in_portal(request, customer, reason, Action.PORTAL_IP_DENIED)
    return render(
        request, "portal/blocked.html", {"reason": reason, "customer": customer}, status=403
    )


def _second_factor(request: AuthedRequest, seat: CustomerUser) -> HttpResponse | None:
    """Pass the second factor before anything else: always once the person has enrolled a
    device, and with forced 2FA, set one up first."""
    # django-otp's middleware gives the user is_verified(); no stub knows it.
    if getattr(request.user, "is_verified", _never)() or _through_sso(request, seat):
        return None
    has_device = has_two_factor(request.user)
    customer = seat.customer
    # Past forced SSO with a password (break-glass, the only way): a second factor always.
    if not customer.force_2fa and not customer.force_sso and not has_device:
        return None
    if _began_before_forced_2fa(request, seat):
        # A session that began before 2FA was required, and never passed it, ends here.
        logout(request)
        messages.info(
            request,
            f"{customer.name} now requires two-factor authentication. Sign in again to set it up.",
        )
        return redirect(f"{reverse('login')}?next={reverse('portal:home')}")
    return redirect("portal:two_factor_verify" if has_device else "portal:two_factor_setup")


def _began_before_forced_2fa(request: AuthedRequest, seat: CustomerUser) -> bool:
    customer = seat.customer
    started = request.session.get(SESSION_SIGNED_IN_AT)
    return bool(
        customer.force_2fa
        and customer.force_2fa_since
        and (not started or datetime.fromisoformat(started) < customer.force_2fa_since)
    )


def _through_sso(request: AuthedRequest, seat: CustomerUser) -> bool:
    """Whether this session signed in through the seat's customer's own SSO, by a connection
    that is still active (one deactivated or re-keyed since vouches for nobody)."""
    if request.session.get(SESSION_SSO_CUSTOMER) != str(seat.customer_id):
        return False
    if THROUGH_SSO not in request.__dict__:
        request.__dict__[THROUGH_SSO] = (
            SsoConnection.objects.for_customer(seat.customer)
            .filter(pk=request.session.get(SESSION_SSO_CONNECTION), status="active")
            .exists()
        )
    return bool(request.__dict__[THROUGH_SSO])


def _password_sign_in_refused(request: AuthedRequest, seat: CustomerUser) -> HttpResponse | None:
    """The sign-in page's refusal (forced SSO), applied on every portal request too: a session
    obtained some other way (an invitation link, a session from before SSO was forced) ends;
    one that signed in through the customer's SSO goes on."""
    if _through_sso(request, seat):
        return None
    refusal = password_sign_in_refused(request.user, request)
    if not refusal:
        return None
    logout(request)
    return render(request, "portal/blocked.html", {"reason": refusal}, status=403)


def _admins_only(request: AuthedRequest, admin_only: bool, read_admin_only: bool) -> str | None:
    """Why someone who is not an admin of the customer may not do this; None if they may."""
    if read_admin_only:
        return ADMIN_ONLY_TO_READ
    if admin_only and request.method == "POST":
        return ADMIN_ONLY
    return None


def portal_page(
    *, admin_only: bool = False, read_admin_only: bool = False, second_factor: bool = True
) -> Callable[[View], View]:
    """A portal page: signed in with a seat, not blocked, past the second factor. With
    ``admin_only`` only the customer's admins may POST; with ``read_admin_only`` only they may
    see the page at all."""

    def decorator(view: View) -> View:
        @login_required
        @wraps(view)
        def wrapped(request: AuthedRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            seat = current_seat(request)
            if seat is None:
                return render(request, "portal/no_customer.html", status=403)
            blocked = _password_sign_in_refused(request, seat) or _blocked(request, seat)
            if blocked is not None:
                return blocked
            if second_factor:
                challenge = _second_factor(request, seat)
                if challenge is not None:
                    return challenge
            request.seat, request.customer = seat, seat.customer
            refusal = None if seat.is_admin else _admins_only(request, admin_only, read_admin_only)
            if refusal:
                refuse_in_portal(request, seat.customer, refusal, Action.PERMISSION_DENIED)
                raise PermissionDenied(refusal)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def render_portal(
    request: AuthedRequest, template: str, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    context.setdefault("customer", request.customer)
    context.setdefault("seat", request.seat)
    return render(request, template, context, status=status)
