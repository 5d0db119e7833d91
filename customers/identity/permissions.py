"""Who may see and change an organization's pages: members, writers (owners and admins), owners;
and the audited refusal everyone else gets."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render

from audit.trail.actions import Action
from audit.trail.services import Outcome, record
from customers.identity.middleware import current_seat
from customers.identity.models import Membership
from customers.platform.requests import AuthedRequest, TenantRequest

# Any page, a streamed export's too.
View = Callable[..., HttpResponseBase]


VIEWER_CANNOT_WRITE = "Your role in this organization is read-only."


OWNERS_ONLY = "Only the organization's owners can change this."


def organization_required(view: View) -> View:
    """Signed in and a member of some organization; otherwise a page that says what to do."""

    @login_required
    @wraps(view)
    def wrapped(request: TenantRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if request.organization is None:
            if current_seat(request) is not None:
                # A customer's user: their place is the portal.
                return redirect("portal:home")
            return render(request, "customers/no_organization.html", status=403)
        return view(request, *args, **kwargs)

    return wrapped


def refuse_unless_owner(request: AuthedRequest) -> None:
    """Owners only: anyone else's attempt is recorded as denied and answered 403."""
    if request.membership.role != Membership.Role.OWNER:
        refuse_write(request, OWNERS_ONLY)


def refuse_write(request: AuthedRequest, message: str = VIEWER_CANNOT_WRITE) -> None:
    """Record the denied attempt, then answer 403."""
    match = request.resolver_match
    record(
        action=Action.PERMISSION_DENIED,
        organization=request.organization,
        actor=request.user,
        resource_type="url",
        resource_id=(match.view_name if match else "")[:64],
        resource_label=f"{request.method} {request.path}",
        outcome=Outcome.DENIED,
        message=message,
    )
    raise PermissionDenied(message)


def refuse_in_portal(request: AuthedRequest, customer: Any, message: str, action: Action) -> None:
    """Record a portal refusal (an address off the allow-list, a user who is not an admin) as
    denied, in the customer's trail; the caller answers."""
    record(
        action=action,
        organization=customer.organization,
        actor=request.user,
        resource=customer,
        outcome=Outcome.DENIED,
        message=message,
    )


def write_access_required(view: View) -> View:
    """Owners and admins only: a viewer gets 403 (and an audit entry), whatever the method."""

    @organization_required
    @wraps(view)
    def wrapped(request: AuthedRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.membership.can_write:
            refuse_write(request)
        return view(request, *args, **kwargs)

    return wrapped
