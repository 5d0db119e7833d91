"""The audit trail: append-only, hash-chained entries, one chain per organization."""

from __future__ import annotations

from typing import Any, Self

from django.conf import settings
from django.db import models

from customers.platform.tenancy import TenantManager, TenantQuerySet


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
    # content and the previous entry's hash in the same organization (audit.trail.chain). A blank
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
