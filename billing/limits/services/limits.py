"""Effective limits and usage: an unexpired override if there is one, else the plan's default."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db.models import Count
from django.utils import timezone

from billing.dimensions import DIMENSIONS, Dimension, get_dimension
from billing.limits.models import CustomerLimitOverride, PlanLimit, UsageCounter
from customers.selectors import Connection, CustomerUser

if TYPE_CHECKING:
    from customers.selectors import Customer


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


@dataclass(frozen=True)
class CounterForecast:
    """What the counter says about the window's end (billing/alerts/services/alerts.py keeps it)."""

    projected: int | None
    reaches_limit_at: datetime | None


Forecasts = dict[Any, dict[str, CounterForecast]]


def usage_for(
    customers: list[Customer],
    *,
    now: datetime | None = None,
    forecasts: Forecasts | None = None,
    gauges: dict[str, int] | None = None,
) -> dict[Any, dict[str, int]]:
    """Current usage per customer and dimension: this window's counters, and live counts for
    the gauges. A fixed number of queries for any number of customers. Given a dict as
    ``forecasts``, it also fills in each counter's forecast, from the same rows. Given
    ``gauges`` (one customer's counts the caller already holds), it counts no gauge itself."""
    if not customers:
        return {}
    organization_id = customers[0].organization_id
    ids = [c.pk for c in customers]
    used: dict[Any, dict[str, int]] = {pk: dict.fromkeys(DIMENSIONS, 0) for pk in ids}
    found = _count_windows(used, organization_id, ids, now or timezone.now())
    if forecasts is not None:
        for counter in found:
            if still_holds(counter):
                forecasts.setdefault(counter.customer_id, {})[counter.dimension] = CounterForecast(
                    counter.projected, counter.forecast_at
                )
    if gauges is not None:
        used[ids[0]].update(gauges)
    else:
        _count_gauges(used, organization_id, ids)
    return used


def _count_gauges(used: dict[Any, dict[str, int]], organization_id: Any, ids: list[Any]) -> None:
    """Live counts of the gauges (connected accounts, seats): one grouped query each."""
    live = {
        "connected_accounts": Connection.objects.for_organization(organization_id).filter(
            status=Connection.Status.CONNECTED
        ),
        "seats": CustomerUser.objects.for_organization(organization_id),
    }
    for dimension, rows in live.items():
        counts = rows.filter(customer_id__in=ids).values("customer_id").annotate(n=Count("pk"))
        for row in counts:
            used[row["customer_id"]][dimension] = row["n"]


def still_holds(counter: UsageCounter) -> bool:
    """A kept forecast is shown only while it holds: the moment it predicts is still ahead, or
    the limit was reached (then ``projected`` is what was used, and usage cannot pass it)."""
    if counter.projected is None:
        return False
    if counter.forecast_at is None:
        return True
    return counter.forecast_at > timezone.now() or counter.used >= counter.projected


def _count_windows(
    used: dict[Any, dict[str, int]], organization_id: Any, ids: list[Any], now: datetime
) -> list[UsageCounter]:
    """This window's counter of every windowed dimension (older windows are ignored)."""
    windows = {d.key: d.window_start(now) for d in DIMENSIONS.values() if not d.is_gauge}
    counters = UsageCounter.objects.for_organization(organization_id).filter(
        customer_id__in=ids, dimension__in=list(windows), window_start__gte=min(windows.values())
    )
    current = [c for c in counters if c.window_start == windows[c.dimension]]
    for counter in current:
        used[counter.customer_id][counter.dimension] = counter.used
    return current


@dataclass(frozen=True)
class UsageRow:
    dimension: Dimension
    used: int
    limit: Limit
    forecast: CounterForecast | None = None

    @property
    def projected_percent(self) -> int | None:
        """Where the projection marker sits on the bar (None: no forecast, or no limit)."""
        if self.forecast is None or self.forecast.projected is None or not self.limit.value:
            return None
        return min(100, round(100 * self.forecast.projected / self.limit.value))

    @property
    def percent(self) -> int:
        value = self.limit.value
        if not value:  # unlimited (None), or a limit of 0
            return 100 if value == 0 and self.used else 0
        return min(100, round(100 * self.used / value))

    @property
    def level(self) -> str:
        if self.limit.value is None:
            return "ok"
        if self.used >= self.limit.value:
            return "over"
        return "near" if self.percent >= 80 else "ok"


def usage_rows(customer: Customer, *, gauges: dict[str, int] | None = None) -> list[UsageRow]:
    """The customer's usage card. ``gauges``: seats and connected accounts, when the page
    already lists them (then nothing counts them again)."""
    limits = effective_limits_for([customer])[customer.pk]
    forecasts: Forecasts = {}
    used = usage_for([customer], forecasts=forecasts, gauges=gauges)[customer.pk]
    mine = forecasts.get(customer.pk, {})
    return [
        UsageRow(d, used[d.key], limits[d.key], mine.get(d.key) if d.alerts else None)
        for d in DIMENSIONS.values()
    ]
