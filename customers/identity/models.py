"""People and organizations: users, organizations, memberships, API keys, and the API's
Idempotency-Key reservations (they belong to a key)."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import timedelta
from typing import Any, ClassVar

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from customers.platform.slugs import SLUG_LENGTH
from customers.platform.tenancy import TenantModel
from customers.platform.validators import validate_single_line


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra: Any) -> User:
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
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

    objects: ClassVar[UserManager] = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

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
    slug = models.SlugField(max_length=SLUG_LENGTH, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Audit entries older than this are archived and removed (audit.archive).
    audit_retention_days = models.PositiveIntegerField(
        default=365, validators=[MinValueValidator(30), MaxValueValidator(3650)]
    )
    # Opt-in: opening a customer, exporting the audit log, revealing users or tokens, and
    # support staff opening a record each write a "*.viewed" entry.
    audit_reads = models.BooleanField(default=False)

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
    # Owners and admins get usage alert emails unless they turn them off.
    usage_alert_emails = models.BooleanField(default=True)
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
        verbose_name = "API key"  # what the console and the portal call it
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

    @staticmethod
    def hash(secret: str) -> str:
        """What is stored of a secret, and what a presented one is looked up by."""
        return _hash_token(secret)

    @classmethod
    def authenticate(cls, secret: str) -> ApiToken | None:
        """The live token for a presented secret, or None.

        The token itself tells which tenant it belongs to, so this one lookup cannot be scoped
        beforehand; it matches on the hash of a 256-bit secret, never on anything guessable.
        """
        if not secret or not secret.startswith(cls.PREFIX) or len(secret) > 200:
            return None
        token: ApiToken | None = (
            cls.objects.by_secret()
            .select_related("organization", "customer")
            .filter(token_hash=_hash_token(secret), revoked_at__isnull=True)
            .first()
        )
        if token is None:
            return None
        now = timezone.now()
        # One write a minute at most, not one per request.
        if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
            cls.objects.for_organization(token.organization_id).filter(pk=token.pk).update(
                last_used_at=now
            )
            token.last_used_at = now
        return token


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
