"""What views share: who may see and change an organization's pages, and how a refused service
reaches the person (a message, or errors on the form they sent)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from audit.trail.actions import Action
from audit.trail.services import Outcome, record
from customers.forms import merge_stale_edit
from customers.identity.middleware import current_seat
from customers.identity.models import Membership
from customers.people.models import Invitation
from customers.people.services.invitations import INVITE_EMAIL_FAILED, invite_resend, invite_revoke
from customers.platform.errors import SERVICE_ERRORS, ServiceError, StaleEdit, refusal_text
from customers.platform.requests import AuthedRequest, TenantRequest

View = Callable[..., HttpResponse]

VIEWER_CANNOT_WRITE = "Your role in this organization is read-only."
OWNERS_ONLY = "Only the organization's owners can change this."


def organization_required(view: View) -> View:
    """Signed in and a member of some organization; otherwise a page that says what to do."""

    @login_required
    @wraps(view)
    def wrapped(request: TenantRequest, *args: Any, **kwargs: Any) -> HttpResponse:
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
    def wrapped(request: AuthedRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.membership.can_write:
            refuse_write(request)
        return view(request, *args, **kwargs)

    return wrapped


def attempt(
    request: AuthedRequest, success: str, service: Callable[..., Any], **kwargs: Any
) -> bool:
    """Run a service for a button press: its refusal becomes an error message, its success the
    ``success`` message. True when it went through."""

    try:
        result = service(**kwargs)
    except SERVICE_ERRORS as error:
        messages.error(request, refusal_text(error))
        return False
    if not warn_if_undelivered(request, result):
        messages.success(request, success)
    return True


def warn_if_undelivered(request: AuthedRequest, invitation: Any) -> bool:
    """Say so when an invitation is saved but its email could not be sent; True if it said."""
    if not getattr(invitation, "delivery_failed", False):
        return False
    messages.warning(request, INVITE_EMAIL_FAILED.format(email=invitation.email))
    return True


def refusal_onto_form(form: Any, error: Exception, *, field: str | None = None) -> None:
    """The one place views turn a refused service into what a form shows: a validation error
    next to its field, any other refusal next to ``field`` (or above the form)."""
    if isinstance(error, ValidationError) and hasattr(error, "error_dict"):
        for name, messages in error.message_dict.items():
            for message in messages:
                form.add_error(name if name in form.fields else field, message)
    elif isinstance(error, ValidationError):
        form.add_error(field, " ".join(error.messages))
    else:
        form.add_error(field, str(error))


@dataclass
class Edit:
    """The outcome of saving an edit form through a service."""

    form: Any
    saved: bool = False
    conflict: list[dict[str, Any]] | None = None

    @property
    def status(self) -> int:
        return 409 if self.conflict else 422 if self.form.errors else 200


def save_edit(
    request: AuthedRequest, form: Any, service: Callable[..., Any], **kwargs: Any
) -> Edit:
    """Save a customer edit form (the console's or the portal's) through ``service``: only the
    changed fields, pinned to the version the form was read at. A stale edit keeps both
    people's changes in view (merge_stale_edit) instead of overwriting."""
    changes = {name: form.cleaned_data[name] for name in form.changed_data if name != "version"}
    try:
        service(expected_version=form.cleaned_data["version"], changes=changes, **kwargs)
    except StaleEdit as error:
        conflict, form = merge_stale_edit(request, form, error.current)
        form.add_error(None, f"{error} Review the differences below, then save again.")
        return Edit(form, conflict=conflict)
    except (ServiceError, ValidationError) as error:
        refusal_onto_form(form, error)
        return Edit(form)
    return Edit(form, saved=True)


INVITATION_ACTIONS: dict[str, tuple[Callable[..., Any], str]] = {
    "resend": (
        invite_resend,
        "Sent a new invitation to {email}; the previous link no longer works.",
    ),
    "revoke": (invite_revoke, "Revoked the invitation for {email}."),
}


def act_on_invitation(
    request: AuthedRequest, invitations: QuerySet[Invitation], invitation_id: Any, action: str
) -> None:
    """Resend or revoke one of ``invitations`` (already scoped to the customer): 404 for any
    other id, the service's refusal or success as a message. The console and the portal both
    use it."""
    invitation = get_object_or_404(invitations.select_related("customer"), pk=invitation_id)
    service, success = INVITATION_ACTIONS[action]
    attempt(
        request,
        success.format(email=invitation.email),
        service,
        invitation=invitation,
        actor=request.user,
    )


NEW_SECRET = "new_secret"


def show_secret_once(request: AuthedRequest, secret: str, page: str) -> HttpResponse:
    """After creating a key: redirect (so a reload cannot create a second one) to ``page``,
    which shows the secret once, from the session."""
    request.session[NEW_SECRET] = secret
    return redirect(page)


def secret_to_show(request: AuthedRequest) -> str | None:
    """The secret a creation just stored, taken out of the session: it shows once."""
    return request.session.pop(NEW_SECRET, None)


def private_page(response: HttpResponse, secret: str | None) -> HttpResponse:
    if secret:
        # The secret is on this page only: keep it out of every cache.
        response["Cache-Control"] = "no-store"
    return response
