from __future__ import annotations

import hashlib
import re
import secrets
import uuid
from datetime import datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from customers.tenancy import TenantModel

# Control characters (line breaks, tabs, NUL, DEL…) in a one-line field end up in email
# headers, CSV cells and log lines; they are refused where the value comes in.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
NOT_ONE_LINE = (
    "Use a single line of plain text: line breaks, tabs and other control characters are not "
    "allowed here."
)


def validate_single_line(value: str) -> None:
    if value and CONTROL_CHARACTERS.search(value):
        raise ValidationError(NOT_ONE_LINE, code="control_characters")


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra) -> User:
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra) -> User:
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra)

    def get_by_natural_key(self, username: str | None) -> User:
        # Emails are stored lower-case; sign-in should not care how the user typed theirs.
        return self.get(email__iexact=username or "")


class User(AbstractBaseUser, PermissionsMixin):
    """A person. They sign in with their email address."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    email = models.EmailField("email address", unique=True)
    name = models.CharField(max_length=150, blank=True, validators=[validate_single_line])
    is_staff = models.BooleanField(
        "staff status", default=False, help_text="Can sign in to the support admin."
    )
    is_active = models.BooleanField("active", default=True)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        ordering = ["email"]

    def __str__(self) -> str:
        return self.email

    def get_full_name(self) -> str:
        return self.name or self.email

    def home_organization(self) -> Organization | None:
        """The organization this person joined first: where their sign-ins are recorded."""
        membership = self.memberships.select_related("organization").order_by("created_at").first()
        return membership.organization if membership else None

    def get_short_name(self) -> str:
        return self.name.split(" ")[0] if self.name else self.email

    def clean(self) -> None:
        super().clean()
        self.email = self.__class__.objects.normalize_email(self.email).lower()


class Organization(models.Model):
    """A SaaS company: the tenant. Everything else belongs to one."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200, validators=[validate_single_line])
    slug = models.SlugField(max_length=80, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    """A user's seat in an organization.

    Not tenant-scoped on purpose: it is how we find a user's tenants in the first place, and it
    is always queried by the signed-in user (or by an organization the user belongs to).
    """

    class Role(models.TextChoices):
        OWNER = "owner", "Owner"
        ADMIN = "admin", "Admin"
        VIEWER = "viewer", "Viewer"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "user"], name="membership_unique_user_per_org"
            )
        ]
        indexes = [models.Index(fields=["user", "organization"], name="membership_user_org")]

    def __str__(self) -> str:
        return f"{self.user} in {self.organization} ({self.get_role_display()})"

    @property
    def can_write(self) -> bool:
        return self.role in (self.Role.OWNER, self.Role.ADMIN)


def _hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class ApiToken(TenantModel):
    """An API credential. Only a SHA-256 of the secret is kept; the secret is shown once."""

    PREFIX = "tnt_"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="api_tokens"
    )
    # Set for a customer token (created in the portal): it sees that customer only.
    customer = models.ForeignKey(
        "customers.Customer",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="api_tokens",
    )
    name = models.CharField(max_length=100, validators=[validate_single_line])
    prefix = models.CharField(max_length=16, help_text="The first characters, to recognise it.")
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["organization", "-created_at"], name="apitoken_org_created")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @classmethod
    def new_secret(cls) -> tuple[str, str, str]:
        """A fresh secret (256 bits), its display prefix and its hash."""
        secret = cls.PREFIX + secrets.token_urlsafe(32)
        return secret, secret[:12], _hash_token(secret)

    @classmethod
    def authenticate(cls, secret: str) -> ApiToken | None:
        """The live token for a presented secret, or None.

        The token itself tells which tenant it belongs to, so this one lookup cannot be scoped
        beforehand; it matches on the hash of a 256-bit secret, never on anything guessable.
        """
        if not secret or not secret.startswith(cls.PREFIX) or len(secret) > 200:
            return None
        token = (
            cls.objects.unscoped()
            .select_related("organization", "customer")
            .filter(token_hash=_hash_token(secret), revoked_at__isnull=True)
            .first()
        )
        if token is None:
            return None
        now = timezone.now()
        # One write a minute at most, not one per request.
        if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
            cls.objects.unscoped().filter(pk=token.pk).update(last_used_at=now)
            token.last_used_at = now
        return token


# --- customers ------------------------------------------------------------------------------

UUID_SHAPED = re.compile(
    r"^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$", re.IGNORECASE
)
SLUG_LOOKS_LIKE_UUID = (
    "A slug may not look like a UUID: the UUID is the customer's identifier, and the two must "
    "never be confused. Use a name-like slug such as “acme-corp”."
)


def validate_slug_not_uuid(value: str) -> None:
    if UUID_SHAPED.match(value or ""):
        raise ValidationError(SLUG_LOOKS_LIKE_UUID, code="uuid_slug")


def validate_ip_allow_list(value: str) -> None:
    from customers.net import parse_ip_allow_list

    parse_ip_allow_list(value)


