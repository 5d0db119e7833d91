"""Limits and usage (SPEC §5): every rule about how much a customer may use lives in this
package, one module per concern; re-exported here for callers."""

from billing.services.changes import (
    LIMIT_TOO_LARGE,
    NEGATIVE_LIMIT,
    REASON_REQUIRED,
    override_clear,
    override_set,
    plan_entitlements_set,
    plan_limit_impact,
    plan_limit_set,
    plans_create_defaults,
    pooled_cap_set,
)
from billing.services.charts import chart_bars
from billing.services.errors import LimitError, NothingToReset
from billing.services.limits import (
    Limit,
    UsageRow,
    effective_limit,
    effective_limits_for,
    plan_defaults,
    usage_for,
    usage_rows,
)
from billing.services.quota import (
    Consumption,
    QuotaExceeded,
    announce_exceeded,
    check_gauge,
    consume,
    consume_pool,
    refused,
)

__all__ = [
    "LIMIT_TOO_LARGE",
    "NEGATIVE_LIMIT",
    "REASON_REQUIRED",
    "Consumption",
    "Limit",
    "LimitError",
    "NothingToReset",
    "QuotaExceeded",
    "UsageRow",
    "announce_exceeded",
    "chart_bars",
    "check_gauge",
    "consume",
    "consume_pool",
    "effective_limit",
    "effective_limits_for",
    "override_clear",
    "override_set",
    "plan_defaults",
    "plan_entitlements_set",
    "plan_limit_impact",
    "plan_limit_set",
    "plans_create_defaults",
    "pooled_cap_set",
    "refused",
    "usage_for",
    "usage_rows",
]
