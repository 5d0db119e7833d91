"""The customer lifecycle (SPEC §2): suspend, reactivate, activate, delete, restore, purge."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit.selectors import executions_since
from audit.trail.actions import Action
from audit.trail.services import diff, record
from customers.connections.models import Connection
from customers.identity.models import ApiToken, User
from customers.people.models import CustomerUser
from customers.platform.errors import TransitionRefused
from customers.records.models import Customer, CustomerStatus
from customers.records.services.common import audited, locked_customer

Status = CustomerStatus


LIFECYCLE: dict[str, tuple[Status, ...]] = {
    "activate": (Status.PENDING_ADMIN_ACTIVATION,),
    "suspend": (Status.PENDING_ADMIN_ACTIVATION, Status.ACTIVE),
    "reactivate": (Status.SUSPENDED,),
    "delete": (Status.PENDING_ADMIN_ACTIVATION, Status.ACTIVE, Status.SUSPENDED),
    "restore": (Status.DELETED,),
}


REFUSALS = {
    ("suspend", Status.SUSPENDED): "{name} is already suspended.",
    ("suspend", Status.DELETED): "{name} is deleted; restore it before suspending it.",
    ("reactivate", Status.ACTIVE): "{name} is active already.",
    ("reactivate", Status.PENDING_ADMIN_ACTIVATION): (
        "{name} is not suspended: it is waiting for its admin to accept the invitation."
    ),
    ("reactivate", Status.DELETED): "{name} is deleted; restore it instead.",
    ("delete", Status.DELETED): "{name} is deleted already.",
    ("restore", Status.ACTIVE): "{name} is not deleted, so there is nothing to restore.",
    ("restore", Status.SUSPENDED): "{name} is not deleted, so there is nothing to restore.",
    ("restore", Status.PENDING_ADMIN_ACTIVATION): (
        "{name} is not deleted, so there is nothing to restore."
    ),
    ("activate", Status.ACTIVE): "{name} is active already.",
    ("activate", Status.SUSPENDED): "{name} is suspended; reactivate it first.",
    ("activate", Status.DELETED): "{name} is deleted.",
}


RESTORE_WINDOW_PASSED = (
    "{name} was deleted on {deleted:%Y-%m-%d}, more than {days} days ago: it can no longer be "
    "restored."
)


def _check_transition(customer: Customer, event: str) -> None:
    if customer.status not in LIFECYCLE[event]:
        template = REFUSALS.get(
            (event, CustomerStatus(customer.status)), "{name} cannot be {event}d while {status}."
        )
        raise TransitionRefused(
            template.format(
                name=customer.name, event=event, status=customer.get_status_display().lower()
            )
        )


def _set_status(customer: Customer, status: str, *, extra: dict[str, Any] | None = None) -> dict:
    before = {"status": customer.status, **{k: getattr(customer, k) for k in (extra or {})}}
    customer.status = status
    for field, value in (extra or {}).items():
        setattr(customer, field, value)
    customer.version += 1
    customer.save(update_fields=["status", "version", "updated_at", *(extra or {})])
    return diff(before, {"status": status, **(extra or {})})


IMPACT_CAP = 10_000
IMPACT_WINDOW = timedelta(days=7)  # "executions in the last 7 days"


def impact_summary(
    customer: Customer,
    *,
    users: int | None = None,
    connections: int | None = None,
    executions_7d: int | None = None,
) -> dict[str, int]:
    """What a lifecycle action affects, for the confirmation dialogs. A page that already
    holds a count passes it in; the others are counted here."""
    if users is None:
        users = CustomerUser.objects.for_customer(customer).count()
    if connections is None:
        connections = (
            Connection.objects.for_customer(customer)
            .filter(status=Connection.Status.CONNECTED)
            .count()
        )
    if executions_7d is None:
        since = timezone.now() - IMPACT_WINDOW
        executions_7d = executions_since(customer, since, cap=IMPACT_CAP)
    return {"users": users, "connections": connections, "executions_7d": executions_7d}


def transition(
    customer: Customer, actor: User | ApiToken | None, event: str, action: Action
) -> Customer:
    current = locked_customer(customer)
    _check_transition(current, event)
    if event == "suspend":
        changes = _set_status(current, Status.SUSPENDED)
    elif event == "reactivate":
        target = Status.ACTIVE if current.owner_id else Status.PENDING_ADMIN_ACTIVATION
        changes = _set_status(current, target)
    elif event == "activate":
        changes = _set_status(current, Status.ACTIVE)
    elif event == "delete":
        changes = _set_status(
            current,
            Status.DELETED,
            extra={"deleted_at": timezone.now(), "status_before_delete": current.status},
        )
    else:  # restore
        deadline = current.restore_deadline()
        if deadline is not None and deadline < timezone.now():
            raise TransitionRefused(
                RESTORE_WINDOW_PASSED.format(
                    name=current.name,
                    deleted=current.deleted_at,
                    days=settings.CUSTOMER_RETENTION_DAYS,
                )
            )
        previous = current.status_before_delete or Status.PENDING_ADMIN_ACTIVATION
        changes = _set_status(
            current, previous, extra={"deleted_at": None, "status_before_delete": ""}
        )
    record(
        action=action,
        organization=current.organization,
        actor=actor,
        resource=current,
        changes=changes,
    )
    return current


@audited(Action.CUSTOMER_SUSPENDED)
@transaction.atomic
def customer_suspend(*, customer: Customer, actor: User | ApiToken | None) -> Customer:
    """Portal login, customer tokens and ingestion stop; every record is kept."""
    return transition(customer, actor, "suspend", Action.CUSTOMER_SUSPENDED)


@audited(Action.CUSTOMER_REACTIVATED)
@transaction.atomic
def customer_reactivate(*, customer: Customer, actor: User | ApiToken | None) -> Customer:
    """Back to Active, or to Pending Admin Activation when no admin has accepted yet."""
    return transition(customer, actor, "reactivate", Action.CUSTOMER_REACTIVATED)


@audited(Action.CUSTOMER_ACTIVATED)
@transaction.atomic
def customer_activate(*, customer: Customer, actor: User | ApiToken | None) -> Customer:
    return transition(customer, actor, "activate", Action.CUSTOMER_ACTIVATED)


@audited(Action.CUSTOMER_DELETED)
@transaction.atomic
def customer_delete(*, customer: Customer, actor: User | ApiToken | None) -> Customer:
    """Soft delete: hidden from lists, restorable for CUSTOMER_RETENTION_DAYS."""
    return transition(customer, actor, "delete", Action.CUSTOMER_DELETED)


@audited(Action.CUSTOMER_RESTORED)
@transaction.atomic
def customer_restore(*, customer: Customer, actor: User | ApiToken | None) -> Customer:
    """Back to the status it had before it was deleted, within the retention window."""
    return transition(customer, actor, "restore", Action.CUSTOMER_RESTORED)


def customers_purge_deleted(*, now: datetime | None = None) -> list[str]:
    """Remove customers deleted more than CUSTOMER_RETENTION_DAYS ago, with everything they own.
    Their audit entries stay. Returns the purged customers' labels."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.CUSTOMER_RETENTION_DAYS)
    purged = []
    # A system job: it works across every organization, explicitly.
    expired = Customer.objects.for_worker().filter(status=Status.DELETED, deleted_at__lt=cutoff)
    for customer in expired.select_related("organization").iterator():
        with transaction.atomic():
            record(
                action=Action.CUSTOMER_PURGED,
                organization=customer.organization,
                actor=None,
                resource=customer,
                message=f"Deleted {customer.deleted_at:%Y-%m-%d}; retention window passed.",
            )
            # The customer points at its own users and invitation; cut those first.
            Customer.objects.for_customer(customer).update(
                owner=None,
                admin_invitation=None,
                billing_contact=None,
                legal_contact=None,
                security_contact=None,
                technical_contact=None,
            )
            Customer.objects.for_customer(customer).delete()
        purged.append(f"{customer.name} ({customer.pk})")
    return purged
