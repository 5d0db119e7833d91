"""Counting usage against limits: one conditional upsert per counter, nothing read first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db import connection, transaction
from django.utils import timezone

from audit.trail.actions import Action
from audit.trail.services import Outcome, record
from billing.alerts.services.alerts import announce, watch
from billing.dimensions import DIMENSIONS, get_dimension
from billing.limits.models import MAX_LIMIT, PooledCap, PooledUsageCounter, UsageCounter
from billing.limits.services.limits import effective_limit

if TYPE_CHECKING:
    from customers.selectors import Customer


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
SELECT {placeholders}, %s, %s {source} WHERE %s <= %s
ON CONFLICT ({keys}, window_start)
DO UPDATE SET used = {table}.used + excluded.used
WHERE {table}.used + excluded.used <= %s
RETURNING used
"""


_UNLIMITED = MAX_LIMIT


def consume_sql(table: str, keys: list[str], source: str = "") -> str:
    """The conditional upsert above for a counter table keyed by ``keys``; its parameters are
    the keys' values, the window's start, the amount twice and the limit twice. ``source``
    ("FROM rate") makes it count only when that CTE gave a row (ingestion's hot path)."""
    return _CONSUME_SQL.format(
        table=table, keys=", ".join(keys), placeholders=", ".join(["%s"] * len(keys)), source=source
    )


def count_atomically(
    table: str, keys: dict[str, Any], window_start: datetime, amount: int, limit: int | None
) -> int | None:
    """Add ``amount`` to the counter of ``keys`` in the window starting then, unless that would
    pass ``limit``; returns the new count, or None if refused. Any table with the columns
    (keys…, window_start, used) and a unique constraint over them can be counted this way."""
    cap = _UNLIMITED if limit is None else limit
    sql = consume_sql(table, list(keys))
    window = connection.ops.adapt_datetimefield_value(window_start)
    params = [*keys.values(), window, amount, amount, cap, cap]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return row[0] if row else None


def used_now(model: Any, organization_id: Any, window_start: datetime, **keys: Any) -> int:
    counter = (
        model.objects.for_organization(organization_id)
        .filter(window_start=window_start, **keys)
        .values_list("used", flat=True)
        .first()
    )
    return counter or 0


def refusal(
    *,
    organization_id: Any,
    customer_id: Any,
    dimension: str,
    limit: int | None,
    now: datetime,
    scope: str = "customer",
) -> Consumption:
    """What a refused counter reports (its limit, what is used, when it resets), read after the
    refusal: consume(), consume_pool() and ingestion's hot path all answer with it."""
    spec = get_dimension(dimension)
    start = spec.window_start(now)
    used = (
        used_now(PooledUsageCounter, organization_id, start, dimension=dimension)
        if scope == "pool"
        else used_now(
            UsageCounter, organization_id, start, customer_id=customer_id, dimension=dimension
        )
    )
    return Consumption(False, dimension, limit, used, spec.window_end(now), scope=scope)


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
        used = count_atomically(
            UsageCounter._meta.db_table,
            {
                "organization_id": db_key(organization_id),
                "customer_id": db_key(customer.pk),
                "dimension": dimension,
            },
            start,
            amount,
            limit,
        )
        if used is None:
            return refusal(
                organization_id=organization_id,
                customer_id=customer.pk,
                dimension=dimension,
                limit=limit,
                now=now,
            )
        pooled = None
        cap = (
            PooledCap.objects.for_organization(organization_id)
            .filter(dimension=dimension)
            .values_list("value", flat=True)
            .first()
        )
        if cap is not None:
            pooled = count_atomically(
                PooledUsageCounter._meta.db_table,
                {"organization_id": db_key(organization_id), "dimension": dimension},
                start,
                amount,
                cap,
            )
            if pooled is None:
                transaction.set_rollback(True)  # undo the customer's count too
    if cap is not None and pooled is None:
        return refusal(
            organization_id=organization_id,
            customer_id=None,
            dimension=dimension,
            limit=cap,
            now=now,
            scope="pool",
        )
    watch(customer, spec, limit=limit, before=used - amount, used=used, now=now)
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
    used = count_atomically(
        PooledUsageCounter._meta.db_table,
        {"organization_id": db_key(organization_id), "dimension": dimension},
        start,
        amount,
        cap,
    )
    if used is None:
        return refusal(
            organization_id=organization_id,
            customer_id=None,
            dimension=dimension,
            limit=cap,
            now=now,
            scope="pool",
        )
    return Consumption(True, dimension, cap, used, reset_at, scope="pool")


def db_key(value: Any) -> Any:
    # SQLite stores UUIDs as 32 hex characters; PostgreSQL takes the UUID itself.
    return value.hex if connection.vendor == "sqlite" and hasattr(value, "hex") else value


def refused(customer: Customer, consumption: Consumption, action: Action, actor: Any) -> None:
    """Audit a quota refusal (outside the refused transaction, so the entry survives), and
    the first refusal of the window as quota.exceeded (a webhook event)."""
    record(
        action=action,
        organization=customer.organization,
        actor=actor,
        resource=customer,
        outcome=Outcome.DENIED,
        message=consumption.as_error()["detail"],
    )
    announce_exceeded(customer, consumption)


def announce_exceeded(
    customer: Customer, consumption: Consumption, *, now: datetime | None = None
) -> bool:
    """quota.exceeded, at most once per customer, dimension and window (the notice row's
    unique constraint decides under concurrency). True if this call announced it."""
    spec = get_dimension(consumption.dimension)
    now = now or timezone.now()
    notice = announce(
        customer,
        spec,
        kind="exceeded" if consumption.scope == "customer" else "exceeded_pool",
        used=consumption.used,
        limit=consumption.limit,
        window_start=spec.window_start(now),
        now=now,
        message=consumption.as_error()["detail"],
        extra={"scope": [None, consumption.scope]},
    )
    return notice is not None


def check_gauge(
    customer: Customer, dimension: str, *, current: int, adding: int = 1
) -> Consumption:
    """May ``adding`` more of a gauge (connected accounts, seats) be added to ``current``?
    The caller holds a lock on the customer row, so two additions cannot both slip in."""
    spec = get_dimension(dimension)
    limit = effective_limit(customer, dimension)
    allowed = limit is None or current + adding <= limit
    return Consumption(allowed, spec.key, limit, current, None)
