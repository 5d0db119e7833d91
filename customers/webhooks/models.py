"""Lifecycle webhooks: an organization's endpoints, the outbox of events, each endpoint's
delivery of each event, and every attempt at it."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone

from customers.identity.models import Organization
from customers.platform.tenancy import TenantModel
from customers.platform.validators import validate_single_line


class WebhookEndpoint(TenantModel):
    """Where an organization wants its events: a URL, the types it subscribes to, a secret."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    url = models.URLField(max_length=500)
    description = models.CharField(max_length=200, blank=True, validators=[validate_single_line])
    # An empty list means every event type.
    event_types = models.JSONField(default=list, blank=True)
    enabled = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=200, blank=True)
    # The signing secret, encrypted (customers.platform.outbound.secrets); during a rotation the old
    # one also signs until previous_secret_expires_at.
    secret_encrypted = models.TextField()
    previous_secret_encrypted = models.TextField(blank=True)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    # Each delivery to this endpoint gets the next number: a receiver sees a gap.
    last_sequence = models.BigIntegerField(default=0)
    # Since when every attempt has failed (cleared by a success): 3 days disables it.
    failing_since = models.DateTimeField(null=True, blank=True)
    # The circuit breaker: after an attempt that timed out, nothing is sent until then (the
    # wait doubles with each timeout in a row), so a hanging receiver costs one timeout per
    # wait instead of one per delivery.
    paused_until = models.DateTimeField(null=True, blank=True)
    timeouts_in_row = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]
        indexes = [models.Index(fields=["organization", "created_at"], name="webhook_ep_org")]

    def __str__(self) -> str:
        return self.url

    def subscribes_to(self, event_type: str) -> bool:
        return not self.event_types or event_type in self.event_types


class WebhookEvent(TenantModel):
    """The outbox: one row per event, written in the transaction of the change it reports."""

    id = models.CharField(primary_key=True, max_length=40, editable=False)  # "msg_…"
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    # No database constraint: an event outlives a purged customer.
    customer_id = models.UUIDField(null=True, blank=True)
    type = models.CharField(max_length=60)
    version = models.PositiveSmallIntegerField(default=1)
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["organization", "created_at"], name="webhook_event_org"),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.id}"


class WebhookDelivery(TenantModel):
    """One event on its way to one endpoint: pending until a 2xx, or until it gives up."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Delivered"
        FAILED = "failed", "Gave up"

    id = models.BigAutoField(primary_key=True)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.ForeignKey(WebhookEvent, on_delete=models.CASCADE, related_name="deliveries")
    # A replay is a delivery of its own (a new sequence number, its own attempts): the one it
    # sends again keeps its history.
    replay_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="replays"
    )
    # Copied from the event: deliveries go out in order per endpoint and customer.
    customer_id = models.UUIDField(null=True, blank=True)
    sequence = models.BigIntegerField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    # Who holds it for the attempt under way (customers/webhooks/delivery.py claim()).
    claim = models.CharField(max_length=16, blank=True, editable=False)
    first_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-id"]
        constraints = [
            # Each event is queued once per endpoint; replays add deliveries beside it.
            models.UniqueConstraint(
                fields=["endpoint", "event"],
                condition=models.Q(replay_of__isnull=True),
                name="webhook_delivery_once",
            ),
            models.UniqueConstraint(fields=["endpoint", "sequence"], name="webhook_sequence_once"),
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="webhook_due"),
            # "Is an earlier one about this customer still pending?" (the ordering rule)
            models.Index(
                fields=["endpoint", "customer_id", "status", "sequence"], name="webhook_order"
            ),
            models.Index(fields=["organization", "endpoint", "-id"], name="webhook_delivery_log"),
        ]


class WebhookAttempt(TenantModel):
    """One HTTP attempt at a delivery, as the delivery log shows it."""

    id = models.BigAutoField(primary_key=True)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    delivery = models.ForeignKey(
        WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log"
    )
    at = models.DateTimeField(default=timezone.now)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(default=0)
    error = models.CharField(max_length=300, blank=True)
    # At most 4 KB of what the receiver answered.
    response_excerpt = models.TextField(blank=True)
    succeeded = models.BooleanField(default=False)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["organization", "delivery", "-id"], name="webhook_attempt")]
