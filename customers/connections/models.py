"""Connected accounts: the apps a customer authenticated (a reference, never a credential)."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone

from customers.identity.models import Organization
from customers.platform.tenancy import TenantModel
from customers.platform.validators import validate_single_line
from customers.records.models import Customer


class Health(models.TextChoices):
    HEALTHY = "healthy", "Healthy"
    DEGRADED = "degraded", "Degraded"
    RELINK_NEEDED = "relink_needed", "Relink needed"
    IDLE = "idle", "Idle"


class Connection(TenantModel):
    """A connected account: an app the customer authenticated. Holds a reference, never a
    credential."""

    Health = Health

    class Status(models.TextChoices):
        CONNECTED = "connected", "Connected"
        EXPIRED = "expired", "Expired"
        REVOKED = "revoked", "Revoked"
        ERROR = "error", "Error"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="connections")
    app = models.CharField(
        max_length=60, validators=[validate_single_line], help_text="e.g. Shopify, Slack, HubSpot."
    )
    account_label = models.CharField(
        max_length=200, help_text="The account at the app: a shop domain, a workspace…"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.CONNECTED)
    scopes = models.CharField(max_length=500, blank=True)
    credential_ref = models.CharField(
        max_length=200,
        blank=True,
        help_text="Where the integration runtime keeps the credential. Never the credential.",
    )
    connected_by = models.CharField(max_length=254, blank=True)
    connected_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    # Health (customers/health/rules.py), recomputed from the activity the runtime reports.
    health = models.CharField(max_length=16, choices=Health.choices, default=Health.HEALTHY)
    health_changed_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(
        max_length=200, blank=True, help_text="The last error, scrubbed of anything secret-like."
    )
    # When the customer's admins were told it needs relinking: once per time it does.
    relink_alert_sent_at = models.DateTimeField(null=True, blank=True)
    errors_7d = models.PositiveIntegerField("errors in 7 days", default=0)
    successes_7d = models.PositiveIntegerField("successes in 7 days", default=0)

    class Meta:
        ordering = ["app", "account_label"]
        indexes = [
            models.Index(fields=["organization", "customer", "status"], name="connection_org_cust"),
        ]

    def __str__(self) -> str:
        return f"{self.app}: {self.account_label}"


class ConnectionActivity(TenantModel):
    """How many successes or errors a connected account reported on one UTC day. Counted by
    the same atomic upsert as usage (billing.quota.services.quota.count_atomically): nothing is read
    first, so concurrent reports are all counted."""

    class Outcome(models.TextChoices):
        SUCCESS = "success", "Success"
        ERROR = "error", "Error"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="activity")
    outcome = models.CharField(max_length=8, choices=Outcome.choices)
    window_start = models.DateTimeField(help_text="The UTC day, at midnight.")
    used = models.PositiveBigIntegerField("count", default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "connection", "outcome", "window_start"],
                name="connection_activity_day",
            )
        ]
