"""Usage alerts: the percents at which they fire, the notices given once per window, and the
weekly digests."""

from __future__ import annotations

from django.db import models

from billing.dimensions import DIMENSION_CHOICES
from billing.limits.models import Plan
from customers.platform.tenancy import TenantModel

# Usage alerts fire at these percents of a limit unless an AlertThreshold says otherwise.
DEFAULT_ALERT_PERCENTS = (80, 100)


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
