"""A customer's claimed mail domain and the state of its DNS proof."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from django.db import models
from django.utils import timezone

from customers.identity.models import Organization, User
from customers.platform.tenancy import TenantModel
from customers.records.models import Customer

# Where the proof is published: a TXT record at this label under the domain.
CHALLENGE_LABEL = "_tenantry-challenge"
# A domain still unproven this long after it was added has failed; add it again to retry.
PENDING_FOR = timedelta(days=30)


class VerifiedDomain(TenantModel):
    """A mail domain a customer claims, pending until the TXT record with its token is found.
    In an organization, one customer at most holds a domain verified."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        VERIFIED = "verified", "Verified"
        FAILED = "failed", "Failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="domains")
    # Lower case, as IDNA writes it (xn--… for a non-ASCII name).
    domain = models.CharField(max_length=253)
    # Published in DNS by the customer, so not a secret.
    token = models.CharField(max_length=64)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    verified_at = models.DateTimeField(null=True, blank=True)
    last_checked_at = models.DateTimeField(null=True, blank=True)
    # What the last check found, in plain words.
    last_result = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["domain"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "customer", "domain"], name="domain_once_per_customer"
            ),
            models.UniqueConstraint(
                fields=["organization", "domain"],
                condition=models.Q(status="verified"),
                name="domain_verified_by_one_customer",
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "status", "created_at"], name="domain_due_idx")
        ]

    def __str__(self) -> str:
        return self.domain

    @property
    def record_name(self) -> str:
        return f"{CHALLENGE_LABEL}.{self.domain}"

    @property
    def record_value(self) -> str:
        return f"tenantry-verification={self.token}"

    @property
    def fails_at(self) -> datetime:
        return self.created_at + PENDING_FOR
