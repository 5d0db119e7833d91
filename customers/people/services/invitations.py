"""Invitations: send, resend, revoke, accept, and replacing a customer's admin."""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone

from audit.trail.actions import Action
from audit.trail.services import Outcome, as_json, record
from billing.services import check_gauge
from customers.identity.models import ApiToken, User
from customers.people.models import CustomerUser, Invitation
from customers.platform import mail
from customers.platform.errors import Denied, Invalid, InvitationUnusable, ServiceError
from customers.records.models import Customer
from customers.records.services.common import CUSTOMER_DELETED_NO_CHANGES, audited, locked_customer
from customers.records.services.lifecycle import Status, transition

logger = logging.getLogger(__name__)


INVITE_NOT_PENDING = (
    "This invitation is {status}: only a pending or expired invitation can be {verb}."
)


SAME_ADMIN = "{email} is already the customer admin of {name}."


def _new_invite_token() -> tuple[str, str]:
    token = secrets.token_urlsafe(32)  # 256 bits
    return token, hash_invite_token(token)


def hash_invite_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _send_invite_email(invitation: Invitation, token: str, inviter: str) -> None:
    """Send the invitation. Runs after the commit, so a failure must not become an error page
    for a write that is already saved: it is logged, audited, and marked on the invitation
    (``delivery_failed``) for the page to say so; resending works as usual."""
    context = {
        "invitation": invitation,
        "customer": invitation.customer,
        "organization": invitation.customer.organization,
        "inviter": inviter,
        "accept_url": f"{settings.SITE_URL}{reverse('invite_landing', args=[token])}",
        "expires_at": invitation.expires_at,
    }
    try:
        mail.send(mail.letter("customers/email/invite", context), [invitation.email])
    except Exception as error:  # any backend failure: SMTP down, a refused header…
        logger.exception("The invitation email to %s could not be sent", invitation.email)
        invitation.delivery_failed = True
        record(
            action=Action.INVITE_EMAIL_FAILED,
            organization=invitation.customer.organization,
            actor=None,
            resource=invitation,
            resource_label=f"{invitation.email} → {invitation.customer.name}",
            outcome=Outcome.FAILURE,
            message=f"The email could not be sent ({type(error).__name__}); resend it.",
        )


INVITE_EMAIL_FAILED = (
    "The invitation to {email} is saved, but its email could not be sent. Use Resend to try again."
)


def _issue(invitation: Invitation, actor: Any) -> str:
    token, invitation.token_hash = _new_invite_token()
    now = timezone.now()
    invitation.sent_at = now
    invitation.expires_at = now + timedelta(days=settings.INVITE_TTL_DAYS)
    invitation.send_count += 1
    invitation.status = Invitation.Status.PENDING
    invitation.expiry_announced_at = None  # a new link can expire (and be announced) again
    inviter = (
        getattr(actor, "name", "")
        or getattr(actor, "email", "")
        or str(invitation.customer.organization)
    )
    # Email leaves only once the invitation is committed: never a link to a rolled-back row.
    transaction.on_commit(lambda: _send_invite_email(invitation, token, inviter))
    return token


SEATS_FULL = (
    "{name} has used all {limit} of its seats. Remove a user, or ask {org} to raise the "
    "limit, before adding another."
)


def check_seats(customer: Customer) -> None:
    current = CustomerUser.objects.for_customer(customer).count()
    verdict = check_gauge(customer, "seats", current=current)
    if not verdict.allowed:
        raise ServiceError(
            SEATS_FULL.format(
                name=customer.name, limit=verdict.limit, org=customer.organization.name
            )
        )


@audited(Action.INVITE_SENT)
@transaction.atomic
def invite_send(
    *,
    customer: Customer,
    email: str,
    role: str,
    actor: User | ApiToken | None,
    is_admin_invite: bool = False,
) -> Invitation:
    email = User.objects.normalize_email(email.strip()).lower()
    try:
        validate_email(email)
    except ValidationError:
        raise Invalid(f"“{email}” is not a valid email address.") from None
    if not is_admin_invite:
        check_seats(customer)  # early word; acceptance checks again
    invitation = Invitation(
        organization_id=customer.organization_id,
        customer=customer,
        email=email,
        role=role,
        is_admin_invite=is_admin_invite,
        invited_by=actor if isinstance(actor, User) else None,
        expires_at=timezone.now(),
    )
    _issue(invitation, actor)
    invitation.save(force_insert=True)
    record(
        action=Action.INVITE_SENT,
        organization=customer.organization,
        actor=actor,
        resource=invitation,
        resource_label=f"{email} → {customer.name}",
        changes={"email": [None, email], "role": [None, role]},
    )
    return invitation


