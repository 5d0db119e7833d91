"""Activity: the workflows an organization defines, their executions per customer, and the
events customers report. Not audit: it is usage, ingested from the runtime."""

from __future__ import annotations

import uuid

from django.db import models

from customers.platform.tenancy import TenantModel


class Workflow(TenantModel):
    """Defined once by the organization; runs per customer."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(
        "customers.Organization", on_delete=models.CASCADE, related_name="workflows"
    )
    name = models.CharField(max_length=120)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="workflow_unique_name")
        ]

    def __str__(self) -> str:
        return self.name


class Execution(TenantModel):
    class TriggeredBy(models.TextChoices):
        AGENT_SERVICE = "agent-service", "agent-service"
        WEBHOOK = "webhook", "webhook"
        SCHEDULER = "scheduler", "scheduler"
        MANUAL = "manual", "manual"

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    id = models.BigAutoField(primary_key=True)
    organization = models.ForeignKey(
        "customers.Organization", on_delete=models.CASCADE, related_name="+"
    )
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="executions"
    )
    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="executions")
    triggered_by = models.CharField(max_length=16, choices=TriggeredBy.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [
            models.Index(fields=["organization", "-started_at", "-id"], name="exec_org_time"),
            models.Index(
                fields=["organization", "customer", "-started_at", "-id"], name="exec_org_cust"
            ),
            models.Index(
                fields=["organization", "workflow", "-started_at", "-id"], name="exec_org_wf"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.workflow_id} @ {self.started_at:%Y-%m-%d %H:%M}"


class Event(TenantModel):
    class Type(models.TextChoices):
        WEBHOOK = "webhook", "Webhook"
        SCHEDULED = "scheduled", "Scheduled"
        MANUAL = "manual", "Manual"

    class Direction(models.TextChoices):
        INCOMING = "incoming", "Incoming"
        OUTGOING = "outgoing", "Outgoing"

    id = models.BigAutoField(primary_key=True)
    organization = models.ForeignKey(
        "customers.Organization", on_delete=models.CASCADE, related_name="+"
    )
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="events"
    )
    type = models.CharField(max_length=16, choices=Type.choices)
    direction = models.CharField(max_length=16, choices=Direction.choices)
    name = models.CharField(max_length=120)
    status = models.CharField(max_length=32, default="delivered")
    occurred_at = models.DateTimeField()
    payload_summary = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(fields=["organization", "-occurred_at", "-id"], name="event_org_time"),
            models.Index(
                fields=["organization", "type", "-occurred_at", "-id"], name="event_org_type"
            ),
            models.Index(
                fields=["organization", "customer", "-occurred_at", "-id"], name="event_org_cust"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} @ {self.occurred_at:%Y-%m-%d %H:%M}"
