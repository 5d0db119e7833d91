"""Every write to identity and customers goes through here, audited in its own transaction."""

from __future__ import annotations

import functools
import hashlib
import logging
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify

from audit.services import Outcome, as_json, diff, record
from customers.models import (
    CONTROL_CHARACTERS,
    ApiToken,
    Connection,
    Customer,
    CustomerStatus,
    CustomerUser,
    Invitation,
    Membership,
    Organization,
    User,
)

if TYPE_CHECKING:
    from billing.models import Plan

T = TypeVar("T")
logger = logging.getLogger(__name__)

TOKEN_NAME_REQUIRED = "Give the key a name, so you know later what it is used for."
TOKEN_ALREADY_REVOKED = "This key was already revoked."


class ServiceError(Exception):
    """A business rule refused the action; the message is meant for the person who asked."""


@transaction.atomic
def organization_create(*, name: str, owner: User | None = None, slug: str = "") -> Organization:
    from billing.services import plans_create_defaults

    base = slugify(slug or name)[:70] or "org"
    candidate, suffix = base, 2
    while True:
        if not Organization.objects.filter(slug=candidate).exists():
            try:
                with transaction.atomic():
                    organization = Organization.objects.create(name=name, slug=candidate)
                break
            except IntegrityError:
                pass  # taken by a concurrent sign-up since the check: take the next one
        candidate, suffix = f"{base}-{suffix}", suffix + 1
    plans_create_defaults(organization=organization)
    if owner is not None:
        Membership.objects.create(user=owner, organization=organization, role=Membership.Role.OWNER)
    record(
        action="organization.created", organization=organization, actor=owner, resource=organization
    )
    return organization


@transaction.atomic
def membership_add(
    *, organization: Organization, user: User, role: str, actor: User | None = None
) -> Membership:
    membership, created = Membership.objects.update_or_create(
        organization=organization, user=user, defaults={"role": role}
    )
    record(
        action="membership.added" if created else "membership.changed",
        organization=organization,
        actor=actor,
        resource=membership,
        resource_label=f"{user.email} ({role})",
        changes={"role": [None, role]},
    )
    return membership


@transaction.atomic
def api_token_create(
    *, organization: Organization, name: str, actor: User, customer: Customer | None = None
) -> tuple[ApiToken, str]:
    """A new API token and its secret, which is never retrievable again. With ``customer``,
    a customer token (created in the portal) that sees that customer only."""
    name = name.strip()
    if not name:
        raise ServiceError(TOKEN_NAME_REQUIRED)
    secret, prefix, token_hash = ApiToken.new_secret()
    token = ApiToken.objects.create(
        organization=organization,
        customer=customer,
        name=name,
        prefix=prefix,
        token_hash=token_hash,
        created_by=actor,
    )
    record(
        action="api_token.created",
        organization=organization,
        actor=actor,
        resource=token,
        message=f"Customer token for {customer.name}" if customer else "",
    )
    return token, secret


@transaction.atomic
def api_token_revoke(*, token: ApiToken, actor: User) -> ApiToken:
    token = (
        ApiToken.objects.for_organization(token.organization_id)
        .select_for_update()
        .get(pk=token.pk)
    )
    if token.revoked_at is not None:
        raise ServiceError(TOKEN_ALREADY_REVOKED)
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    record(
        action="api_token.revoked",
        organization=token.organization,
        actor=actor,
        resource=token,
        changes={"revoked_at": [None, token.revoked_at.isoformat()]},
    )
    return token


# --- customers -------------------------------------------------------------------------------
#
# The lifecycle (SPEC §2). Each event lists the statuses it may leave from; anything else is
# refused with a message that says why and what to do instead.

Status = CustomerStatus

LIFECYCLE: dict[str, tuple[Status, ...]] = {
    "activate": (Status.PENDING_ADMIN_ACTIVATION,),
    "suspend": (Status.PENDING_ADMIN_ACTIVATION, Status.ACTIVE),
    "reactivate": (Status.SUSPENDED,),
    "delete": (Status.PENDING_ADMIN_ACTIVATION, Status.ACTIVE, Status.SUSPENDED),
    "restore": (Status.DELETED,),
}

