"""The billing app's models, one module per package; re-exported here, so Django finds them all."""

from billing.alerts.models import DEFAULT_ALERT_PERCENTS, AlertThreshold, QuotaNotice, UsageDigest
from billing.limits.models import (
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

__all__ = [
    "DEFAULT_ALERT_PERCENTS",
    "DEFAULT_ENTITLEMENTS",
    "DEFAULT_PLAN_NAMES",
    "MAX_LIMIT",
    "AlertThreshold",
    "CustomerLimitOverride",
    "Plan",
    "PlanLimit",
    "PooledCap",
    "PooledUsageCounter",
    "QuotaNotice",
    "UsageCounter",
    "UsageDigest",
]