class CustomerStatus(models.TextChoices):
    PENDING_ADMIN_ACTIVATION = "pending_admin_activation", "Pending Admin Activation"
    ACTIVE = "active", "Active"
    SUSPENDED = "suspended", "Suspended"
    DELETED = "deleted", "Deleted"


class Customer(TenantModel):
    """A business that uses the organization's product: the seed's Customer, field for field."""

    Status = CustomerStatus

    class NetworkType(models.TextChoices):
        PUBLIC = "public", "Public"
        PRIVATE = "private", "Private"

    # Fields the seed marks read-only, and our own bookkeeping: never taken from a form or a PUT.
    READ_ONLY_FIELDS = (
        "id",
        "created_at",
        "updated_at",
        "deleted_at",
        "can_configure_wordpress",
        "can_reset_passwords",
        "can_upload_vcl",
        "has_improved_ssl_config",
        "has_pci_passwords",
    )
    ENTITLEMENT_FIELDS = (
        "can_configure_wordpress",
        "can_reset_passwords",
        "can_upload_vcl",
        "has_improved_ssl_config",
        "has_pci_passwords",
    )

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="customers"
    )
    name = models.CharField(max_length=200, validators=[validate_single_line])
    slug = models.SlugField(
        max_length=80,
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
    can_configure_wordpress = models.BooleanField(default=False, editable=False)
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
            models.Index(
                fields=["organization", "-created_at", "-id"], name="customer_org_created"
            ),
            models.Index(fields=["organization", "status", "name"], name="customer_org_status"),
            models.Index(fields=["organization", "plan", "name"], name="customer_org_plan"),
            models.Index(fields=["organization", "admin_email"], name="customer_org_admin_email"),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("customers:detail", args=[self.pk])

    @property
    def is_deleted(self) -> bool:
        return self.status == CustomerStatus.DELETED

    @property
    def status_badge(self) -> str:
        return {
            CustomerStatus.ACTIVE: "success",
            CustomerStatus.PENDING_ADMIN_ACTIVATION: "warning",
            CustomerStatus.SUSPENDED: "danger",
            CustomerStatus.DELETED: "muted",
        }.get(self.status, "muted")

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
        from django.conf import settings

        if self.deleted_at is None:
            return None
        return self.deleted_at + timedelta(days=settings.CUSTOMER_RETENTION_DAYS)


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
    def seats_of(cls, user: User) -> models.QuerySet[CustomerUser]:
        """The customers a signed-in person belongs to.

        Like Membership, this is how the portal finds its tenant in the first place, so it is
        keyed on the person, not scoped to a tenant beforehand.
        """
        return (
            cls.objects.unscoped()
            .filter(user=user)
            .select_related("customer__plan", "customer__organization")
            .order_by("created_at")
        )


class Invitation(TenantModel):
    """An email invitation to become a user (or the admin) of a customer.

    Only a SHA-256 of the token is stored; the token itself exists in the email alone.
    """

    # Set (in memory, not stored) when the email for this invitation could not be sent.
    delivery_failed = False

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        ACCEPTED = "accepted", "Accepted"
        EXPIRED = "expired", "Expired"
        REVOKED = "revoked", "Revoked"

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

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(
                fields=["organization", "customer", "-created_at"], name="invite_org_cust"
            ),
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
        return {
            self.Status.PENDING: "Invite Pending",
            self.Status.ACCEPTED: "Active",
            self.Status.EXPIRED: "Invite Expired",
            self.Status.REVOKED: "Invite Revoked",
        }[self.display_status]

    @property
    def is_usable(self) -> bool:
        return self.display_status == self.Status.PENDING


class Connection(TenantModel):
    """A connected account: an app the customer authenticated. Holds a reference, never a
    credential."""

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

    class Meta:
        ordering = ["app", "account_label"]
        indexes = [
            models.Index(fields=["organization", "customer", "status"], name="connection_org_cust"),
        ]

    def __str__(self) -> str:
        return f"{self.app}: {self.account_label}"

    @property
    def status_badge(self) -> str:
        return {
            self.Status.CONNECTED: "success",
            self.Status.EXPIRED: "warning",
            self.Status.ERROR: "danger",
        }.get(self.status, "muted")


class IdempotencyKey(TenantModel):
    """The first response to a POST sent with an Idempotency-Key, replayed for 24 hours."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=200)
    request_hash = models.CharField(max_length=64)
    # Both empty while the first request is still running (the key is reserved).
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "key"], name="idempotency_unique_key")
        ]

    def __str__(self) -> str:
        return self.key


class ThrottleWindow(models.Model):
    """How many requests one key (a hashed client address or email) made in one window."""

    key_hash = models.CharField(max_length=64)
    window_start = models.DateTimeField()
    hits = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["key_hash", "window_start"], name="throttle_unique")
        ]
        indexes = [models.Index(fields=["window_start"], name="throttle_window")]

    def __str__(self) -> str:
        return f"{self.key_hash[:8]}… {self.window_start:%H:%M}: {self.hits}"
