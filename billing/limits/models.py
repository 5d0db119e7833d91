"""Plans with their default limits and entitlements, overrides, pooled caps, and the usage
counters every limit is measured against."""

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
    # limit is used (billing/alerts/services/alerts.py): the usage projected at the window's end,
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
