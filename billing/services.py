"""Limits and usage (SPEC §5): every rule about how much a customer may use lives here."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db import connection, transaction
from django.utils import timezone

from audit.services import Outcome, record
from billing.dimensions import DIMENSIONS, Dimension, get_dimension
from billing.models import (
    DEFAULT_ENTITLEMENTS,
    DEFAULT_PLAN_NAMES,
    MAX_LIMIT,
    CustomerLimitOverride,
    Plan,
    PlanLimit,
    PooledCap,
    PooledUsageCounter,
    UsageCounter,
)
from customers.services.errors import Conflict, Invalid

if TYPE_CHECKING:
    from customers.models import Customer, Organization, User

REASON_REQUIRED = "Say why this customer gets its own limit (for the audit trail)."
NEGATIVE_LIMIT = "A limit is a whole number of 0 or more; leave it empty for unlimited."
LIMIT_TOO_LARGE = "That is more than any limit can hold: leave it empty for unlimited."


class LimitError(Invalid):
    """A limit change was refused; the message is for the person who asked."""


class NothingToReset(Conflict, LimitError):
    """The customer already follows the plan's default."""


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


# --- effective limits -------------------------------------------------------------------------


@dataclass(frozen=True)
class Limit:
    """A customer's limit in one dimension and where it comes from."""

    dimension: Dimension
    value: int | None  # None = unlimited
    plan_default: int | None
    override: CustomerLimitOverride | None

    @property
    def is_overridden(self) -> bool:
        return self.override is not None


def plan_defaults(organization_id: Any) -> dict[tuple[Any, str], int | None]:
    return {
        (row.plan_id, row.dimension): row.value
        for row in PlanLimit.objects.for_organization(organization_id)
    }


def effective_limits_for(
    customers: list[Customer], *, now: datetime | None = None
) -> dict[Any, dict[str, Limit]]:
    """Every dimension's limit for a page of customers, in two queries."""
    if not customers:
        return {}
    now = now or timezone.now()
    organization_id = customers[0].organization_id
    defaults = plan_defaults(organization_id)
    overrides: dict[Any, dict[str, CustomerLimitOverride]] = defaultdict(dict)
    for override in CustomerLimitOverride.objects.for_organization(organization_id).filter(
        customer_id__in=[c.pk for c in customers]
    ):
        # An expired override stops applying by itself: no job has to remove it.
        if override.is_active(now):
            overrides[override.customer_id][override.dimension] = override
    limits: dict[Any, dict[str, Limit]] = {}
    for customer in customers:
        row = {}
        for dimension in DIMENSIONS.values():
            default = defaults.get((customer.plan_id, dimension.key))
            override = overrides[customer.pk].get(dimension.key)
            row[dimension.key] = Limit(
                dimension=dimension,
                value=override.value if override else default,
                plan_default=default,
                override=override,
            )
        limits[customer.pk] = row
    return limits


def effective_limit(customer: Customer, dimension: str) -> int | None:
    """The customer's limit: its override if present and not expired, else its plan's default."""
    return effective_limits_for([customer])[customer.pk][get_dimension(dimension).key].value


def usage_for(
    customers: list[Customer], *, now: datetime | None = None
) -> dict[Any, dict[str, int]]:
    """Current usage per customer and dimension: this window's counters, and live counts for
    the gauges. A fixed number of queries for any number of customers."""
    from customers.models import Connection, CustomerUser

    if not customers:
        return {}
    now = now or timezone.now()
    organization_id = customers[0].organization_id
    ids = [c.pk for c in customers]
    used: dict[Any, dict[str, int]] = {pk: dict.fromkeys(DIMENSIONS, 0) for pk in ids}
    windows = {d.key: d.window_start(now) for d in DIMENSIONS.values() if not d.is_gauge}
    counters = UsageCounter.objects.for_organization(organization_id).filter(
        customer_id__in=ids, dimension__in=list(windows), window_start__gte=min(windows.values())
    )
    for counter in counters:
        if counter.window_start == windows[counter.dimension]:
            used[counter.customer_id][counter.dimension] = counter.used
    from django.db.models import Count

    for row in (
        Connection.objects.for_organization(organization_id)
        .filter(customer_id__in=ids, status=Connection.Status.CONNECTED)
        .values("customer_id")
        .annotate(n=Count("pk"))
    ):
        used[row["customer_id"]]["connected_accounts"] = row["n"]
    for row in (
        CustomerUser.objects.for_organization(organization_id)
        .filter(customer_id__in=ids)
        .values("customer_id")
        .annotate(n=Count("pk"))
    ):
        used[row["customer_id"]]["seats"] = row["n"]
    return used