def _locked_invitation(invitation: Invitation) -> Invitation:
    return (
        Invitation.objects.for_organization(invitation.organization_id)
        .select_for_update()
        .select_related("customer__organization")
        .get(pk=invitation.pk)
    )


@audited(Action.INVITE_RESENT)
@transaction.atomic
def invite_resend(*, invitation: Invitation, actor: User | ApiToken | None) -> Invitation:
    """A new token and a new expiry; the old link stops working."""
    current = _locked_invitation(invitation)
    if current.status != Invitation.Status.PENDING:
        raise ServiceError(
            INVITE_NOT_PENDING.format(status=current.get_status_display().lower(), verb="resent")
        )
    _issue(current, actor)
    current.save()
    record(
        action=Action.INVITE_RESENT,
        organization=current.customer.organization,
        actor=actor,
        resource=current,
        resource_label=f"{current.email} → {current.customer.name}",
        changes={"expires_at": [None, current.expires_at.isoformat()]},
    )
    return current


@audited(Action.INVITE_REVOKED)
@transaction.atomic
def invite_revoke(*, invitation: Invitation, actor: User | ApiToken | None) -> Invitation:
    current = _locked_invitation(invitation)
    if current.status != Invitation.Status.PENDING:
        raise ServiceError(
            INVITE_NOT_PENDING.format(status=current.get_status_display().lower(), verb="revoked")
        )
    current.status = Invitation.Status.REVOKED
    current.revoked_at = timezone.now()
    current.save(update_fields=["status", "revoked_at"])
    record(
        action=Action.INVITE_REVOKED,
        organization=current.customer.organization,
        actor=actor,
        resource=current,
        resource_label=f"{current.email} → {current.customer.name}",
        changes={"status": ["pending", "revoked"]},
    )
    return current


@audited(Action.CUSTOMER_ADMIN_REPLACED)
@transaction.atomic
def customer_admin_replace(
    *, customer: Customer, email: str, actor: User | ApiToken | None
) -> Customer:
    """Invite a new customer admin; a pending admin invitation is revoked. The current admin
    keeps their seat until the new one accepts."""
    current = locked_customer(customer)
    if current.is_deleted:
        raise ServiceError(CUSTOMER_DELETED_NO_CHANGES.format(name=current.name))
    email = User.objects.normalize_email(email.strip()).lower()
    if email == current.admin_email and current.owner_id is not None:
        raise ServiceError(SAME_ADMIN.format(email=email, name=current.name))
    pending = Invitation.objects.for_customer(current).filter(
        is_admin_invite=True, status=Invitation.Status.PENDING
    )
    for invitation in pending:
        invite_revoke(invitation=invitation, actor=actor)
    invitation = invite_send(
        customer=current,
        email=email,
        role=CustomerUser.Role.SUPERUSER,
        actor=actor,
        is_admin_invite=True,
    )
    before = current.admin_email
    current.admin_email = invitation.email
    current.admin_invitation = invitation
    current.version += 1
    current.save(update_fields=["admin_email", "admin_invitation", "version", "updated_at"])
    record(
        action=Action.CUSTOMER_ADMIN_REPLACED,
        organization=current.organization,
        actor=actor,
        resource=current,
        changes={"admin_email": [before, invitation.email]},
    )
    return current


INVITE_WRONG_ACCOUNT = (
    "This invitation is for {invited}, but you are signed in as {current}. Sign out, then open "
    "the link again."
)


INVITE_CUSTOMER_DELETED = "{name} has been deleted, so its invitations can no longer be accepted."
UNUSABLE_BECAUSE = {
    Invitation.Status.ACCEPTED: "This invitation was accepted already.",
    Invitation.Status.EXPIRED: "This invitation has expired and cannot be accepted.",
    Invitation.Status.REVOKED: "This invitation was revoked and cannot be accepted.",
}