REFUSALS = {
    ("suspend", Status.SUSPENDED): "{name} is already suspended.",
    ("suspend", Status.DELETED): "{name} is deleted; restore it before suspending it.",
    ("reactivate", Status.ACTIVE): "{name} is active already.",
    ("reactivate", Status.PENDING_ADMIN_ACTIVATION): (
        "{name} is not suspended: it is waiting for its admin to accept the invitation."
    ),
    ("reactivate", Status.DELETED): "{name} is deleted; restore it instead.",
    ("delete", Status.DELETED): "{name} is deleted already.",
    ("restore", Status.ACTIVE): "{name} is not deleted, so there is nothing to restore.",
    ("restore", Status.SUSPENDED): "{name} is not deleted, so there is nothing to restore.",
    ("restore", Status.PENDING_ADMIN_ACTIVATION): (
        "{name} is not deleted, so there is nothing to restore."
    ),
    ("activate", Status.ACTIVE): "{name} is active already.",
    ("activate", Status.SUSPENDED): "{name} is suspended; reactivate it first.",
    ("activate", Status.DELETED): "{name} is deleted.",
}

SLUG_TAKEN = "Another customer in your organization uses the slug “{slug}”. Choose another."
EXTERNAL_ID_TAKEN = "Another customer in your organization uses the external ID “{external_id}”."
RESTORE_WINDOW_PASSED = (
    "{name} was deleted on {deleted:%Y-%m-%d}, more than {days} days ago: it can no longer be "
    "restored."
)
STALE_EDIT = "Someone else saved this customer while you were editing."
INVITE_NOT_PENDING = (
    "This invitation is {status}: only a pending or expired invitation can be {verb}."
)
CONNECTION_NOT_ACTIVE = "This connection is {status} already."
NO_CONNECTIONS = "{name} has no connected accounts to revoke."
SAME_ADMIN = "{email} is already the customer admin of {name}."
CUSTOMER_DELETED_NO_CHANGES = "{name} is deleted; restore it before changing it."


class TransitionRefused(ServiceError):
    pass


class Denied(ServiceError):
    """The actor may not do this (audited as denied rather than failed)."""


class InvitationUnusable(ServiceError):
    """The invitation was used, revoked or expired (perhaps a moment ago, by a concurrent
    acceptance)."""


class StaleEdit(ServiceError):
    """The record changed since the form (or ETag) was read."""

    def __init__(self, message: str, *, current: Customer, changes: dict[str, list]) -> None:
        super().__init__(message)
        self.current = current
        self.changes = changes


def _audit_failures(action: str) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """Refusals are audited too: the entry is written after the refused transaction has rolled
    back, so it survives it."""

    def decorator(service: Callable[..., T]) -> Callable[..., T]:
        @functools.wraps(service)
        def wrapped(**kwargs: Any) -> T:
            try:
                return service(**kwargs)
            except (ServiceError, ValidationError) as error:
                target = next(
                    (
                        kwargs[name]
                        for name in ("customer", "invitation", "connection", "seat", "token")
                        if kwargs.get(name) is not None
                    ),
                    None,
                )
                organization = kwargs.get("organization") or getattr(target, "organization", None)
                text = (
                    "; ".join(error.messages) if isinstance(error, ValidationError) else str(error)
                )
                record(
                    action=action,
                    organization=organization,
                    actor=kwargs.get("actor"),
                    resource=target,
                    resource_type="" if target else action.split(".")[0],
                    resource_label="" if target else str(kwargs.get("name") or ""),
                    outcome=Outcome.DENIED if isinstance(error, Denied) else Outcome.FAILURE,
                    message=text,
                )
                raise

        return wrapped

    return decorator


