"""Organizations, their members and their API keys."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.trail.actions import Action
from audit.trail.services import record
from billing.services import plans_create_defaults
from customers.identity.models import ApiToken, Membership, Organization, User
from customers.platform.errors import Invalid, ServiceError
from customers.platform.slugs import slug_from_name
from customers.records.models import Customer

TOKEN_NAME_REQUIRED = "Give the key a name, so you know later what it is used for."
TOKEN_ALREADY_REVOKED = "This key was already revoked."


@transaction.atomic
def organization_create(*, name: str, owner: User | None = None, slug: str = "") -> Organization:
    base = slug_from_name(slug or name, fallback="org")
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
        action=Action.ORGANIZATION_CREATED,
        organization=organization,
        actor=owner,
        resource=organization,
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
        action=Action.MEMBERSHIP_ADDED if created else Action.MEMBERSHIP_CHANGED,
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
        raise Invalid(TOKEN_NAME_REQUIRED)
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
        action=Action.API_TOKEN_CREATED,
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
        action=Action.API_TOKEN_REVOKED,
        organization=token.organization,
        actor=actor,
        resource=token,
        changes={"revoked_at": [None, token.revoked_at.isoformat()]},
    )
    return token


@transaction.atomic
def membership_alert_emails_set(*, membership: Membership, on: bool, actor: User) -> Membership:
    """A person turns their own usage alert emails (and the weekly digest) on or off."""
    current = (
        Membership.objects.select_for_update().select_related("organization").get(pk=membership.pk)
    )
    if current.usage_alert_emails != on:
        current.usage_alert_emails = on
        current.save(update_fields=["usage_alert_emails"])
        record(
            action=Action.MEMBERSHIP_ALERT_EMAILS_CHANGED,
            organization=current.organization,
            actor=actor,
            resource=current,
            resource_label=str(actor),
            changes={"usage_alert_emails": [not on, on]},
        )
    return current
