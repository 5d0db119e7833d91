"""A customer's record: create it, and edit its fields with optimistic concurrency."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.trail.actions import Action
from audit.trail.services import as_json, diff, record
from customers.identity.models import ApiToken, Organization, User
from customers.identity.sso.policy import force_sso_refusal
from customers.people.models import CustomerUser
from customers.people.services.invitations import invite_send
from customers.platform.errors import Invalid, ServiceError, StaleEdit, UniqueTaken
from customers.platform.slugs import slug_from_name
from customers.records.models import Customer
from customers.records.services.common import (
    CUSTOMER_DELETED_NO_CHANGES,
    apply_entitlements,
    audited,
    locked_customer,
)

if TYPE_CHECKING:
    from billing.models import Plan

SLUG_TAKEN = "Another customer in your organization uses the slug “{slug}”. Choose another."
EXTERNAL_ID_TAKEN = "Another customer in your organization uses the external ID “{external_id}”."


STALE_EDIT = "Someone else saved this customer while you were editing."


@audited(Action.CUSTOMER_CREATED)
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
        raise Invalid("Choose one of your organization's plans.")
    customer = Customer(
        organization=organization,
        name=name.strip(),
        slug=slug or _free_slug(organization, name),
        external_id=external_id.strip(),
        plan=plan,
    )
    apply_entitlements(customer)
    _validate(customer)
    _save_unique(customer, force_insert=True)
    record(
        action=Action.CUSTOMER_CREATED,
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
    base = slug_from_name(name)
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
            raise UniqueTaken({"slug": [SLUG_TAKEN.format(slug=customer.slug)]}) from None
        if "customer_unique_external_id" in text or "customer.external_id" in text:
            raise UniqueTaken(
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
    # Only "taken" messages: a conflict with another customer, not bad input.
    taken = all(
        m
        in (
            SLUG_TAKEN.format(slug=customer.slug),
            EXTERNAL_ID_TAKEN.format(external_id=customer.external_id),
        )
        for ms in messages.values()
        for m in ms
    )
    return (UniqueTaken if taken and general else ValidationError)(messages)


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


def _check_editable(seen: Customer, current: Customer, expected_version: int | None) -> None:
    """Refuse an edit of a deleted customer, and one made from a stale read (``seen``)."""
    if current.is_deleted:
        raise ServiceError(CUSTOMER_DELETED_NO_CHANGES.format(name=current.name))
    if expected_version is not None and current.version != expected_version:
        raise StaleEdit(
            STALE_EDIT,
            current=current,
            changes={
                field: [as_json(getattr(seen, field)), as_json(getattr(current, field))]
                for field in EDITABLE_FIELDS
                if getattr(seen, field) != getattr(current, field)
            },
        )


def _apply(current: Customer, changes: dict[str, Any], before: dict[str, Any]) -> None:
    for field, value in changes.items():
        setattr(current, field, value)
    if changes.get("force_2fa") and not before.get("force_2fa"):
        current.force_2fa_since = timezone.now()
    if changes.get("force_sso") and not before.get("force_sso"):
        refusal = force_sso_refusal(current)
        if refusal:
            raise ValidationError({"force_sso": [refusal]})
    if "plan" in changes:
        if current.plan.organization_id != current.organization_id:
            raise Invalid("Choose one of your organization's plans.")
        apply_entitlements(current)


@audited(Action.CUSTOMER_UPDATED)
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
        raise Invalid(f"These fields cannot be changed: {', '.join(sorted(unknown))}.")
    current = locked_customer(customer)
    _check_editable(customer, current, expected_version)
    before = {field: getattr(current, field) for field in changes}
    _apply(current, changes, before)
    _validate(current)
    changed = diff(before, changes)
    if changed:
        current.version += 1
        _save_unique(current)
        record(
            action=Action.CUSTOMER_UPDATED,
            organization=current.organization,
            actor=actor,
            resource=current,
            changes=changed,
        )
    return current