def _locked(customer: Customer) -> Customer:
    return (
        Customer.objects.for_organization(customer.organization_id)
        .select_for_update()
        .select_related("organization", "plan")
        .get(pk=customer.pk)
    )


def _check_transition(customer: Customer, event: str) -> None:
    if customer.status not in LIFECYCLE[event]:
        template = REFUSALS.get(
            (event, customer.status), "{name} cannot be {event}d while {status}."
        )
        raise TransitionRefused(
            template.format(
                name=customer.name, event=event, status=customer.get_status_display().lower()
            )
        )


def _set_status(customer: Customer, status: str, *, extra: dict[str, Any] | None = None) -> dict:
    before = {"status": customer.status, **{k: getattr(customer, k) for k in (extra or {})}}
    customer.status = status
    for field, value in (extra or {}).items():
        setattr(customer, field, value)
    customer.version += 1
    customer.save(update_fields=["status", "version", "updated_at", *(extra or {})])
    return diff(before, {"status": status, **(extra or {})})


def _apply_entitlements(customer: Customer) -> None:
    for field, value in customer.plan.entitlements().items():
        setattr(customer, field, value)


IMPACT_CAP = 10_000


def impact_summary(customer: Customer) -> dict[str, int]:
    """What a lifecycle action affects, for the confirmation dialogs."""
    from audit.models import Execution

    since = timezone.now() - timedelta(days=7)
    return {
        "users": CustomerUser.objects.for_customer(customer).count(),
        "connections": Connection.objects.for_customer(customer)
        .filter(status=Connection.Status.CONNECTED)
        .count(),
        # Counted over at most IMPACT_CAP rows: the dialog needs "how many", not an exact
        # count that would read a busy customer's whole week.
        "executions_7d": Execution.objects.for_customer(customer)
        .filter(started_at__gte=since)[:IMPACT_CAP]
        .count(),
    }


@_audit_failures("customer.created")
@transaction.atomic
def customer_create(
    *,
    organization: Organization,
    actor: User | ApiToken | None,
    name: str,
    plan: Plan,
    slug: str = "",
    external_id: str = "",
    admin_email: str = "",
) -> Customer:
    """A new customer, Pending Admin Activation; with an admin email, its invitation is sent."""
    if plan.organization_id != organization.pk:
        raise ServiceError("Choose one of your organization's plans.")
    customer = Customer(
        organization=organization,
        name=name.strip(),
        slug=(slug or _free_slug(organization, name))[:80],
        external_id=external_id.strip(),
        plan=plan,
    )
    _apply_entitlements(customer)
    _validate(customer)
    _save_unique(customer, force_insert=True)
    record(
        action="customer.created",
        organization=organization,
        actor=actor,
        resource=customer,
        changes={
            field: [None, as_json(getattr(customer, field))]
            for field in ("name", "slug", "external_id", "plan_id", "status")
        },
    )
    if admin_email:
        invitation = invite_send(
            customer=customer,
            email=admin_email,
            role=CustomerUser.Role.SUPERUSER,
            actor=actor,
            is_admin_invite=True,
        )
        customer.admin_email = invitation.email
        customer.admin_invitation = invitation
        customer.save(update_fields=["admin_email", "admin_invitation", "updated_at"])
    return customer


def _free_slug(organization: Organization, name: str) -> str:
    """A slug made from the name that no other customer of the organization uses yet."""
    from customers.models import UUID_SHAPED

    base = slugify(name)[:70] or "customer"
    if UUID_SHAPED.match(base):
        base = f"c-{base}"[:70]
    taken = set(
        Customer.objects.for_organization(organization)
        .filter(slug__startswith=base)
        .values_list("slug", flat=True)
    )
    candidate, suffix = base, 2
    while candidate in taken:
        candidate, suffix = f"{base}-{suffix}", suffix + 1
    return candidate


def _validate(customer: Customer) -> None:
    """full_clean() with our messages for the two uniqueness rules."""
    try:
        customer.full_clean(exclude=["owner", "admin_invitation"])
    except ValidationError as error:
        raise _friendly(error, customer) from None