@dataclass(frozen=True)
class UsageRow:
    dimension: Dimension
    used: int
    limit: Limit

    @property
    def percent(self) -> int:
        if self.limit.value in (None, 0):
            return 100 if self.limit.value == 0 and self.used else 0
        return min(100, round(100 * self.used / self.limit.value))

    @property
    def level(self) -> str:
        if self.limit.value is None:
            return "ok"
        if self.used >= self.limit.value:
            return "over"
        return "near" if self.percent >= 80 else "ok"


def usage_rows(customer: Customer) -> list[UsageRow]:
    limits = effective_limits_for([customer])[customer.pk]
    used = usage_for([customer])[customer.pk]
    return [UsageRow(d, used[d.key], limits[d.key]) for d in DIMENSIONS.values()]


# --- consuming quota --------------------------------------------------------------------------


@dataclass(frozen=True)
class Consumption:
    allowed: bool
    dimension: str
    limit: int | None
    used: int
    reset_at: datetime | None
    scope: str = "customer"  # or "pool": the organization's shared cap refused it

    def as_error(self) -> dict[str, Any]:
        return {
            "detail": (
                f"Quota exceeded: {DIMENSIONS[self.dimension].label.lower()} "
                f"{'shared by all customers ' if self.scope == 'pool' else ''}"
                f"is limited to {self.limit}, {self.used} used in this window."
            ),
            "dimension": self.dimension,
            "scope": self.scope,
            "limit": self.limit,
            "used": self.used,
            "window": DIMENSIONS[self.dimension].window,
            "reset_at": self.reset_at.isoformat() if self.reset_at else None,
        }

    @property
    def retry_after(self) -> int:
        if self.reset_at is None:
            return 60
        return max(1, int((self.reset_at - timezone.now()).total_seconds()) + 1)


class QuotaExceeded(Exception):
    """A request would pass a quota (a customer's limit or the pooled cap): answered 429."""

    def __init__(self, consumption: Consumption) -> None:
        super().__init__(consumption.as_error()["detail"])
        self.consumption = consumption


# One statement: add ``amount`` to this window's counter unless that would pass the limit.
# The row lock taken by INSERT … ON CONFLICT DO UPDATE serializes concurrent writers on
# PostgreSQL; SQLite runs it inside an IMMEDIATE transaction. Nothing is read first.
_CONSUME_SQL = """
INSERT INTO {table} ({keys}, window_start, used)
SELECT {placeholders}, %s, %s WHERE %s <= %s
ON CONFLICT ({keys}, window_start)
DO UPDATE SET used = {table}.used + excluded.used
WHERE {table}.used + excluded.used <= %s
RETURNING used
"""
_UNLIMITED = MAX_LIMIT


def _add(
    table: str, keys: dict[str, Any], window_start: datetime, amount: int, limit: int | None
) -> int | None:
    cap = _UNLIMITED if limit is None else limit
    sql = _CONSUME_SQL.format(
        table=table, keys=", ".join(keys), placeholders=", ".join(["%s"] * len(keys))
    )
    window = connection.ops.adapt_datetimefield_value(window_start)
    params = [*keys.values(), window, amount, amount, cap, cap]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return row[0] if row else None


def _used_now(model: Any, organization_id: Any, window_start: datetime, **keys: Any) -> int:
    counter = (
        model.objects.for_organization(organization_id)
        .filter(window_start=window_start, **keys)
        .values_list("used", flat=True)
        .first()
    )
    return counter or 0


