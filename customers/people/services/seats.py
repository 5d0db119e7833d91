"""The portal's writes: a customer's own settings and its users (roles, locks, removal)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from audit.trail.actions import Action
from audit.trail.services import Outcome, record
from customers.identity.models import User
from customers.people.models import CustomerUser
from customers.platform.errors import Invalid, ServiceError
from customers.platform.net import ip_allowed
from customers.records.models import Customer
from customers.records.services.common import audited, locked_customer
from customers.records.services.records import customer_update

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
    unknown = set(changes) - set(PORTAL_FIELDS)
    if unknown:
        raise Invalid(f"These fields cannot be changed here: {', '.join(sorted(unknown))}.")
    if "ip_whitelist" in changes and not ip_allowed(client_address, changes["ip_whitelist"]):
        error = ValidationError(
            {"ip_whitelist": [ALLOW_LIST_EXCLUDES_YOU.format(address=client_address)]}
        )
        record(
            action=Action.CUSTOMER_UPDATED,
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


@audited(Action.CUSTOMER_USER_ROLE_CHANGED)
@transaction.atomic
def customer_user_change_role(*, seat: CustomerUser, role: str, actor: User) -> CustomerUser:
    current = _locked_seat(seat)
    if role not in CustomerUser.Role.values:
        raise Invalid("Choose one of the roles: Admin, Engineer, Billing or User.")
    if current.role == role:
        return current
    if role != CustomerUser.Role.SUPERUSER:
        _protect_last_admin(current)
    before = current.role
    current.role = role
    changes: dict[str, list[Any]] = {"role": [before, role]}
    if current.break_glass and not current.is_admin:
        current.break_glass = False  # only admins break the glass
        changes["break_glass"] = [True, False]
    current.save(update_fields=["role", "break_glass", "updated_at"])
    record(
        action=Action.CUSTOMER_USER_ROLE_CHANGED,
        organization=current.customer.organization,
        actor=actor,
        resource=current,
        changes=changes,
    )
    return current


@audited(Action.CUSTOMER_USER_LOCKED)
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
        action=Action.CUSTOMER_USER_LOCKED if locked else Action.CUSTOMER_USER_UNLOCKED,
        organization=current.customer.organization,
        actor=actor,
        resource=current,
        changes={"locked": [not locked, locked]},
    )
    return current


BREAK_GLASS_ADMINS_ONLY = "Only an admin can be a break-glass account."


@audited(Action.CUSTOMER_USER_BREAK_GLASS_CHANGED)
@transaction.atomic
def customer_user_set_break_glass(*, seat: CustomerUser, on: bool, actor: User) -> CustomerUser:
    """Let an admin sign in with a password and a second factor while SSO is forced."""
    current = _locked_seat(seat)
    if on and not current.is_admin:
        raise Invalid(BREAK_GLASS_ADMINS_ONLY)
    if current.break_glass == on:
        return current
    current.break_glass = on
    current.save(update_fields=["break_glass", "updated_at"])
    record(
        action=Action.CUSTOMER_USER_BREAK_GLASS_CHANGED,
        organization=current.customer.organization,
        actor=actor,
        resource=current,
        changes={"break_glass": [not on, on]},
    )
    return current


@audited(Action.CUSTOMER_USER_REMOVED)
@transaction.atomic
def customer_user_remove(*, seat: CustomerUser, actor: User) -> None:
    current = _locked_seat(seat)
    _protect_last_admin(current)
    customer = locked_customer(current.customer)
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
        action=Action.CUSTOMER_USER_REMOVED,
        organization=customer.organization,
        actor=actor,
        resource_type="customeruser",
        resource_id=str(seat.pk),
        resource_label=f"{label} of {customer.name}",
    )
