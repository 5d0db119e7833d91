"""A customer's invitations: list, send, resend, revoke."""

from __future__ import annotations

from typing import Any, Literal

from ninja import Router, Schema, Status
from ninja.errors import HttpError

from customers.api.schemas import ERRORS, Detail, iso
from customers.api.types import Email
from customers.people.models import Invitation
from customers.people.services.invitations import invite_resend, invite_revoke, invite_send
from customers.platform.requests import AuthedRequest
from customers.records.api.lookup import customer_in_scope, uuid_or_none

router = Router(tags=["Customer"])


class InvitationOut(Schema):
    id: str
    email: str
    role: str
    status: str
    is_admin_invite: bool
    created_at: str
    expires_at: str
    accepted_at: str | None


def invitation_out(invitation: Invitation) -> dict[str, Any]:
    return {
        "id": str(invitation.pk),
        "email": invitation.email,
        "role": invitation.role,
        "status": invitation.display_status,
        "is_admin_invite": invitation.is_admin_invite,
        "created_at": invitation.created_at.isoformat(),
        "expires_at": invitation.expires_at.isoformat(),
        "accepted_at": iso(invitation.accepted_at),
    }


class InvitationCreate(Schema):
    email: Email
    role: Literal["user", "billing", "engineer", "superuser"] = "user"


@router.get(
    "/customer/{customer_id}/invitations",
    response={200: list[InvitationOut], **ERRORS},
    summary="List invitations",
)
def invitations_list(request: AuthedRequest, customer_id: str):
    customer = customer_in_scope(request, customer_id)
    return [invitation_out(i) for i in Invitation.objects.for_customer(customer)]


@router.post(
    "/customer/{customer_id}/invitations",
    response={201: InvitationOut, 409: Detail, **ERRORS},
    summary="Invite a user by email",
)
def invitations_create(request: AuthedRequest, customer_id: str, payload: InvitationCreate):
    customer = customer_in_scope(request, customer_id)
    invitation = invite_send(
        customer=customer, email=payload.email, role=payload.role, actor=request.auth
    )
    return Status(201, invitation_out(invitation))


def _invitation(request: AuthedRequest, customer_id: str, invitation_id: str) -> Invitation:
    customer = customer_in_scope(request, customer_id)
    invitation = (
        Invitation.objects.for_customer(customer)
        .select_related("customer")
        .filter(pk=uuid_or_none(invitation_id))
        .first()
        if uuid_or_none(invitation_id)
        else None
    )
    if invitation is None:
        raise HttpError(404, "No such invitation for this customer.")
    return invitation


@router.post(
    "/customer/{customer_id}/invitations/{invitation_id}/resend",
    response={200: InvitationOut, 409: Detail, **ERRORS},
    summary="Resend an invitation (new link, new expiry)",
)
def invitations_resend(request: AuthedRequest, customer_id: str, invitation_id: str):
    invitation = _invitation(request, customer_id, invitation_id)
    return invitation_out(invite_resend(invitation=invitation, actor=request.auth))


@router.post(
    "/customer/{customer_id}/invitations/{invitation_id}/revoke",
    response={200: InvitationOut, 409: Detail, **ERRORS},
    summary="Revoke an invitation",
)
def invitations_revoke(request: AuthedRequest, customer_id: str, invitation_id: str):
    invitation = _invitation(request, customer_id, invitation_id)
    return invitation_out(invite_revoke(invitation=invitation, actor=request.auth))
