"""Plans with their default limits and entitlements, overrides, pooled caps, usage counters."""

from __future__ import annotations

import uuid
from datetime import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone

from billing.dimensions import DIMENSION_CHOICES
from customers.platform.tenancy import TenantModel
from customers.platform.validators import validate_single_line
from customers.selectors import ENTITLEMENT_FIELDS

DEFAULT_PLAN_NAMES = ("Free", "Starter", "Pro", "Enterprise")
# The largest limit any form, the API or a service accepts: counters are bigints, and a counter
# at the limit plus one more request must still fit.
MAX_LIMIT = 2**62
# Usage alerts fire at these percents of a limit unless an AlertThreshold says otherwise.
DEFAULT_ALERT_PERCENTS = (80, 100)
# What each default plan entitles its customers to; owners edit them afterwards.
DEFAULT_ENTITLEMENTS = {
    "Free": set(),
    "Starter": {"can_reset_passwords"},
    "Pro": {
        "can_reset_passwords",
        "can_configure_wordpress",
        "can_upload_vcl",
        "has_improved_ssl_config",
    },
    "Enterprise": set(ENTITLEMENT_FIELDS),
}


class Plan(TenantModel):
    """A pricing plan of one organization. Customers are on exactly one."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(
        "customers.Organization", on_delete=models.CASCADE, related_name="plans"
    )
    name = models.CharField(max_length=80, validators=[validate_single_line])
    position = models.PositiveSmallIntegerField(default=0, help_text="Order in lists.")
    can_configure_wordpress = models.BooleanField("can configure WordPress", default=False)
    can_reset_passwords = models.BooleanField(default=False)
    can_upload_vcl = models.BooleanField("can upload VCL", default=False)
    has_improved_ssl_config = models.BooleanField("has improved SSL config", default=False)
    has_pci_passwords = models.BooleanField("has PCI passwords", default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["position", "name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="plan_unique_name")
        ]

    def __str__(self) -> str:
        return self.name

    def entitlements(self) -> dict[str, bool]:
        return {field: getattr(self, field) for field in ENTITLEMENT_FIELDS}


class PlanLimit(TenantModel):
    """A plan's default limit in one dimension; value None means unlimited."""

    organization = models.ForeignKey(
        "customers.Organization", on_delete=models.CASCADE, related_name="+"
    )
    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="limits")
    dimension = models.CharField(max_length=40, choices=DIMENSION_CHOICES)
    value = models.PositiveBigIntegerField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "plan", "dimension"], name="planlimit_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.plan}: {self.dimension} = {self.value}"


class CustomerLimitOverride(TenantModel):
    """One customer's own limit in one dimension, over its plan's default."""

    organization = models.ForeignKey(
        "customers.Organization", on_delete=models.CASCADE, related_name="+"
    )
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="limit_overrides"
    )
    dimension = models.CharField(max_length=40, choices=DIMENSION_CHOICES)
    value = models.PositiveBigIntegerField(null=True, blank=True, help_text="Empty: unlimited.")
    reason = models.CharField(max_length=300)
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "customer", "dimension"], name="override_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.dimension} = {self.value}"

    def is_active(self, now: datetime | None = None) -> bool:
        return self.expires_at is None or self.expires_at > (now or timezone.now())


class PooledCap(TenantModel):
    """A cap that all of an organization's customers share in one dimension."""

    organization = models.ForeignKey(
        "customers.Organization", on_delete=models.CASCADE, related_name="+"
    )
    dimension = models.CharField(max_length=40, choices=DIMENSION_CHOICES)
    value = models.PositiveBigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "dimension"], name="pooledcap_unique")
        ]

    def __str__(self) -> str:
        return f"{self.dimension} ≤ {self.value}"


class UsageCounter(TenantModel):
    """How much of a windowed dimension a customer used in one window."""

    organization = models.ForeignKey(
        "customers.Organization", on_delete=models.CASCADE, related_name="+"
    )
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="usage_counters"
    )
    dimension = models.CharField(max_length=40, choices=DIMENSION_CHOICES)
    window_start = models.DateTimeField()
    used = models.PositiveBigIntegerField(default=0)
    # The forecast, refreshed where usage is counted each time another whole percent of the
    # limit is used (billing/services/alerts.py): the usage projected at the window's end,
    # and when it reaches the limit (the moment it did, once it has). None: not within it.
    projected = models.PositiveBigIntegerField(null=True, blank=True)
    projected_percent = models.PositiveIntegerField(null=True, blank=True)  # of the limit
    forecast_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "customer", "dimension", "window_start"],
                name="usage_unique_window",
            )
        ]


