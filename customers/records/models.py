"""The Customer: its fields (the seed's data model), its lifecycle statuses and their validators."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse
from django.utils import timezone

from customers.identity.models import Organization
from customers.platform.net import parse_ip_allow_list
from customers.platform.slugs import SLUG_LENGTH, UUID_SHAPED
from customers.platform.tenancy import TenantModel
from customers.platform.validators import validate_single_line

SLUG_LOOKS_LIKE_UUID = (
    "A slug may not look like a UUID: the UUID is the customer's identifier, and the two must "
    "never be confused. Use a name-like slug such as “acme-corp”."
)


def validate_slug_not_uuid(value: str) -> None:
    if UUID_SHAPED.match(value or ""):
        raise ValidationError(SLUG_LOOKS_LIKE_UUID, code="uuid_slug")


def validate_ip_allow_list(value: str) -> None:
    parse_ip_allow_list(value)


# The seed's read-only Customer fields that come from the plan: the one list (billing's Plan
# carries the same fields and reads it from here).
ENTITLEMENT_FIELDS = (
    "can_configure_wordpress",
    "can_reset_passwords",
    "can_upload_vcl",
    "has_improved_ssl_config",
    "has_pci_passwords",
)


class CustomerStatus(models.TextChoices):
    PENDING_ADMIN_ACTIVATION = "pending_admin_activation", "Pending Admin Activation"
    ACTIVE = "active", "Active"
    SUSPENDED = "suspended", "Suspended"
    DELETED = "deleted", "Deleted"


# Closed: its portal, its customer API keys and its ingestion are refused, and its admins get no
# alerts they could not act on. The one definition; `Customer.is_closed` reads it.
CLOSED_STATUSES = (CustomerStatus.SUSPENDED, CustomerStatus.DELETED)


class Customer(TenantModel):
    """A business that uses the organization's product: the seed's Customer, field for field."""

    Status = CustomerStatus

    class NetworkType(models.TextChoices):
        PUBLIC = "public", "Public"
        PRIVATE = "private", "Private"

    # Fields the seed marks read-only, and our own bookkeeping: never taken from a form or a PUT.
    READ_ONLY_FIELDS = ("id", "created_at", "updated_at", "deleted_at", *ENTITLEMENT_FIELDS)
    ENTITLEMENT_FIELDS = ENTITLEMENT_FIELDS

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="customers"
    )
    name = models.CharField(max_length=200, validators=[validate_single_line])
    slug = models.SlugField(
        max_length=SLUG_LENGTH,
        validators=[validate_slug_not_uuid],
        help_text="Lower-case letters, digits and hyphens; unique in your organization.",
    )
    external_id = models.CharField(
        "external ID",
        max_length=100,
        blank=True,
        validators=[validate_single_line],
        help_text="Your own identifier for this customer, e.g. customer_12345.",
    )
    status = models.CharField(
        max_length=32,
        choices=CustomerStatus.choices,
        default=CustomerStatus.PENDING_ADMIN_ACTIVATION,
    )
    # Where a restore goes back to.
    status_before_delete = models.CharField(
        max_length=32, choices=CustomerStatus.choices, blank=True
    )
    plan = models.ForeignKey("billing.Plan", on_delete=models.PROTECT, related_name="customers")

    # The customer admin: the accepted user, and the admin invitation in flight (if any).
    owner = models.ForeignKey(
        "customers.CustomerUser", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    admin_email = models.EmailField(blank=True)
    admin_invitation = models.ForeignKey(
        "customers.Invitation", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    billing_contact = models.ForeignKey(
        "customers.CustomerUser", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    legal_contact = models.ForeignKey(
        "customers.CustomerUser", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    security_contact = models.ForeignKey(
        "customers.CustomerUser", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    technical_contact = models.ForeignKey(
        "customers.CustomerUser", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    billing_network_type = models.CharField(
        max_length=16, choices=NetworkType.choices, default=NetworkType.PUBLIC
    )
    billing_ref = models.CharField(
        "billing reference",
        max_length=200,
        blank=True,
        validators=[validate_single_line],
        help_text="e.g. a purchase order number.",
    )
    phone_number = models.CharField(max_length=40, blank=True, validators=[validate_single_line])
    postal_address = models.TextField(blank=True)

    force_2fa = models.BooleanField(
        "force 2FA", default=False, help_text="Users must set up two-factor authentication."
    )
    force_sso = models.BooleanField(
        "force SSO", default=False, help_text="Users must sign in through single sign-on."
    )
    # When force_2fa was last switched on: portal sessions that started before it and never
    # passed 2FA are ended.
    force_2fa_since = models.DateTimeField(null=True, blank=True, editable=False)
    ip_whitelist = models.TextField(
        "IP allow-list",
        blank=True,
        validators=[validate_ip_allow_list],
        help_text="Comma-separated IPv4/IPv6 addresses or CIDR ranges. Empty: no restriction.",
    )

    has_account_panel = models.BooleanField(default=False)
    has_improved_events = models.BooleanField(default=False)
    has_openstack_logging = models.BooleanField(default=False)
    has_pci = models.BooleanField("has PCI", default=False)

    # Entitlements: copied from the plan, read-only everywhere else.
    can_configure_wordpress = models.BooleanField(
        "can configure WordPress", default=False, editable=False
    )
    can_reset_passwords = models.BooleanField(default=False, editable=False)
    can_upload_vcl = models.BooleanField("can upload VCL", default=False, editable=False)
    has_improved_ssl_config = models.BooleanField(
        "has improved SSL config", default=False, editable=False
    )
    has_pci_passwords = models.BooleanField("has PCI passwords", default=False, editable=False)

    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    deleted_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Optimistic concurrency: every save bumps it; a stale form or If-Match is refused.
    version = models.PositiveIntegerField(default=1, editable=False)

    # The health score (customers/health/rules.py): 0-100 and the reasons behind it, kept by the
    # services and refreshed hourly by the worker. Written with UPDATE, never through save().
    health_score = models.PositiveSmallIntegerField(default=100, editable=False)
    health_reasons = models.JSONField(default=list, blank=True, editable=False)
    health_checked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "slug"],
                name="customer_unique_slug",
                violation_error_message="Another customer in your organization uses this slug.",
            ),
            models.UniqueConstraint(
                fields=["organization", "external_id"],
                condition=~models.Q(external_id=""),
                name="customer_unique_external_id",
                violation_error_message=(
                    "Another customer in your organization uses this external ID."
                ),
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "name", "id"], name="customer_org_name"),
            # The list as most people see it (deleted hidden, by name): deep pages skip
            # through this index alone (customers/records/pagination.py).
            models.Index(
                fields=["organization", "name", "id"],
                condition=~models.Q(status="deleted"),
                name="customer_org_live_name",
            ),
            models.Index(
                fields=["organization", "-created_at", "-id"], name="customer_org_created"
            ),
            models.Index(fields=["organization", "status", "name"], name="customer_org_status"),
            models.Index(fields=["organization", "plan", "name"], name="customer_org_plan"),
            models.Index(fields=["organization", "admin_email"], name="customer_org_admin_email"),
            models.Index(
                fields=["organization", "health_score", "name"], name="customer_org_health"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_closed(self) -> bool:
        """Suspended or deleted: every way in (portal, sign-in, API keys, ingestion) refuses."""
        return self.status in CLOSED_STATUSES

    @property
    def reopened_by(self) -> str:
        """What reopens a closed customer, in the words of its refusals: a suspended one is
        reactivated, a deleted one restored."""
        return "restored" if self.status == CustomerStatus.DELETED else "reactivated"

    def get_absolute_url(self) -> str:
        return reverse("customers:detail", args=[self.pk])

    @property
    def is_deleted(self) -> bool:
        return self.status == CustomerStatus.DELETED

    @property
    def admin_display(self) -> str:
        """The Customer Admin column: “john@acme.ai (Invite Pending)”."""
        if not self.admin_email:
            return "No admin"
        return f"{self.admin_email} ({self.admin_status_label})"

    @property
    def admin_status_label(self) -> str:
        invitation = self.admin_invitation
        if invitation is not None and invitation.email == self.admin_email:
            return invitation.display_status_label
        if self.owner_id is not None:
            return "Active"
        return "No invite"

    def restore_deadline(self) -> datetime | None:
        if self.deleted_at is None:
            return None
        return self.deleted_at + timedelta(days=settings.CUSTOMER_RETENTION_DAYS)


class CustomerCount(TenantModel):
    """How many customers an organization has in each status, kept exact by the database
    itself: triggers on the customer table (migration customers/0016) count every insert,
    delete and change of status, whichever path makes it (services, admin, bulk loads). The
    Customers list reads its total here instead of counting rows on every request.

    Each write locks its (organization, status) row until commit, so status changes within one
    organization wait for each other (as audited writes already wait on the audit chain's
    lock). A transaction changing several customers' statuses can deadlock with another doing
    the same in another order; PostgreSQL aborts one. The services change one customer per
    transaction."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=32, choices=CustomerStatus.choices)
    n = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "status"], name="customercount_unique")
        ]

    def __str__(self) -> str:
        return f"{self.status}: {self.n}"
