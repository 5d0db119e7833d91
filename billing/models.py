from __future__ import annotations

import uuid

from django.db import models

from customers.tenancy import TenantModel

DEFAULT_PLAN_NAMES = ("Free", "Starter", "Pro", "Enterprise")
ENTITLEMENT_FIELDS = (
    "can_configure_wordpress",
    "can_reset_passwords",
    "can_upload_vcl",
    "has_improved_ssl_config",
    "has_pci_passwords",
)
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
    name = models.CharField(max_length=80)
    position = models.PositiveSmallIntegerField(default=0, help_text="Order in lists.")
    can_configure_wordpress = models.BooleanField(default=False)
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
