"""Usage alerts: the percents of a limit that alert, the check where usage is counted, the
forecast kept on the counter, and the notice that announces each alert once per window."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from audit.trail.actions import Action
from audit.trail.services import record
from billing.alerts.models import DEFAULT_ALERT_PERCENTS, AlertThreshold, QuotaNotice
from billing.alerts.services.notify import usage_alert_send
from billing.dimensions import ALERTING, DIMENSIONS, Dimension, get_dimension
from billing.errors import LimitError
from billing.limits.forecast import Forecast
from billing.limits.models import Plan
from billing.limits.services.forecasts import refresh_forecast
from billing.limits.services.limits import effective_limits_for

if TYPE_CHECKING:
    from customers.selectors import Customer, Organization, User

MAX_THRESHOLDS = 5
ASCII_NUMBER = re.compile(r"[0-9]{1,3}")
NOT_ALERTING = "{label} has no usage alerts: they cover {names}."
BAD_PERCENTS = "Give up to 5 whole numbers from 1 to 100, separated by commas, e.g. 80, 100."
# Every how many percents of the limit the forecast is made again.
FORECAST_STEP = 5


@dataclass(frozen=True)
class Thresholds:
    """The percents that alert for one dimension, and where they come from."""

    dimension: Dimension
    percents: tuple[int, ...]
    source: str  # "customer", "plan", "organization" or "default"
    own: tuple[int, ...] | None = None  # what the scope asked about sets itself, if anything


def parse_percents(text: str) -> list[int]:
    """ "80, 100" -> [80, 100]; empty -> [] (no alerts). Refuses anything else, clearly."""
    parts = [p.strip().rstrip("%").strip() for p in text.replace(";", ",").split(",")]
    parts = [p for p in parts if p]
    for part in parts:  # ASCII digits only: not "²", "٨٠" or "1e2"
        if not ASCII_NUMBER.fullmatch(part) or not 1 <= int(part) <= 100:
            raise LimitError(f"“{part[:20]}” is not a whole number from 1 to 100. {BAD_PERCENTS}")
    return clean_percents([int(p) for p in parts])


def clean_percents(percents: list[int]) -> list[int]:
    values = sorted(set(percents))
    if len(values) > MAX_THRESHOLDS or any(not 1 <= p <= 100 for p in values):
        raise LimitError(BAD_PERCENTS)
    return values


def _alerting(dimension: str) -> Dimension:
    spec = get_dimension(dimension)
    if not spec.alerts:
        names = " and ".join(d.label.lower() for d in ALERTING)
        raise LimitError(NOT_ALERTING.format(label=spec.label, names=names))
    return spec


def thresholds_at(
    organization_id: Any, *, plan_id: Any = None, customer: Customer | None = None
) -> dict[str, Thresholds]:
    """What alerts for each alerting dimension at one scope (a customer, a plan, or the
    organization when neither is given), in one query. ``own`` is what that scope sets."""
    plan_id = customer.plan_id if customer is not None else plan_id
    scopes = Q(plan__isnull=True, customer__isnull=True)
    if plan_id is not None:
        scopes |= Q(plan_id=plan_id, customer__isnull=True)
    if customer is not None:
        scopes |= Q(customer_id=customer.pk)
    rows = AlertThreshold.objects.for_organization(organization_id).filter(scopes)
    found = {(_source(row), row.dimension): tuple(row.percents) for row in rows}
    chain = [
        source
        for source, present in (
            ("customer", customer is not None),
            ("plan", plan_id is not None),
            ("organization", True),
        )
        if present
    ]
    result = {}
    for spec in ALERTING:
        source = next((s for s in chain if (s, spec.key) in found), "default")
        percents = found.get((source, spec.key), DEFAULT_ALERT_PERCENTS)
        result[spec.key] = Thresholds(spec, percents, source, found.get((chain[0], spec.key)))
    return result


def _source(row: AlertThreshold) -> str:
    return "customer" if row.customer_id else "plan" if row.plan_id else "organization"


@transaction.atomic
def thresholds_set(
    *,
    organization: Organization,
    actor: User | Any,
    dimension: str,
    percents: list[int] | None,
    plan: Plan | None = None,
    customer: Customer | None = None,
) -> Thresholds:
    """Set (a list, [] for none) or clear (None: inherit) the alert percents of one scope.
    Audited as alert_thresholds.changed, only when something changed."""
    spec = _alerting(dimension)
    if plan is not None and customer is not None:
        raise LimitError("Thresholds belong to a plan or to a customer, not both.")
    new = None if percents is None else clean_percents(percents)
    _lock_scope(organization, plan, customer)
    rows = AlertThreshold.objects.for_organization(organization).filter(
        dimension=spec.key, plan=plan, customer=customer
    )
    current = rows.select_for_update().first()
    before = None if current is None else list(current.percents)
    if before != new:
        _store(
            rows,
            current,
            new,
            organization=organization,
            plan=plan,
            customer=customer,
            dimension=spec.key,
        )
        record(
            action=Action.ALERT_THRESHOLDS_CHANGED,
            organization=organization,
            actor=actor,
            resource=customer or plan or organization,
            changes={f"{spec.label} alerts": [_readable(before), _readable(new)]},
        )
    return thresholds_at(organization.pk, plan_id=plan.pk if plan else None, customer=customer)[
        spec.key
    ]


def _lock_scope(organization: Organization, plan: Plan | None, customer: Customer | None) -> None:
    """Two first saves of one scope at once would both insert: the scope's own row is locked
    first, so the second waits and then updates. A deleted customer is not changed."""
    if customer is not None:
        locked = (
            type(customer)
            .objects.for_organization(organization)
            .select_for_update()
            .get(pk=customer.pk)
        )
        if locked.status == "deleted":
            raise LimitError(f"{locked.name} is deleted; restore it before changing it.")
    elif plan is not None:
        Plan.objects.for_organization(organization).select_for_update().get(pk=plan.pk)
    else:
        type(organization).objects.select_for_update().get(pk=organization.pk)


def _store(rows: Any, current: AlertThreshold | None, new: list[int] | None, **scope: Any) -> None:
    if new is None:
        rows.delete()
    elif current is None:
        AlertThreshold.objects.create(percents=new, **scope)
    else:
        current.percents = new
        current.save(update_fields=["percents", "updated_at"])


def _readable(percents: list[int] | None) -> str | None:
    if percents is None:
        return None  # inherited
    return ", ".join(f"{p}%" for p in percents) if percents else "none"


def watch(
    customer: Customer,
    spec: Dimension,
    *,
    limit: int | None,
    before: int,
    used: int,
    now: datetime,
) -> None:
    """Called by consume() inside the counting transaction, after ``before`` became ``used``.

    Costs nothing unless another whole percent of the limit was reached: no threshold can
    have been crossed otherwise. Then it announces each threshold crossed and, each
    FORECAST_STEP percents, refreshes the counter's forecast and announces one that reaches
    the limit inside the window."""
    if limit is None or not percent_crossed(spec, limit=limit, before=before, used=used):
        return
    low, high = 100 * before // limit, 100 * used // limit
    start, end = spec.window_start(now), spec.window_end(now)
    context: dict[str, Any] = {"used": used, "limit": limit, "window_start": start, "now": now}
    _announce_crossed(customer, spec, low, high, context)
    # The forecast moves slowly: it is refreshed each FORECAST_STEP percents, and at the limit.
    if low // FORECAST_STEP == high // FORECAST_STEP and used < limit:
        return
    forecast = refresh_forecast(customer, spec, used=used, limit=limit, now=now)
    if forecast and used < limit and end is not None and forecast.within(end):
        announce(customer, spec, kind="forecast", forecast=forecast, **context)


def percent_crossed(spec: Dimension, *, limit: int | None, before: int, used: int) -> bool:
    """Whether going from ``before`` to ``used`` reached another whole percent of an alerting
    limit: the only time watch() has anything to do."""
    if limit is None or limit <= 0 or not spec.alerts:
        return False
    return 100 * before // limit != 100 * used // limit


def _announce_crossed(
    customer: Customer, spec: Dimension, low: int, high: int, context: dict[str, Any]
) -> None:
    thresholds = thresholds_at(customer.organization_id, customer=customer)[spec.key]
    for percent in thresholds.percents:
        if low < percent <= high:
            announce(customer, spec, kind=f"threshold_{percent}", percent=percent, **context)


ACTIONS = {
    "threshold": Action.USAGE_THRESHOLD_CROSSED,
    "forecast": Action.USAGE_FORECAST_EXCEEDS,
    "exceeded": Action.QUOTA_EXCEEDED,
}


def announce(
    customer: Customer,
    spec: Dimension,
    *,
    kind: str,
    used: int,
    limit: int | None,
    window_start: datetime,
    now: datetime,
    percent: int | None = None,
    forecast: Forecast | None = None,
    message: str = "",
    extra: dict[str, Any] | None = None,
) -> QuotaNotice | None:
    """The notice of one alert, at most once per customer, dimension, window and kind: the
    row's unique constraint decides under any concurrency. Audited (and so a webhook event)
    in the caller's transaction; its emails go out from the worker once it commits."""
    family = kind.split("_")[0]
    try:
        with transaction.atomic():
            notice = QuotaNotice.objects.create(
                organization_id=customer.organization_id,
                customer=customer,
                dimension=spec.key,
                window_start=window_start,
                kind=kind,
                percent=percent,
                used=used,
                limit_value=limit,
                forecast_at=forecast.hits_at if forecast else None,
            )
            record(
                action=ACTIONS[family],
                organization=customer.organization,
                resource=customer,
                changes={
                    "dimension": [None, spec.key],
                    "used": [None, used],
                    "limit": [None, limit],
                    "window_start": [None, window_start.isoformat()],
                    **({"percent": [None, percent]} if percent is not None else {}),
                    **(
                        {"projected": [None, forecast.projected]}
                        | {"reaches_limit_at": [None, forecast.hits_at.isoformat()]}
                        if forecast and forecast.hits_at
                        else {}
                    ),
                    **(extra or {}),
                },
                message=message or describe(spec, kind, used, limit, percent, forecast),
            )
    except IntegrityError:
        return None  # announced already in this window
    transaction.on_commit(partial(usage_alert_send.enqueue, notice.pk))
    return notice