def consume(
    customer: Customer, dimension: str, amount: int = 1, *, now: datetime | None = None
) -> Consumption:
    """Take ``amount`` of a windowed dimension for ``customer``: allowed only if it stays within
    the customer's effective limit and the organization's pooled cap; nothing is counted when
    refused. Call it inside the transaction that stores what is being counted."""
    spec = get_dimension(dimension)
    if spec.is_gauge:
        raise ValueError(f"{dimension} is a gauge: use check_gauge().")
    if amount < 0:
        raise ValueError("amount must be 0 or more")
    now = now or timezone.now()
    start, reset_at = spec.window_start(now), spec.window_end(now)
    limit = effective_limit(customer, dimension)
    organization_id = customer.organization_id
    with transaction.atomic():
        used = _add(
            UsageCounter._meta.db_table,
            {
                "organization_id": _db(organization_id),
                "customer_id": _db(customer.pk),
                "dimension": dimension,
            },
            start,
            amount,
            limit,
        )
        if used is None:
            return Consumption(
                False,
                dimension,
                limit,
                _used_now(
                    UsageCounter,
                    organization_id,
                    start,
                    customer_id=customer.pk,
                    dimension=dimension,
                ),
                reset_at,
            )
        pooled = None
        cap = (
            PooledCap.objects.for_organization(organization_id)
            .filter(dimension=dimension)
            .values_list("value", flat=True)
            .first()
        )
        if cap is not None:
            pooled = _add(
                PooledUsageCounter._meta.db_table,
                {"organization_id": _db(organization_id), "dimension": dimension},
                start,
                amount,
                cap,
            )
            if pooled is None:
                transaction.set_rollback(True)  # undo the customer's count too
    if cap is not None and pooled is None:
        return Consumption(
            False,
            dimension,
            cap,
            _used_now(PooledUsageCounter, organization_id, start, dimension=dimension),
            reset_at,
            scope="pool",
        )
    return Consumption(True, dimension, limit, used, reset_at)


def consume_pool(
    organization_id: Any, dimension: str, amount: int = 1, *, now: datetime | None = None
) -> Consumption:
    """Take from the organization's pooled cap alone (requests made with an organization API
    token belong to no customer). Without a pooled cap there is nothing to hold."""
    spec = get_dimension(dimension)
    now = now or timezone.now()
    start, reset_at = spec.window_start(now), spec.window_end(now)
    cap = (
        PooledCap.objects.for_organization(organization_id)
        .filter(dimension=dimension)
        .values_list("value", flat=True)
        .first()
    )
    if cap is None:
        return Consumption(True, dimension, None, 0, reset_at, scope="pool")
    used = _add(
        PooledUsageCounter._meta.db_table,
        {"organization_id": _db(organization_id), "dimension": dimension},
        start,
        amount,
        cap,
    )
    if used is None:
        return Consumption(
            False,
            dimension,
            cap,
            _used_now(PooledUsageCounter, organization_id, start, dimension=dimension),
            reset_at,
            scope="pool",
        )
    return Consumption(True, dimension, cap, used, reset_at, scope="pool")


def _db(value: Any) -> Any:
    # SQLite stores UUIDs as 32 hex characters; PostgreSQL takes the UUID itself.
    return value.hex if connection.vendor == "sqlite" and hasattr(value, "hex") else value


def check_gauge(
    customer: Customer, dimension: str, *, current: int, adding: int = 1
) -> Consumption:
    """May ``adding`` more of a gauge (connected accounts, seats) be added to ``current``?
    The caller holds a lock on the customer row, so two additions cannot both slip in."""
    spec = get_dimension(dimension)
    limit = effective_limit(customer, dimension)
    allowed = limit is None or current + adding <= limit
    return Consumption(allowed, spec.key, limit, current, None)


# --- changing limits --------------------------------------------------------------------------


def _validate_value(value: Any) -> int | None:
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
    actor: User,
    expires_at: datetime | None = None,
) -> CustomerLimitOverride:
    """Give one customer its own limit (``value`` None = unlimited)."""
    spec = get_dimension(dimension)
    value = _validate_value(value)
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
    record(
        action="limit.changed",
        organization=customer.organization,
        actor=actor,
        resource=customer,
        changes={spec.key: [before, value]},
        message=f"{spec.label}: {reason}"
        + (f" (until {expires_at:%Y-%m-%d %H:%M} UTC)" if expires_at else ""),
    )
    return override


