"""A customer's people: its users (seats) and the invitations that bring them in."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone

from customers.identity.models import Organization, User
from customers.platform.tenancy import TenantModel
from customers.records.models import Customer


class CustomerUser(TenantModel):
    """A person's seat in a customer (the seed's customer users)."""

    class Role(models.TextChoices):
        SUPERUSER = "superuser", "Admin"
        ENGINEER = "engineer", "Engineer"
        BILLING = "billing", "Billing"
        USER = "user", "User"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="users")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="customer_seats")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.USER)
    locked = models.BooleanField(default=False)
    two_factor_enabled = models.BooleanField("2FA enabled", default=False)
    limit_services = models.BooleanField(default=False)
    require_new_password = models.BooleanField(default=False)
    # An admin who may still sign in with a password (and a second factor) while the customer
    # forces SSO: the way back in when the identity provider is down. Each use is audited and
    # emailed to the other admins.
    break_glass = models.BooleanField("break-glass", default=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "customer", "user"], name="customeruser_unique_user"
            )
        ]
        indexes = [
            models.Index(fields=["organization", "customer", "role"], name="customeruser_org_cust"),
        ]

    def __str__(self) -> str:
        return f"{self.user.email} ({self.get_role_display()})"

    @property
    def is_admin(self) -> bool:
        return self.role == self.Role.SUPERUSER

    @classmethod
    def admin_emails(cls, customer: Customer) -> list[str]:
        """Where a customer's own alerts go: its admins who can sign in."""
        return list(
            cls.objects.for_customer(customer)
            .filter(role=cls.Role.SUPERUSER, locked=False, user__is_active=True)
            .order_by("user__email")
            .values_list("user__email", flat=True)
        )

    @classmethod
    def seats_of(cls, user: User) -> models.QuerySet[CustomerUser]:
        """The customers a signed-in person belongs to.

        Like Membership, this is how the portal finds its tenant in the first place, so it is
        keyed on the person, not scoped to a tenant beforehand.
        """
        return (
            cls.objects.for_person(user)
            .select_related("customer__plan", "customer__organization")
            .order_by("created_at")
        )

    @classmethod
    def seat_of(cls, user: User) -> CustomerUser | None:
        """The seat a person works in: their first. The one definition; a request reads it once
        through ``customers.identity.middleware.current_seat``."""
        return cls.seats_of(user).first()


class Invitation(TenantModel):
    """An email invitation to become a user (or the admin) of a customer.

    Only a SHA-256 of the token is stored; the token itself exists in the email alone.
    """

    # Set (in memory, not stored) when the email for this invitation could not be sent.
    delivery_failed = False

    # One name per state wherever it shows: the seed's Customer Admin column says "Invite
    # Pending", so the invitations tables and the admin say it too.
    class Status(models.TextChoices):
        PENDING = "pending", "Invite Pending"
        ACCEPTED = "accepted", "Accepted"
        EXPIRED = "expired", "Invite Expired"
        REVOKED = "revoked", "Invite Revoked"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(
        max_length=16, choices=CustomerUser.Role.choices, default=CustomerUser.Role.USER
    )
    is_admin_invite = models.BooleanField(default=False)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    invited_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    sent_at = models.DateTimeField(null=True, blank=True)
    send_count = models.PositiveSmallIntegerField(default=0)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    # When its expiry was announced (invitation.expired); a resend makes it due again.
    expiry_announced_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(
                fields=["organization", "customer", "-created_at"], name="invite_org_cust"
            ),
            models.Index(fields=["status", "expires_at"], name="invite_expiry"),
            models.Index(fields=["organization", "email"], name="invite_org_email"),
        ]

    def __str__(self) -> str:
        return f"Invitation for {self.email} to {self.customer_id}"

    @property
    def display_status(self) -> str:
        """Pending turns Expired by itself once its time has passed."""
        if self.status == self.Status.PENDING and self.expires_at <= timezone.now():
            return self.Status.EXPIRED
        return self.status

    def get_display_status_display(self) -> str:
        return self.Status(self.display_status).label

    @property
    def display_status_label(self) -> str:
        """The Customer Admin column's word: the admin who accepted is Active."""
        if self.display_status == self.Status.ACCEPTED:
            return "Active"
        return self.get_display_status_display()

    @property
    def is_usable(self) -> bool:
        return self.display_status == self.Status.PENDING