def describe(
    spec: Dimension,
    kind: str,
    used: int,
    limit: int | None,
    percent: int | None = None,
    forecast: Forecast | None = None,
) -> str:
    what = f"{spec.label.lower()}: {used:,} of {limit:,}" if limit else spec.label.lower()
    if kind.startswith("threshold"):
        return f"Reached {percent}% of {what} used."
    if kind == "forecast" and forecast and forecast.hits_at:
        return f"At this rate, {what} reaches its limit on {forecast.hits_at:%Y-%m-%d %H:%M} UTC."
    return f"Refused by the limit of {what}."


def recent_alerts(
    organization_id: Any, limit: int = 10, *, now: datetime | None = None
) -> list[QuotaNotice]:
    """The organization's newest alerts that still hold, for the Overview page: of the current
    window, about the limit in force now (a limit raised since makes them old news), and a
    forecast only while its time is ahead. Older ones stay in the Audit Log."""
    now = now or timezone.now()
    notices = list(
        QuotaNotice.objects.for_organization(organization_id)
        .select_related("customer", "customer__plan")
        .order_by("-created_at", "-id")[: limit * 3]
    )
    limits = effective_limits_for(list({n.customer_id: n.customer for n in notices}.values()))
    return [notice for notice in notices if _still_holds(notice, limits, now)][:limit]


def _still_holds(notice: QuotaNotice, limits: dict[Any, Any], now: datetime) -> bool:
    dimension = get_dimension(notice.dimension)
    if notice.window_start != dimension.window_start(now):
        return False
    if notice.kind == QuotaNotice.Kind.FORECAST and (notice.forecast_at or now) <= now:
        return False
    if notice.kind == "exceeded_pool":  # the shared cap, not the customer's own limit
        return True
    current = limits.get(notice.customer_id, {}).get(dimension.key)
    return current is not None and current.value == notice.limit_value


def dimension_label(key: str) -> str:
    return DIMENSIONS[key].label