def _save_unique(customer: Customer, **kwargs: Any) -> None:
    """Save, turning a lost race on the slug or external ID (both passed full_clean, one
    committed first) into the same message the check before it gives."""
    try:
        with transaction.atomic():
            customer.save(**kwargs)
    except IntegrityError as error:
        text = str(error)
        if "customer_unique_slug" in text or "customer.slug" in text:
            raise ValidationError({"slug": [SLUG_TAKEN.format(slug=customer.slug)]}) from None
        if "customer_unique_external_id" in text or "customer.external_id" in text:
            raise ValidationError(
                {"external_id": [EXTERNAL_ID_TAKEN.format(external_id=customer.external_id)]}
            ) from None
        raise


def _friendly(error: ValidationError, customer: Customer) -> ValidationError:
    messages = {field: list(errors) for field, errors in error.message_dict.items()}
    general = messages.pop("__all__", [])
    for message in general:
        if "slug" in message:
            messages.setdefault("slug", []).append(SLUG_TAKEN.format(slug=customer.slug))
        elif "external ID" in message:
            messages.setdefault("external_id", []).append(
                EXTERNAL_ID_TAKEN.format(external_id=customer.external_id)
            )
        else:
            messages.setdefault("__all__", []).append(message)
    return ValidationError(messages)


EDITABLE_FIELDS = (
    "name",
    "slug",
    "external_id",
    "plan",
    "billing_contact",
    "legal_contact",
    "security_contact",
    "technical_contact",
    "billing_network_type",
    "billing_ref",
    "phone_number",
    "postal_address",
    "force_2fa",
    "force_sso",
    "ip_whitelist",
    "has_account_panel",
    "has_improved_events",
    "has_openstack_logging",
    "has_pci",
)


@_audit_failures("customer.updated")
@transaction.atomic
def customer_update(
    *,
    customer: Customer,
    actor: User | ApiToken | None,
    expected_version: int | None,
    changes: dict[str, Any],
) -> Customer:
    """Apply field changes, refusing (StaleEdit) when the record moved past ``expected_version``.

    ``expected_version`` None means "last write wins" (the seed's clients send no If-Match).
    """
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise ServiceError(f"These fields cannot be changed: {', '.join(sorted(unknown))}.")
    current = _locked(customer)
    if current.is_deleted:
        raise ServiceError(CUSTOMER_DELETED_NO_CHANGES.format(name=current.name))
    if expected_version is not None and current.version != expected_version:
        raise StaleEdit(
            STALE_EDIT,
            current=current,
            changes={
                field: [as_json(getattr(customer, field)), as_json(getattr(current, field))]
                for field in EDITABLE_FIELDS
                if getattr(customer, field) != getattr(current, field)
            },
        )
    before = {field: getattr(current, field) for field in changes}
    for field, value in changes.items():
        setattr(current, field, value)
    if changes.get("force_2fa") and not before.get("force_2fa"):
        current.force_2fa_since = timezone.now()
    if "plan" in changes:
        if current.plan.organization_id != current.organization_id:
            raise ServiceError("Choose one of your organization's plans.")
        _apply_entitlements(current)
    _validate(current)
    changed = diff(before, changes)
    if changed:
        current.version += 1
        _save_unique(current)
        record(
            action="customer.updated",
            organization=current.organization,
            actor=actor,
            resource=current,
            changes=changed,
        )
    return current


