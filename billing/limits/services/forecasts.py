"""The forecast kept on each usage counter: made where usage is counted, made again for every
customer by the worker's hourly pass (a forecast goes stale when usage stops), read back only
while it still holds, and the order "soonest to hit a limit"."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from django.db.models import F, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from billing.dimensions import ALERTING, Dimension, get_dimension
from billing.limits.forecast import Forecast, forecast_usage
from billing.limits.models import UsageCounter
from billing.limits.services.limits import effective_limits_for

if TYPE_CHECKING:
    from customers.selectors import Customer

HISTORY_WINDOWS = 3  # how many earlier windows shape a forecast


def refresh_forecast(
    customer: Customer, spec: Dimension, *, used: int, limit: int, now: datetime
) -> Forecast | None:
    """The counter's forecast, from this window and the ones before it."""
    start, end = spec.window_start(now), spec.window_end(now)
    past = _past_totals(customer.organization_id, customer.pk, spec.key, start)
    forecast = forecast_usage(
        used=used,
        limit=limit,
        window_start=start,
        window_end=end,
        now=now,
        previous_totals=history(dict(past), spec, start, customer.created_at),
    )
    UsageCounter.objects.for_customer(customer).filter(
        dimension=spec.key, window_start=start
    ).update(**_fields(forecast, end, limit))
    return forecast


def _fields(forecast: Forecast | None, end: datetime, limit: int | None) -> dict[str, Any]:
    return {
        "projected": forecast.projected if forecast else None,
        "projected_percent": min(100 * forecast.projected // limit, 10**6)
        if forecast and limit
        else None,
        "forecast_at": forecast.hits_at if forecast and forecast.within(end) else None,
    }


def history(
    totals: dict[datetime, int], spec: Dimension, start: datetime, created_at: datetime
) -> list[int]:
    """The totals of the windows before ``start``, a window without a counter counting as 0,
    but only the windows the customer existed in."""
    windows, window = [], start
    for _ in range(HISTORY_WINDOWS):
        window = spec.previous_window_start(window)
        if spec.window_end(window) <= created_at:
            break
        windows.append(totals.get(window, 0))
    return windows


@lru_cache(maxsize=4096)
def _past_totals(
    organization_id: Any, customer_id: Any, dimension: str, start: datetime
) -> tuple[tuple[datetime, int], ...]:
    """The counters of the windows before ``start``: past windows no longer change, so each
    process asks once per customer, dimension and window."""
    spec = get_dimension(dimension)
    return tuple(
        UsageCounter.objects.for_organization(organization_id)
        .filter(
            customer_id=customer_id,
            dimension=dimension,
            window_start__gte=_earliest(spec, start),
            window_start__lt=start,
        )
        .values_list("window_start", "used")
    )


def _earliest(spec: Dimension, start: datetime) -> datetime:
    for _ in range(HISTORY_WINDOWS):
        start = spec.previous_window_start(start)
    return start


def _counters(
    organization_id: Any, customers: list[Customer], starts: dict[str, datetime]
) -> tuple[list[UsageCounter], dict[tuple[Any, str], dict[datetime, int]]]:
    """This window's counters, and the earlier windows' totals, of these customers."""
    earliest = min(_earliest(get_dimension(key), start) for key, start in starts.items())
    rows = UsageCounter.objects.for_organization(organization_id).filter(
        customer_id__in=[c.pk for c in customers],
        dimension__in=list(starts),
        window_start__gte=earliest,
    )
    past: dict[tuple[Any, str], dict[datetime, int]] = defaultdict(dict)
    current = []
    for row in rows:
        if row.window_start == starts[row.dimension]:
            current.append(row)
        else:
            past[(row.customer_id, row.dimension)][row.window_start] = row.used
    return current, past


def forecasts_refresh(customers: list[Customer], *, now: datetime | None = None) -> int:
    """Make every current counter's forecast again for these customers of one organization
    (the worker's hourly pass), in four queries. Returns how many counters it updated."""
    if not customers:
        return 0
    now = now or timezone.now()
    organization_id = customers[0].organization_id
    starts = {spec.key: spec.window_start(now) for spec in ALERTING}
    current, past = _counters(organization_id, customers, starts)
    limits = effective_limits_for(customers, now=now)
    created = {c.pk: c.created_at for c in customers}
    for row in current:
        spec = get_dimension(row.dimension)
        limit = limits[row.customer_id][row.dimension].value
        forecast = forecast_usage(
            used=row.used,
            limit=limit,
            window_start=row.window_start,
            window_end=spec.window_end(now),
            now=now,
            previous_totals=history(
                past[(row.customer_id, row.dimension)],
                spec,
                row.window_start,
                created[row.customer_id],
            ),
        )
        for field, value in _fields(forecast, spec.window_end(now), limit).items():
            setattr(row, field, value)
    UsageCounter.objects.for_organization(organization_id).bulk_update(
        current, ["projected", "projected_percent", "forecast_at"]
    )
    return len(current)


def by_forecast(customers: QuerySet[Any], *, now: datetime | None = None) -> QuerySet[Any]:
    """Customers ordered by when they reach a daily or monthly limit, soonest (or already)
    first; then those projected closest to a limit; then the rest by name. The counters' kept
    forecasts, in the same query; one that no longer holds (its moment passed without the
    limit being reached) does not count."""
    now = now or timezone.now()
    current = Q()
    for spec in ALERTING:
        current |= Q(dimension=spec.key, window_start=spec.window_start(now))
    counters = UsageCounter.objects.filter(
        current, organization_id=OuterRef("organization_id"), customer_id=OuterRef("pk")
    )
    soonest = (
        counters.filter(Q(forecast_at__gt=now) | Q(used__gte=F("projected")))
        .filter(forecast_at__isnull=False)
        .order_by("forecast_at")
        .values("forecast_at")[:1]
    )
    closest = (
        counters.filter(projected_percent__isnull=False)
        .order_by("-projected_percent")
        .values("projected_percent")[:1]
    )
    return customers.annotate(
        reaches_limit_at=Subquery(soonest), projected_percent=Subquery(closest)
    ).order_by(
        F("reaches_limit_at").asc(nulls_last=True),
        F("projected_percent").desc(nulls_last=True),
        "name",
        "id",
    )