def invitation_for_token(token: str) -> Invitation | None:
    """The invitation a link's token belongs to, whatever its state, or None.

    Like API tokens, an invitation token names its own tenant, so this one lookup cannot be
    scoped beforehand; it matches the SHA-256 of a 256-bit secret only.
    """
    if not token or len(token) > 200:
        return None
    return (
        Invitation.objects.by_secret()
        .select_related("customer__organization", "invited_by")
        .filter(token_hash=hash_invite_token(token))
        .first()
    )


@audited(Action.INVITE_ACCEPTED)
@transaction.atomic
def invite_accept(*, invitation: Invitation, actor: User) -> CustomerUser:
    """``actor`` takes the seat the invitation offers; an admin invitation makes them the
    customer admin and turns a Pending Admin Activation customer Active."""
    current = _locked_invitation(invitation)
    customer = locked_customer(current.customer)
    if not current.is_usable:
        raise InvitationUnusable(UNUSABLE_BECAUSE[current.display_status])
    if actor.email.lower() != current.email.lower():
        raise Denied(INVITE_WRONG_ACCOUNT.format(invited=current.email, current=actor.email))
    if customer.is_deleted:
        raise ServiceError(INVITE_CUSTOMER_DELETED.format(name=customer.name))
    seat = CustomerUser.objects.for_customer(customer).filter(user=actor).first()
    if seat is None:
        check_seats(customer)
        seat = CustomerUser.objects.create(
            organization_id=customer.organization_id,
            customer=customer,
            user=actor,
            role=current.role,
        )
    elif seat.role != current.role:
        seat.role = current.role
        seat.save(update_fields=["role", "updated_at"])
    current.status = Invitation.Status.ACCEPTED
    current.accepted_at = timezone.now()
    current.save(update_fields=["status", "accepted_at"])
    record(
        action=Action.INVITE_ACCEPTED,
        organization=customer.organization,
        actor=actor,
        resource=current,
        resource_label=f"{current.email} → {customer.name}",
        changes={"status": ["pending", "accepted"], "role": [None, current.role]},
    )
    if current.is_admin_invite:
        before_owner = customer.owner_id
        customer.owner = seat
        customer.admin_email = actor.email
        customer.admin_invitation = current
        customer.version += 1
        customer.save(
            update_fields=["owner", "admin_email", "admin_invitation", "version", "updated_at"]
        )
        record(
            action=Action.CUSTOMER_ADMIN_CHANGED,
            organization=customer.organization,
            actor=actor,
            resource=customer,
            changes={"owner_id": [as_json(before_owner), str(seat.pk)]},
        )
        if customer.status == Status.PENDING_ADMIN_ACTIVATION:
            transition(customer, actor, "activate", Action.CUSTOMER_ACTIVATED)
    return seat


def invitations_announce_expired(*, now: datetime | None = None, batch: int = 500) -> int:
    """Pending invitations whose link has run out, each announced once (audited as
    invite.expired, so an invitation.expired webhook event goes out). A system job: every
    organization. Returns how many it announced."""
    now = now or timezone.now()
    due = (
        Invitation.objects.for_worker()
        .filter(status=Invitation.Status.PENDING, expires_at__lte=now)
        .filter(Q(expiry_announced_at__isnull=True) | Q(expiry_announced_at__lt=F("expires_at")))
        .select_related("customer__organization")
        .order_by("expires_at")[:batch]
    )
    announced = 0
    for invitation in due:
        with transaction.atomic():
            # One announcer wins each invitation, even with two workers.
            won = (
                Invitation.objects.for_organization(invitation.organization_id)
                .filter(pk=invitation.pk, expiry_announced_at=invitation.expiry_announced_at)
                .update(expiry_announced_at=now)
            )
            if not won:
                continue
            record(
                action=Action.INVITE_EXPIRED,
                organization=invitation.customer.organization,
                resource=invitation,
                resource_label=f"{invitation.email} → {invitation.customer.name}",
                changes={"status": ["pending", "expired"]},
            )
            announced += 1
    return announced