def _transition(
    customer: Customer, actor: User | ApiToken | None, event: str, action: str
) -> Customer:
    current = _locked(customer)
    _check_transition(current, event)
    if event == "suspend":
        changes = _set_status(current, Status.SUSPENDED)
    elif event == "reactivate":
        target = Status.ACTIVE if current.owner_id else Status.PENDING_ADMIN_ACTIVATION
        changes = _set_status(current, target)
    elif event == "activate":
        changes = _set_status(current, Status.ACTIVE)
    elif event == "delete":
        changes = _set_status(
            current,
            Status.DELETED,
            extra={"deleted_at": timezone.now(), "status_before_delete": current.status},
        )
    else:  # restore
        deadline = current.restore_deadline()
        if deadline is not None and deadline < timezone.now():
            raise TransitionRefused(
                RESTORE_WINDOW_PASSED.format(
                    name=current.name,
                    deleted=current.deleted_at,
                    days=settings.CUSTOMER_RETENTION_DAYS,
                )
            )
        previous = current.status_before_delete or Status.PENDING_ADMIN_ACTIVATION
        changes = _set_status(
            current, previous, extra={"deleted_at": None, "status_before_delete": ""}
        )
    record(
        action=action,
        organization=current.organization,
        actor=actor,
        resource=current,
        changes=changes,
    )
    return current


@_audit_failures("customer.suspended")
@transaction.atomic
def customer_suspend(*, customer: Customer, actor: User | ApiToken | None) -> Customer:
    """Portal login, customer tokens and ingestion stop; every record is kept."""
    return _transition(customer, actor, "suspend", "customer.suspended")


@_audit_failures("customer.reactivated")
@transaction.atomic
def customer_reactivate(*, customer: Customer, actor: User | ApiToken | None) -> Customer:
    """Back to Active, or to Pending Admin Activation when no admin has accepted yet."""
    return _transition(customer, actor, "reactivate", "customer.reactivated")


@_audit_failures("customer.activated")
@transaction.atomic
def customer_activate(*, customer: Customer, actor: User | ApiToken | None) -> Customer:
    return _transition(customer, actor, "activate", "customer.activated")


@_audit_failures("customer.deleted")
@transaction.atomic
def customer_delete(*, customer: Customer, actor: User | ApiToken | None) -> Customer:
    """Soft delete: hidden from lists, restorable for CUSTOMER_RETENTION_DAYS."""
    return _transition(customer, actor, "delete", "customer.deleted")


@_audit_failures("customer.restored")
@transaction.atomic
def customer_restore(*, customer: Customer, actor: User | ApiToken | None) -> Customer:
    """Back to the status it had before it was deleted, within the retention window."""
    return _transition(customer, actor, "restore", "customer.restored")


