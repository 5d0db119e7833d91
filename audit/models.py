"""What happened: audit entries (append-only, hash-chained) and the log streams that export them,
workflows, executions, events."""

from __future__ import annotations

import uuid
from typing import Any, Self

from django.conf import settings
from django.db import models

from customers.platform.tenancy import TenantManager, TenantModel, TenantQuerySet


class AuditEntryQuerySet(TenantQuerySet):
    def for_chain(self, organization_id: Any) -> Self:
        """One hash chain: an organization's entries, or (None) the system chain of entries
        that belong to no organization."""
        if organization_id is None:
            return self.filter(organization__isnull=True)._scoped("chain")
        return self.for_organization(organization_id)

    def update(self, **kwargs: Any) -> int:
        raise PermissionError("Audit entries are append-only.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise PermissionError("Audit entries are append-only.")


class AuditEntryManager(TenantManager.from_queryset(AuditEntryQuerySet)):  # type: ignore[misc]  # a dynamic base
    pass


class AuditEntry(models.Model):
    """One thing that happened. Append-only: the app, the admin and (on PostgreSQL) the database
    all refuse to change or remove a row."""

    class ActorType(models.TextChoices):
        USER = "user", "User"
        TOKEN = "token", "API key"
        SYSTEM = "system", "System"

    class Outcome(models.TextChoices):
        SUCCESS = "success", "Success"
        FAILURE = "failure", "Failure"
        DENIED = "denied", "Denied"

    # Foreign keys without database constraints: an entry must outlive what it describes
    # (a purged customer, a deleted user) and must never be rewritten by ON DELETE SET NULL.
    organization = models.ForeignKey(
        "customers.Organization",
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    created_at = models.DateTimeField(db_index=False)
    actor_type = models.CharField(max_length=8, choices=ActorType.choices)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    actor_token = models.ForeignKey(
        "customers.ApiToken",
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    # The customer the entry is about, when there is one (the customer itself, or a row of
    # its: a seat, a connection, a token): the portal shows a customer its own entries.
    customer = models.ForeignKey(
        "customers.Customer",
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    # Who it was, as they were then: survives renames and deletions.
    actor_label = models.CharField(max_length=254, blank=True)
    action = models.CharField(max_length=64)
    resource_type = models.CharField(max_length=64, blank=True)
    resource_id = models.CharField(max_length=64, blank=True)
    resource_label = models.CharField(max_length=254, blank=True)
    outcome = models.CharField(max_length=8, choices=Outcome.choices, default=Outcome.SUCCESS)
    changes = models.JSONField(default=dict, blank=True)
    message = models.CharField(max_length=500, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=500, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    # Tamper evidence: an HMAC under the chain key named by key_id over this entry's canonical
    # content and the previous entry's hash in the same organization (audit.chain). A blank
    # key_id marks an entry from before the chain was keyed (plain SHA-256).
    key_id = models.CharField(max_length=12, blank=True, editable=False)
    prev_hash = models.CharField(max_length=64, blank=True, editable=False)
    hash = models.CharField(max_length=64, blank=True, editable=False)
    # 1, 2, 3 … per organization (ids are shared by all): a log stream's receiver sees a gap
    # at a glance; prev_hash proves it. Not hashed, so the entries before it verify as ever.
    sequence = models.BigIntegerField(null=True, blank=True, editable=False)

    objects = AuditEntryManager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "audit entries"
        indexes = [
            models.Index(fields=["organization", "-created_at", "-id"], name="audit_org_time"),
            models.Index(
                fields=["organization", "action", "-created_at", "-id"], name="audit_org_action"
            ),
            models.Index(
                fields=["organization", "resource_type", "resource_id", "-created_at"],
                name="audit_org_resource",
            ),
            models.Index(
                fields=["organization", "customer", "-created_at", "-id"], name="audit_org_cust"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.action} {self.resource_label}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise PermissionError("Audit entries are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise PermissionError("Audit entries are append-only.")

    @property
    def is_system(self) -> bool:
        return self.actor_type == self.ActorType.SYSTEM


class LogStream(TenantModel):
    """Where an organization's audit entries are exported (its SIEM), in order, at least once:
    the worker sends the entries after ``cursor`` and moves it only once they arrived."""

    class Kind(models.TextChoices):
        HTTPS = "https", "HTTPS endpoint (signed JSON batches)"
        SPLUNK = "splunk", "Splunk HTTP Event Collector"
        DATADOG = "datadog", "Datadog logs"
        FILE = "file", "JSON Lines file"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(
        "customers.Organization", on_delete=models.CASCADE, related_name="+"
    )
    kind = models.CharField(max_length=8, choices=Kind.choices)
    name = models.CharField(max_length=120)
    url = models.URLField(max_length=500, blank=True)
    file_name = models.CharField(max_length=120, blank=True)
    # The HTTPS signing secret, the Splunk HEC token or the Datadog API key, encrypted.
    secret_encrypted = models.TextField(blank=True)
    enabled = models.BooleanField(default=True)
    # The last audit entry delivered; entries after it are the lag.
    cursor = models.BigIntegerField(default=0)
    delivered = models.BigIntegerField(default=0)
    last_delivered_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    failures = models.PositiveIntegerField(default=0)  # in a row; reset by a success
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claim = models.CharField(max_length=16, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]
        indexes = [models.Index(fields=["organization", "enabled"], name="log_stream_org")]

    def __str__(self) -> str:
        return self.name


# --- activity --------------------------------------------------------------------------------


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
