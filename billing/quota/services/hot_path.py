"""The billing half of event ingestion's hot path on PostgreSQL: the effective limits and pooled
caps as columns of the caller's one lookup, and a counter's conditional upsert as a CTE of the
caller's one statement. The rules are the ones of billing/limits/services/limits.py and of
quota.py beside this module: ``effective_limit`` (an unexpired override, else the plan's default;
None is unlimited) and ``count_atomically`` (add unless that passes the limit; nothing read
first)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction

from billing.alerts.services.alerts import percent_crossed, watch
from billing.dimensions import get_dimension
from billing.limits.models import (
    MAX_LIMIT,
    CustomerLimitOverride,
    PlanLimit,
    PooledCap,
    PooledUsageCounter,
    UsageCounter,
)
from billing.quota.services.quota import consume_sql
from customers.selectors import Customer


def limit_joins(dimension: str, alias: str, now: datetime) -> tuple[str, list[Any]]:
    """LEFT JOINs for one dimension's limit of customer ``c`` (organization token ``t``)."""
    sql = f"""
    LEFT JOIN {PlanLimit._meta.db_table} {alias}_p ON {alias}_p.organization_id = c.organization_id
      AND {alias}_p.plan_id = c.plan_id AND {alias}_p.dimension = %s
    LEFT JOIN {CustomerLimitOverride._meta.db_table} {alias}_o
      ON {alias}_o.organization_id = c.organization_id AND {alias}_o.customer_id = c.id
      AND {alias}_o.dimension = %s AND ({alias}_o.expires_at IS NULL OR {alias}_o.expires_at > %s)
    LEFT JOIN {PooledCap._meta.db_table} {alias}_c ON {alias}_c.organization_id = t.organization_id
      AND {alias}_c.dimension = %s"""
    return sql, [dimension, dimension, now, dimension]


def limit_columns(alias: str) -> str:
    """Two columns: the customer's effective limit (NULL: unlimited) and the pooled cap (NULL:
    none). An override's NULL value means unlimited too, hence the CASE, not COALESCE."""
    return (
        f"CASE WHEN {alias}_o.id IS NOT NULL THEN {alias}_o.value ELSE {alias}_p.value END, "
        f"{alias}_c.value"
    )


def counter_cte(
    *,
    pooled: bool,
    organization_id: Any,
    customer_id: Any,
    dimension: str,
    amount: int,
    limit: int | None,
    now: datetime,
    after: str | None = None,
) -> tuple[str, list[Any]]:
    """A CTE body that adds ``amount`` to this window's counter unless that passes ``limit``,
    returning the new ``used`` (no row: refused). With ``after``, only if that CTE gave a row."""
    model = PooledUsageCounter if pooled else UsageCounter
    keys = (
        ["organization_id", "dimension"]
        if pooled
        else ["organization_id", "customer_id", "dimension"]
    )
    values = [organization_id, dimension] if pooled else [organization_id, customer_id, dimension]
    cap = MAX_LIMIT if limit is None else limit
    # As a CTE, the refused case gives no row; RETURNING also gives the new count.
    sql = consume_sql(model._meta.db_table, keys, f"FROM {after}" if after else "").strip()
    start = get_dimension(dimension).window_start(now)
    return sql, [*values, start, amount, amount, cap, cap]


def counted(
    *,
    organization_id: Any,
    customer_id: Any,
    dimension: str,
    limit: int | None,
    amount: int,
    used: int,
    now: datetime,
) -> None:
    """Usage alerts after the hot path's statement counted ``amount``: watch() as consume()
    calls it, when another whole percent was reached (else no query at all). The statement has
    committed by then, so an alert is announced in a transaction of its own, right after."""
    spec = get_dimension(dimension)
    if not percent_crossed(spec, limit=limit, before=used - amount, used=used):
        return
    customer = (
        Customer.objects.for_organization(organization_id)
        .select_related("organization")
        .get(pk=customer_id)
    )
    with transaction.atomic():
        # consume() announces while it holds the counter's row, so its locks come in one order:
        # the counter, then the audit chain and the notices. Here too, or two requests that
        # cross a percent together can each hold what the other waits for (a deadlock).
        counter = UsageCounter.objects.for_organization(organization_id).filter(
            customer_id=customer_id, dimension=dimension, window_start=spec.window_start(now)
        )
        list(counter.select_for_update().values_list("pk", flat=True))
        watch(customer, spec, limit=limit, before=used - amount, used=used, now=now)