def customers_purge_deleted(*, now: datetime | None = None) -> list[str]:
    """Remove customers deleted more than CUSTOMER_RETENTION_DAYS ago, with everything they own.
    Their audit entries stay. Returns the purged customers' labels."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.CUSTOMER_RETENTION_DAYS)
    purged = []
    # A management command's job: it works across every organization, explicitly.
    expired = Customer.objects.unscoped().filter(status=Status.DELETED, deleted_at__lt=cutoff)
    for customer in expired.select_related("organization").iterator():
        with transaction.atomic():
            record(
                action="customer.purged",
                organization=customer.organization,
                actor=None,
                resource=customer,
                message=f"Deleted {customer.deleted_at:%Y-%m-%d}; retention window passed.",
            )
            # The customer points at its own users and invitation; cut those first.
            Customer.objects.unscoped().filter(pk=customer.pk).update(
                owner=None,
                admin_invitation=None,
                billing_contact=None,
                legal_contact=None,
                security_contact=None,
                technical_contact=None,
            )
            Customer.objects.unscoped().filter(pk=customer.pk).delete()
        purged.append(f"{customer.name} ({customer.pk})")
    return purged


# --- invitations -----------------------------------------------------------------------------


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
    # A header is one line of plain text, whatever a name contains.
    subject = " ".join(render_to_string("customers/email/invite_subject.txt", context).split())
    subject = CONTROL_CHARACTERS.sub(" ", subject)
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string("customers/email/invite.txt", context),
        to=[invitation.email],
    )
    message.attach_alternative(
        render_to_string("customers/email/invite.html", context), "text/html"
    )
    try:
        message.send()
    except Exception as error:  # any backend failure: SMTP down, a refused header…
        logger.exception("The invitation email to %s could not be sent", invitation.email)
        invitation.delivery_failed = True
        record(
            action="invite.email_failed",
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
CONNECTIONS_FULL = (
    "{name} has used all {limit} of its connected accounts. Revoke one, or ask {org} to raise "
    "the limit, before connecting another."
)


def _check_seats(customer: Customer) -> None:
    from billing.services import check_gauge

    current = CustomerUser.objects.for_customer(customer).count()
    verdict = check_gauge(customer, "seats", current=current)
    if not verdict.allowed:
        raise ServiceError(
            SEATS_FULL.format(
                name=customer.name, limit=verdict.limit, org=customer.organization.name
            )
        )


@_audit_failures("invite.sent")
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
        raise ServiceError(f"“{email}” is not a valid email address.") from None
    if not is_admin_invite:
        _check_seats(customer)  # early word; acceptance checks again
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
        action="invite.sent",
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


@_audit_failures("invite.resent")
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
        action="invite.resent",
        organization=current.customer.organization,
        actor=actor,
        resource=current,
        resource_label=f"{current.email} → {current.customer.name}",
        changes={"expires_at": [None, current.expires_at.isoformat()]},
    )
    return current


@_audit_failures("invite.revoked")
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
        action="invite.revoked",
        organization=current.customer.organization,
        actor=actor,
        resource=current,
        resource_label=f"{current.email} → {current.customer.name}",
        changes={"status": ["pending", "revoked"]},
    )
    return current


@_audit_failures("customer.admin_replaced")
@transaction.atomic
def customer_admin_replace(
    *, customer: Customer, email: str, actor: User | ApiToken | None
) -> Customer:
    """Invite a new customer admin; a pending admin invitation is revoked. The current admin
    keeps their seat until the new one accepts."""
    current = _locked(customer)
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
        action="customer.admin_replaced",
        organization=current.organization,
        actor=actor,
        resource=current,
        changes={"admin_email": [before, invitation.email]},
    )
    return current


# --- connections -----------------------------------------------------------------------------


@_audit_failures("connection.revoked")
@transaction.atomic
def connection_revoke(*, connection: Connection, actor: User | ApiToken | None) -> Connection:
    current = (
        Connection.objects.for_organization(connection.organization_id)
        .select_for_update()
        .select_related("customer__organization")
        .get(pk=connection.pk)
    )
    if current.status == Connection.Status.REVOKED:
        raise ServiceError(CONNECTION_NOT_ACTIVE.format(status="revoked"))
    before = current.status
    current.status = Connection.Status.REVOKED
    current.revoked_at = timezone.now()
    current.save(update_fields=["status", "revoked_at"])
    record(
        action="connection.revoked",
        organization=current.customer.organization,
        actor=actor,
        resource=current,
        resource_label=f"{current} ({current.customer.name})",
        changes={"status": [before, "revoked"]},
    )
    return current


@_audit_failures("connection.revoked_all")
@transaction.atomic
def connections_revoke_all(*, customer: Customer, actor: User | ApiToken | None) -> int:
    current = _locked(customer)
    live = Connection.objects.for_customer(current).exclude(status=Connection.Status.REVOKED)
    count = live.update(status=Connection.Status.REVOKED, revoked_at=timezone.now())
    if count == 0:
        raise ServiceError(NO_CONNECTIONS.format(name=current.name))
    record(
        action="connection.revoked_all",
        organization=current.organization,
        actor=actor,
        resource=current,
        message=f"{count} connected account(s) revoked.",
        changes={"connections_revoked": [0, count]},
    )
    return count


INVITE_WRONG_ACCOUNT = (
    "This invitation is for {invited}, but you are signed in as {current}. Sign out, then open "
    "the link again."
)
INVITE_CUSTOMER_DELETED = "{name} has been deleted, so its invitations can no longer be accepted."


def invitation_for_token(token: str) -> Invitation | None:
    """The invitation a link's token belongs to, whatever its state, or None.

    Like API tokens, an invitation token names its own tenant, so this one lookup cannot be
    scoped beforehand; it matches the SHA-256 of a 256-bit secret only.
    """
    if not token or len(token) > 200:
        return None
    return (
        Invitation.objects.unscoped()
        .select_related("customer__organization", "invited_by")
        .filter(token_hash=hash_invite_token(token))
        .first()
    )


@_audit_failures("invite.accepted")
@transaction.atomic
def invite_accept(*, invitation: Invitation, actor: User) -> CustomerUser:
    """``actor`` takes the seat the invitation offers; an admin invitation makes them the
    customer admin and turns a Pending Admin Activation customer Active."""
    current = _locked_invitation(invitation)
    customer = _locked(current.customer)
    if not current.is_usable:
        raise InvitationUnusable(
            f"This invitation is {current.get_display_status_display().lower()} and cannot be "
            "accepted."
        )
    if actor.email.lower() != current.email.lower():
        raise Denied(INVITE_WRONG_ACCOUNT.format(invited=current.email, current=actor.email))
    if customer.is_deleted:
        raise ServiceError(INVITE_CUSTOMER_DELETED.format(name=customer.name))
    seat = CustomerUser.objects.for_customer(customer).filter(user=actor).first()
    if seat is None:
        _check_seats(customer)
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
        action="invite.accepted",
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
            action="customer.admin_changed",
            organization=customer.organization,
            actor=actor,
            resource=customer,
            changes={"owner_id": [as_json(before_owner), str(seat.pk)]},
        )
        if customer.status == Status.PENDING_ADMIN_ACTIVATION:
            _transition(customer, actor, "activate", "customer.activated")
    return seat


# --- the portal: a customer admin runs their own customer -----------------------------------

LAST_ADMIN = (
    "{email} is the last admin of {name}: make someone else an admin first, so the customer "
    "is never left without one."
)
ALLOW_LIST_EXCLUDES_YOU = (
    "This allow-list would lock you out: your current address {address} is not in it. Add it "
    "(or a range that contains it) and save again."
)
PORTAL_FIELDS = (
    "billing_contact",
    "legal_contact",
    "security_contact",
    "technical_contact",
    "phone_number",
    "postal_address",
    "billing_ref",
    "force_2fa",
    "force_sso",
    "ip_whitelist",
)


def portal_settings_update(
    *,
    customer: Customer,
    actor: User,
    expected_version: int | None,
    changes: dict[str, Any],
    client_address: str | None,
) -> Customer:
    """The portal's own edit: only the fields a customer may change, and never an allow-list
    that would shut out the person saving it."""
    from customers.net import ip_allowed

    unknown = set(changes) - set(PORTAL_FIELDS)
    if unknown:
        raise ServiceError(f"These fields cannot be changed here: {', '.join(sorted(unknown))}.")
    if "ip_whitelist" in changes and not ip_allowed(client_address, changes["ip_whitelist"]):
        error = ValidationError(
            {"ip_whitelist": [ALLOW_LIST_EXCLUDES_YOU.format(address=client_address)]}
        )
        record(
            action="customer.updated",
            organization=customer.organization,
            actor=actor,
            resource=customer,
            outcome=Outcome.FAILURE,
            message=error.messages[0],
        )
        raise error
    return customer_update(
        customer=customer, actor=actor, expected_version=expected_version, changes=changes
    )


def _locked_seat(seat: CustomerUser) -> CustomerUser:
    return (
        CustomerUser.objects.for_customer(seat.customer)
        .select_for_update()
        .select_related("user", "customer__organization")
        .get(pk=seat.pk)
    )


def _other_active_admins(seat: CustomerUser) -> int:
    return (
        CustomerUser.objects.for_customer(seat.customer)
        .filter(role=CustomerUser.Role.SUPERUSER, locked=False)
        .exclude(pk=seat.pk)
        .count()
    )


def _protect_last_admin(seat: CustomerUser) -> None:
    if seat.is_admin and not seat.locked and _other_active_admins(seat) == 0:
        raise ServiceError(LAST_ADMIN.format(email=seat.user.email, name=seat.customer.name))


@_audit_failures("customer_user.role_changed")
@transaction.atomic
def customer_user_change_role(*, seat: CustomerUser, role: str, actor: User) -> CustomerUser:
    current = _locked_seat(seat)
    if role not in CustomerUser.Role.values:
        raise ServiceError("Choose one of the roles: Admin, Engineer, Billing or User.")
    if current.role == role:
        return current
    if role != CustomerUser.Role.SUPERUSER:
        _protect_last_admin(current)
    before = current.role
    current.role = role
    current.save(update_fields=["role", "updated_at"])
    record(
        action="customer_user.role_changed",
        organization=current.customer.organization,
        actor=actor,
        resource=current,
        changes={"role": [before, role]},
    )
    return current


@_audit_failures("customer_user.locked")
@transaction.atomic
def customer_user_set_locked(*, seat: CustomerUser, locked: bool, actor: User) -> CustomerUser:
    current = _locked_seat(seat)
    if current.locked == locked:
        return current
    if locked:
        _protect_last_admin(current)
    current.locked = locked
    current.save(update_fields=["locked", "updated_at"])
    record(
        action="customer_user.locked" if locked else "customer_user.unlocked",
        organization=current.customer.organization,
        actor=actor,
        resource=current,
        changes={"locked": [not locked, locked]},
    )
    return current


@_audit_failures("customer_user.removed")
@transaction.atomic
def customer_user_remove(*, seat: CustomerUser, actor: User) -> None:
    current = _locked_seat(seat)
    _protect_last_admin(current)
    customer = _locked(current.customer)
    if customer.owner_id == current.pk:
        # The customer admin leaves: another admin takes the role.
        successor = (
            CustomerUser.objects.for_customer(customer)
            .filter(role=CustomerUser.Role.SUPERUSER, locked=False)
            .exclude(pk=current.pk)
            .select_related("user")
            .first()
        )
        customer.owner = successor
        customer.admin_email = successor.user.email if successor else ""
        customer.version += 1
        customer.save(update_fields=["owner", "admin_email", "version", "updated_at"])
    label = str(current)
    current.delete()
    record(
        action="customer_user.removed",
        organization=customer.organization,
        actor=actor,
        resource_type="customeruser",
        resource_id=str(seat.pk),
        resource_label=f"{label} of {customer.name}",
    )


@_audit_failures("connection.created")
@transaction.atomic
def connection_create(
    *,
    customer: Customer,
    app: str,
    account_label: str,
    actor: User | ApiToken | None,
    scopes: str = "",
    credential_ref: str = "",
    connected_by: str = "",
) -> Connection:
    """A connected account reported by the integration runtime, within the customer's limit."""
    from billing.services import check_gauge

    current = _locked(customer)
    if current.status != Status.ACTIVE:
        raise ServiceError(
            f"{current.name} is {current.get_status_display().lower()}: only an active "
            "customer can connect accounts."
        )
    live = Connection.objects.for_customer(current).filter(status=Connection.Status.CONNECTED)
    verdict = check_gauge(current, "connected_accounts", current=live.count())
    if not verdict.allowed:
        raise ServiceError(
            CONNECTIONS_FULL.format(
                name=current.name, limit=verdict.limit, org=current.organization.name
            )
        )
    connection = Connection.objects.create(
        organization_id=current.organization_id,
        customer=current,
        app=app.strip(),
        account_label=account_label.strip(),
        scopes=scopes,
        credential_ref=credential_ref,
        connected_by=connected_by,
    )
    record(
        action="connection.created",
        organization=current.organization,
        actor=actor,
        resource=connection,
        resource_label=f"{connection} ({current.name})",
    )
    return connection
