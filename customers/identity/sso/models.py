"""A customer's SSO connection: which identity provider its people sign in through, how the
provider's claims map onto Tenantry's people and roles, and what its last test found."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from django.db import models
from django.utils import timezone

from customers.identity.models import Organization, User
from customers.people.models import CustomerUser
from customers.platform.tenancy import TenantModel
from customers.records.models import Customer

# How long the browser that opened a setup link may work on the setup.
OPEN_FOR = timedelta(hours=1)
# How long before a SAML signing certificate expires its customer and organization are warned.
WARN_BEFORE = timedelta(days=30)


def _no_groups() -> dict[str, str]:
    return {}


class SsoConnection(TenantModel):
    """How one customer's people sign in through their identity provider. A connection starts
    as a draft, is tested with a real round trip, and signs people in only while active."""

    class Protocol(models.TextChoices):
        OIDC = "oidc", "OpenID Connect"
        SAML = "saml", "SAML 2.0"

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        ACTIVE = "active", "Active"
        INACTIVE = "inactive", "Inactive"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="sso_connections")
    name = models.CharField(max_length=100)
    protocol = models.CharField(max_length=8, choices=Protocol.choices, default=Protocol.OIDC)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    # OpenID Connect: the provider's issuer (its discovery document lives under it), and the
    # client Tenantry is registered as there. The secret is kept encrypted, never shown again.
    issuer = models.URLField(max_length=500, blank=True)
    client_id = models.CharField(max_length=255, blank=True)
    client_secret_encrypted = models.TextField(blank=True, editable=False)
    # SAML 2.0: the IdP's entity id, its single sign-on URL (HTTP-Redirect) and its signing
    # certificates (PEM; two during a rollover), typed in or read from its metadata, which a
    # metadata URL lets Tenantry fetch again each day.
    idp_metadata_url = models.URLField(max_length=500, blank=True)
    idp_metadata_fetched_at = models.DateTimeField(null=True, blank=True, editable=False)
    idp_entity_id = models.CharField(max_length=500, blank=True)
    idp_sso_url = models.URLField(max_length=500, blank=True)
    idp_certificate = models.TextField(blank=True)
    # When the last of the signing certificates expires, and the expiry already warned about.
    certificate_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    certificate_warned_for = models.DateTimeField(null=True, blank=True, editable=False)
    # A response the provider sends unasked (IdP-initiated sign-in): refused unless allowed.
    allow_idp_initiated = models.BooleanField(default=False)
    # Which claims carry what; the defaults are OpenID Connect's standard claim names.
    email_claim = models.CharField(max_length=100, default="email")
    first_name_claim = models.CharField(max_length=100, default="given_name")
    last_name_claim = models.CharField(max_length=100, default="family_name")
    groups_claim = models.CharField(max_length=100, default="groups")
    # Group name at the provider → customer role; people in no mapped group get default_role.
    group_roles = models.JSONField(default=_no_groups, blank=True)
    default_role = models.CharField(
        max_length=16, choices=CustomerUser.Role.choices, default=CustomerUser.Role.USER
    )
    # A first sign-in creates the person (within the seat limit) when their email's domain is
    # verified by the customer.
    provision_users = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)
    # The last test: when it passed (activation needs one since the settings last changed) and
    # what it found, in plain words.
    tested_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_test_ok = models.BooleanField(null=True, editable=False)
    last_test_result = models.TextField(blank=True, editable=False)
    last_signed_in_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "customer", "name"], name="sso_connection_name_once"
            )
        ]
        indexes = [
            models.Index(fields=["organization", "customer", "status"], name="sso_conn_status")
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def has_secret(self) -> bool:
        return bool(self.client_secret_encrypted)

    @property
    def passed_test(self) -> bool:
        return bool(self.last_test_ok and self.tested_at)

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE

    @property
    def is_saml(self) -> bool:
        return self.protocol == self.Protocol.SAML

    @property
    def certificate_expired(self) -> bool:
        expires = self.certificate_expires_at
        return bool(self.is_saml and expires and expires <= timezone.now())

    @property
    def certificate_expiring(self) -> bool:
        """The signing certificate expires within WARN_BEFORE (or has)."""
        expires = self.certificate_expires_at
        return bool(self.is_saml and expires and expires <= timezone.now() + WARN_BEFORE)

    def role_for(self, groups: Any) -> str:
        """The customer role for someone in ``groups``: the highest mapped role, else default."""
        names = [groups] if isinstance(groups, str) else list(groups or [])
        mapped = {
            self.group_roles[g] for g in names if isinstance(g, str) and g in self.group_roles
        }
        for role in ROLE_RANK:
            if role in mapped:
                return role
        return self.default_role


# When someone is in several mapped groups, the most capable role wins.
ROLE_RANK = [
    CustomerUser.Role.SUPERUSER,
    CustomerUser.Role.ENGINEER,
    CustomerUser.Role.BILLING,
    CustomerUser.Role.USER,
]


class SsoSetupLink(TenantModel):
    """A link the organization sends to a customer's IT contact, who may have no account: it
    opens that one customer's SSO setup, once, for an hour, within seven days of being sent."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    email = models.EmailField()
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    expires_at = models.DateTimeField()
    opened_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["organization", "customer", "-created_at"], name="sso_link_cust")
        ]

    def __str__(self) -> str:
        # How the audit log names what this link's holder did.
        return f"SSO setup link sent to {self.email}"

    @property
    def withdrawable(self) -> bool:
        """Unused and unexpired, or opened less than an hour ago (its browser is still in)."""
        if self.revoked_at:
            return False
        if self.opened_at:
            return self.opened_at > timezone.now() - OPEN_FOR
        return self.expires_at > timezone.now()

    @property
    def state(self) -> str:
        if self.revoked_at:
            return "revoked"
        if self.opened_at:
            return "used"
        return "expired" if self.expires_at <= timezone.now() else "pending"


class SamlAssertionSeen(TenantModel):
    """A SAML assertion a connection has accepted, kept until it expires: the same assertion
    id a second time is a replay, and the unique constraint refuses it even when two requests
    race."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    connection = models.ForeignKey(SsoConnection, on_delete=models.CASCADE, related_name="+")
    assertion_id = models.CharField(max_length=256)
    expires_at = models.DateTimeField()
    seen_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "connection", "assertion_id"], name="saml_assertion_once"
            )
        ]
        indexes = [models.Index(fields=["expires_at"], name="saml_assertion_expiry")]

    def __str__(self) -> str:
        return self.assertion_id
