from __future__ import annotations

import uuid

from django.db import models

from customers.tenancy import TenantModel

DEFAULT_PLAN_NAMES = ("Free", "Starter", "Pro", "Enterprise")


class Plan(TenantModel):
    """A pricing plan of one organization. Customers are on exactly one."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(
        "customers.Organization", on_delete=models.CASCADE, related_name="plans"
    )
    name = models.CharField(max_length=80)
    position = models.PositiveSmallIntegerField(default=0, help_text="Order in lists.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["position", "name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="plan_unique_name")
        ]

    def __str__(self) -> str:
        return self.name
