"""Every change to plans and limits (defaults, overrides, pooled caps, entitlements), audited."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from audit.trail.actions import Action
from audit.trail.services import record
from billing.dimensions import DIMENSIONS, get_dimension
from billing.errors import LimitError, NothingToReset
from billing.limits.models import (
    DEFAULT_ENTITLEMENTS,
    DEFAULT_PLAN_NAMES,
    MAX_LIMIT,
    CustomerLimitOverride,
    Plan,
    PlanLimit,
    PooledCap,
    UsageCounter,
)
from billing.limits.services.limits import effective_limit, usage_for
from customers.selectors import ENTITLEMENT_FIELDS, Customer, CustomerStatus

if TYPE_CHECKING:
    from customers.selectors import ApiToken, Customer, Organization, User


REASON_REQUIRED = "Say why this customer gets its own limit (for the audit trail)."


NEGATIVE_LIMIT = "A limit is a whole number of 0 or more; leave it empty for unlimited."


LIMIT_TOO_LARGE = "That is more than any limit can hold: leave it empty for unlimited."


def plans_create_defaults(*, organization: Organization) -> list[Plan]:
    """Free, Starter, Pro and Enterprise with their default limits (idempotent)."""
    existing = set(Plan.objects.for_organization(organization).values_list("name", flat=True))
    created = Plan.objects.bulk_create(
        [
            Plan(
                organization=organization,
                name=name,
                position=position,
                **dict.fromkeys(DEFAULT_ENTITLEMENTS[name], True),
            )
            for position, name in enumerate(DEFAULT_PLAN_NAMES)
            if name not in existing
        ]
    )
    PlanLimit.objects.bulk_create(
        [
            PlanLimit(
                organization=organization,
                plan=plan,
                dimension=dimension.key,
                value=dimension.defaults.get(plan.name),
            )
            for plan in created
            for dimension in DIMENSIONS.values()
        ]
    )
    return created


def limit_value(value: Any) -> int | None:
    if value in (None, ""):
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise LimitError(NEGATIVE_LIMIT) from None
    if number < 0 or str(value).strip() not in (str(number), f"+{number}"):
        raise LimitError(NEGATIVE_LIMIT)
    if number > MAX_LIMIT:
        raise LimitError(LIMIT_TOO_LARGE)
    return number


@transaction.atomic
def override_set(
    *,
    customer: Customer,
    dimension: str,
    value: int | None,
    reason: str,
    actor: User | ApiToken | None,
    expires_at: datetime | None = None,
) -> CustomerLimitOverride:
    """Give one customer its own limit (``value`` None = unlimited)."""
    spec = get_dimension(dimension)
    value = limit_value(value)
    reason = (reason or "").strip()
    if not reason:
        raise LimitError(REASON_REQUIRED)
    if expires_at is not None and expires_at <= timezone.now():
        raise LimitError("The expiry must be in the future, or left empty for no expiry.")
    before = effective_limit(customer, spec.key)
    override, _ = CustomerLimitOverride.objects.for_customer(customer).update_or_create(
        organization_id=customer.organization_id,
        customer=customer,
        dimension=spec.key,
        defaults={
            "value": value,
            "reason": reason,
            # An API token is recorded in the audit entry; set_by names people only.
            "set_by": actor if getattr(actor, "is_authenticated", False) else None,
            "expires_at": expires_at,
        },
    )
    forget_forecasts(customer.organization_id, spec.key, customer_id=customer.pk)
    record(
        action=Action.LIMIT_CHANGED,
        organization=customer.organization,
        actor=actor,
        resource=customer,
        changes={spec.key: [before, value]},
        message=f"{spec.label}: {reason}"
        + (f" (until {expires_at:%Y-%m-%d %H:%M} UTC)" if expires_at else ""),
    )
    return override


@transaction.atomic
def override_clear(*, customer: Customer, dimension: str, actor: User | ApiToken | None) -> None:
    """Back to the plan's default."""
    spec = get_dimension(dimension)
    before = effective_limit(customer, spec.key)
    deleted, _ = (
        CustomerLimitOverride.objects.for_customer(customer).filter(dimension=spec.key).delete()
    )
    if not deleted:
        raise NothingToReset(f"{customer.name} already uses the plan's default for {spec.label}.")
    forget_forecasts(customer.organization_id, spec.key, customer_id=customer.pk)
    record(
        action=Action.LIMIT_RESET,
        organization=customer.organization,
        actor=actor,
        resource=customer,
        changes={spec.key: [before, effective_limit(customer, spec.key)]},
        message=f"{spec.label}: back to the plan default",
    )


