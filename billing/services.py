"""Limits and usage: every rule about how much a customer may use lives in billing's packages
(limits, quota, alerts), one module per concern; re-exported here, the door other apps call."""

from billing.alerts.services.alerts import (
    Thresholds,
    parse_percents,
    recent_alerts,
    thresholds_at,
    thresholds_set,
)
from billing.alerts.services.notify import usage_alert_send, usage_digest_send, usage_digests_due
from billing.charts import chart_bars
from billing.errors import LimitError, NothingToReset
from billing.limits.services.changes import (
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
from billing.limits.services.forecasts import by_forecast, forecasts_refresh
from billing.limits.services.limits import (
    Limit,
    UsageRow,
    effective_limit,
    effective_limits_for,
    plan_defaults,
    usage_for,
    usage_rows,
)
from billing.quota.services.hot_path import counted, counter_cte, limit_columns, limit_joins
from billing.quota.services.quota import (
    Consumption,
    QuotaExceeded,
    announce_exceeded,
    check_gauge,
    consume,
    consume_pool,
    count_atomically,
    db_key,
    refusal,
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
    "Thresholds",
    "UsageRow",
    "announce_exceeded",
    "by_forecast",
    "chart_bars",
    "check_gauge",
    "consume",
    "consume_pool",
    "count_atomically",
    "counted",
    "counter_cte",
    "db_key",
    "effective_limit",
    "effective_limits_for",
    "forecasts_refresh",
    "limit_columns",
    "limit_joins",
    "override_clear",
    "override_set",
    "parse_percents",
    "plan_defaults",
    "plan_entitlements_set",
    "plan_limit_impact",
    "plan_limit_set",
    "plans_create_defaults",
    "pooled_cap_set",
    "recent_alerts",
    "refusal",
    "refused",
    "thresholds_at",
    "thresholds_set",
    "usage_alert_send",
    "usage_digest_send",
    "usage_digests_due",
    "usage_for",
    "usage_rows",
]