@transaction.atomic
def override_clear(*, customer: Customer, dimension: str, actor: User) -> None:
    """Back to the plan's default."""
    spec = get_dimension(dimension)
    before = effective_limit(customer, spec.key)
    deleted, _ = (
        CustomerLimitOverride.objects.for_customer(customer).filter(dimension=spec.key).delete()
    )
    if not deleted:
        raise NothingToReset(f"{customer.name} already uses the plan's default for {spec.label}.")
    record(
        action="limit.reset",
        organization=customer.organization,
        actor=actor,
        resource=customer,
        changes={spec.key: [before, effective_limit(customer, spec.key)]},
        message=f"{spec.label}: back to the plan default",
    )


def plan_limit_impact(*, plan: Plan, dimension: str, value: Any) -> list[tuple[Customer, int]]:
    """Customers on ``plan``, following its default, whose current usage is over ``value``."""
    from customers.models import Customer, CustomerStatus

    number = _validate_value(value)
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
    number = _validate_value(value)
    limit, _ = PlanLimit.objects.for_organization(plan.organization_id).get_or_create(
        organization_id=plan.organization_id, plan=plan, dimension=spec.key
    )
    before = limit.value
    limit.value = number
    limit.save(update_fields=["value"])
    record(
        action="plan_limit.changed",
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
    number = _validate_value(value)
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
        action="pooled_cap.changed",
        organization=organization,
        actor=actor,
        resource_type="pooled_cap",
        resource_id=spec.key,
        resource_label=spec.label,
        changes={spec.key: [before, number]},
    )
    return cap


def refused(customer: Customer, consumption: Consumption, action: str, actor: Any) -> None:
    """Audit a quota refusal (outside the refused transaction, so the entry survives)."""
    record(
        action=action,
        organization=customer.organization,
        actor=actor,
        resource=customer,
        outcome=Outcome.DENIED,
        message=consumption.as_error()["detail"],
    )


def events_per_day_series(
    customer: Customer, *, days: int = 30, now: datetime | None = None
) -> list[tuple[Any, int]]:
    """Events per UTC day over the last ``days`` days, oldest first, zeros included."""
    from datetime import timedelta

    from django.db.models import Count
    from django.db.models.functions import TruncDate

    from audit.models import Event

    today = (now or timezone.now()).astimezone(timezone.get_fixed_timezone(0)).date()
    first = today - timedelta(days=days - 1)
    counts = {
        row["day"]: row["n"]
        for row in Event.objects.for_customer(customer)
        .filter(occurred_at__date__gte=first)
        .annotate(day=TruncDate("occurred_at"))
        .values("day")
        .annotate(n=Count("pk"))
    }
    return [
        (first + timedelta(days=n), counts.get(first + timedelta(days=n), 0)) for n in range(days)
    ]


def chart_bars(
    series: list[tuple[Any, int]], *, width: int = 600, height: int = 120
) -> dict[str, Any]:
    """Geometry for a server-rendered SVG bar chart: no JavaScript charting library."""
    peak = max((n for _, n in series), default=0) or 1
    slot = width / max(len(series), 1)
    bars = [
        {
            "x": round(i * slot + 1, 2),
            "width": round(max(slot - 2, 1), 2),
            "height": round(height * n / peak, 2),
            "y": round(height - height * n / peak, 2),
            "day": day,
            "count": n,
        }
        for i, (day, n) in enumerate(series)
    ]
    return {
        "bars": bars,
        "width": width,
        "height": height,
        "peak": peak,
        "total": sum(n for _, n in series),
    }


@transaction.atomic
def plan_entitlements_set(*, plan: Plan, entitlements: dict[str, bool], actor: User) -> Plan:
    """Change what a plan entitles its customers to; every customer on it follows at once."""
    from billing.models import ENTITLEMENT_FIELDS
    from customers.models import Customer

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
    from django.db.models import F

    Customer.objects.for_organization(plan.organization_id).filter(plan=plan).update(
        version=F("version") + 1,
        updated_at=timezone.now(),
        **{field: new for field, (_, new) in changes.items()},
    )
    record(
        action="plan.entitlements_changed",
        organization=plan.organization,
        actor=actor,
        resource=plan,
        changes=changes,
    )
    return plan