def forget_forecasts(organization_id: Any, dimension: str, **which: Any) -> None:
    """A forecast is against the limit it was made with: once the limit changes, it is dropped
    until usage is next counted (billing/alerts/services/alerts.py makes a new one)."""
    spec = get_dimension(dimension)
    if spec.alerts:
        UsageCounter.objects.for_organization(organization_id).filter(
            dimension=spec.key, window_start=spec.window_start(), **which
        ).update(projected=None, projected_percent=None, forecast_at=None)


def plan_limit_impact(*, plan: Plan, dimension: str, value: Any) -> list[tuple[Customer, int]]:
    """Customers on ``plan``, following its default, whose current usage is over ``value``."""
    number = limit_value(value)
    if number is None:
        return []
    customers = list(
        Customer.objects.for_organization(plan.organization_id)
        .filter(plan=plan)
        .exclude(status=CustomerStatus.DELETED)
        .exclude(limit_overrides__dimension=dimension)
        .order_by("name")
    )
    used = usage_for(customers)
    return [(c, used[c.pk][dimension]) for c in customers if used[c.pk][dimension] > number]


@transaction.atomic
def plan_limit_set(*, plan: Plan, dimension: str, value: Any, actor: User) -> PlanLimit:
    spec = get_dimension(dimension)
    number = limit_value(value)
    limit, _ = PlanLimit.objects.for_organization(plan.organization_id).get_or_create(
        organization_id=plan.organization_id, plan=plan, dimension=spec.key
    )
    before = limit.value
    limit.value = number
    limit.save(update_fields=["value"])
    forget_forecasts(plan.organization_id, spec.key, customer__plan=plan)
    record(
        action=Action.PLAN_LIMIT_CHANGED,
        organization=plan.organization,
        actor=actor,
        resource=plan,
        changes={spec.key: [before, number]},
    )
    return limit


@transaction.atomic
def pooled_cap_set(
    *, organization: Organization, dimension: str, value: Any, actor: User
) -> PooledCap | None:
    spec = get_dimension(dimension)
    if spec.is_gauge:
        raise LimitError(f"{spec.label} cannot be pooled: only windowed dimensions can.")
    number = limit_value(value)
    caps = PooledCap.objects.for_organization(organization)
    before = caps.filter(dimension=spec.key).values_list("value", flat=True).first()
    if number is None:
        caps.filter(dimension=spec.key).delete()
        cap = None
    else:
        cap, _ = caps.update_or_create(
            organization=organization, dimension=spec.key, defaults={"value": number}
        )
    record(
        action=Action.POOLED_CAP_CHANGED,
        organization=organization,
        actor=actor,
        resource_type="pooled_cap",
        resource_id=spec.key,
        resource_label=spec.label,
        changes={spec.key: [before, number]},
    )
    return cap


@transaction.atomic
def plan_entitlements_set(*, plan: Plan, entitlements: dict[str, bool], actor: User) -> Plan:
    """Change what a plan entitles its customers to; every customer on it follows at once."""

    unknown = set(entitlements) - set(ENTITLEMENT_FIELDS)
    if unknown:
        raise LimitError(f"Unknown entitlements: {', '.join(sorted(unknown))}.")
    plan = Plan.objects.for_organization(plan.organization_id).select_for_update().get(pk=plan.pk)
    before = plan.entitlements()
    for field, value in entitlements.items():
        setattr(plan, field, bool(value))
    changes = {
        f: [before[f], getattr(plan, f)] for f in entitlements if before[f] != getattr(plan, f)
    }
    if not changes:
        return plan
    plan.save(update_fields=list(changes))
    # The entitlements are copied onto each customer (they are read-only fields of the seed's
    # Customer); the version moves so that open edit forms notice.

    Customer.objects.for_organization(plan.organization_id).filter(plan=plan).update(
        version=F("version") + 1,
        updated_at=timezone.now(),
        **{field: new for field, (_, new) in changes.items()},
    )
    record(
        action=Action.PLAN_ENTITLEMENTS_CHANGED,
        organization=plan.organization,
        actor=actor,
        resource=plan,
        changes=changes,
    )
    return plan
