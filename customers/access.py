"""View decorators: who may see and who may change an organization's pages."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

View = Callable[..., HttpResponse]

VIEWER_CANNOT_WRITE = "Your role in this organization is read-only."


def organization_required(view: View) -> View:
    """Signed in and a member of some organization; otherwise a page that says what to do."""

    @login_required
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.organization is None:
            from customers.models import CustomerUser

            if CustomerUser.seats_of(request.user).exists():
                # A customer's user: their place is the portal.
                return redirect("portal:home")
            return render(request, "customers/no_organization.html", status=403)
        return view(request, *args, **kwargs)

    return wrapped


def refuse_write(request: HttpRequest) -> None:
    """Record the denied attempt, then answer 403."""
    from audit.services import Outcome, record

    match = request.resolver_match
    record(
        action="permission.denied",
        organization=request.organization,
        actor=request.user,
        resource_type="url",
        resource_id=(match.view_name if match else "")[:64],
        resource_label=f"{request.method} {request.path}",
        outcome=Outcome.DENIED,
        message=VIEWER_CANNOT_WRITE,
    )
    raise PermissionDenied(VIEWER_CANNOT_WRITE)


def write_access_required(view: View) -> View:
    """Owners and admins only: a viewer gets 403 (and an audit entry), whatever the method."""

    @organization_required
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.membership.can_write:
            refuse_write(request)
        return view(request, *args, **kwargs)

    return wrapped


def attempt(request: HttpRequest, success: str, service: Callable[..., Any], **kwargs: Any) -> bool:
    """Run a service for a button press: its refusal becomes an error message, its success the
    ``success`` message. True when it went through."""
    from django.contrib import messages

    from customers.services import ServiceError

    try:
        result = service(**kwargs)
    except ServiceError as error:
        messages.error(request, str(error))
        return False
    if not warn_if_undelivered(request, result):
        messages.success(request, success)
    return True


def warn_if_undelivered(request: HttpRequest, invitation: Any) -> bool:
    """Say so when an invitation is saved but its email could not be sent; True if it said."""
    from django.contrib import messages

    from customers.services import INVITE_EMAIL_FAILED

    if not getattr(invitation, "delivery_failed", False):
        return False
    messages.warning(request, INVITE_EMAIL_FAILED.format(email=invitation.email))
    return True
