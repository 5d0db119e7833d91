"""Where an organization's audit entries are exported, and how far the export got."""

from __future__ import annotations

import uuid

from django.db import models

from customers.platform.tenancy import TenantModel


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