class PooledUsageCounter(TenantModel):
    """How much of a windowed dimension all of an organization's customers used together."""

    organization = models.ForeignKey(
        "customers.Organization", on_delete=models.CASCADE, related_name="+"
    )
    dimension = models.CharField(max_length=40, choices=DIMENSION_CHOICES)
    window_start = models.DateTimeField()
    used = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "dimension", "window_start"], name="pooled_unique_window"
            )
        ]


class QuotaNotice(TenantModel):
    """An alert about a customer's usage in one window, given at most once per kind and limit:
    a threshold crossed ("threshold_80"), a forecast that the limit will be reached
    ("forecast"), or a refusal ("exceeded"). The unique constraint is the "once", under any
    concurrency; a new window (or a new limit) re-arms every kind."""

    class Kind(models.TextChoices):
        THRESHOLD = "threshold", "Threshold crossed"
        FORECAST = "forecast", "Forecast to reach the limit"
        EXCEEDED = "exceeded", "Refused by the limit"

    organization = models.ForeignKey(
        "customers.Organization", on_delete=models.CASCADE, related_name="+"
    )
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="quota_notices"
    )
    dimension = models.CharField(max_length=40, choices=DIMENSION_CHOICES)
    window_start = models.DateTimeField()
    # "threshold_80", "forecast" or "exceeded": the kind, and for a threshold its percent.
    kind = models.CharField(max_length=20, default="exceeded")
    percent = models.PositiveSmallIntegerField(null=True, blank=True)
    used = models.PositiveBigIntegerField(null=True, blank=True)
    limit_value = models.PositiveBigIntegerField(null=True, blank=True)
    forecast_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Set by the one worker run that sends the alert's emails (a claim, so a retried task
    # never mails twice).
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # The limit is part of "once": after a limit changes mid-window, crossing 80 % of
            # the new one is news again.
            models.UniqueConstraint(
                fields=[
                    "organization",
                    "customer",
                    "dimension",
                    "window_start",
                    "kind",
                    "limit_value",
                ],
                name="quota_notice_once_per_limit",
            )
        ]
        indexes = [
            models.Index(fields=["organization", "-created_at"], name="quota_notice_org_recent")
        ]

    @property
    def kind_family(self) -> str:
        return self.kind.split("_")[0]


class AlertThreshold(TenantModel):
    """The percents of a limit at which usage alerts fire, for one windowed dimension: the
    organization's default (no plan, no customer), a plan's, or one customer's. The most
    specific one applies; without any, DEFAULT_ALERT_PERCENTS. An empty list: no alerts."""

    organization = models.ForeignKey(
        "customers.Organization", on_delete=models.CASCADE, related_name="+"
    )
    plan = models.ForeignKey(
        Plan, null=True, blank=True, on_delete=models.CASCADE, related_name="alert_thresholds"
    )
    customer = models.ForeignKey(
        "customers.Customer",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="alert_thresholds",
    )
    dimension = models.CharField(max_length=40, choices=DIMENSION_CHOICES)
    percents = models.JSONField(default=list)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(plan__isnull=True) | models.Q(customer__isnull=True),
                name="alert_threshold_one_scope",
            ),
            models.UniqueConstraint(
                fields=["organization", "dimension"],
                condition=models.Q(plan__isnull=True, customer__isnull=True),
                name="alert_threshold_org_unique",
            ),
            models.UniqueConstraint(
                fields=["organization", "plan", "dimension"],
                condition=models.Q(plan__isnull=False),
                name="alert_threshold_plan_unique",
            ),
            models.UniqueConstraint(
                fields=["organization", "customer", "dimension"],
                condition=models.Q(customer__isnull=False),
                name="alert_threshold_customer_unique",
            ),
        ]


class UsageDigest(TenantModel):
    """The weekly usage digest of one organization: one row per week, so it goes out once."""

    organization = models.ForeignKey(
        "customers.Organization", on_delete=models.CASCADE, related_name="+"
    )
    week_start = models.DateField()
    recipients = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "week_start"], name="digest_once")
        ]
