"""Buttons on invitations, shared by the console and the portal: resend and revoke, and the warning
when an invitation's email could not be sent."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from customers.people.models import Invitation
from customers.people.services.invitations import INVITE_EMAIL_FAILED, invite_resend, invite_revoke
from customers.platform.requests import AuthedRequest
from customers.platform.responses import attempt


def undelivered(invitation: Any) -> str | None:
    """What to say when an invitation is saved but its email could not be sent."""
    if not getattr(invitation, "delivery_failed", False):
        return None
    return INVITE_EMAIL_FAILED.format(email=invitation.email)


def warn_if_undelivered(request: AuthedRequest, invitation: Any) -> bool:
    """Say so when an invitation is saved but its email could not be sent; True if it said."""
    if said := undelivered(invitation):
        messages.warning(request, said)
    return bool(said)


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
        warning=undelivered,
        invitation=invitation,
        actor=request.user,
    )
