"""Connected accounts: connect within the limit, revoke one or all."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from audit.trail.actions import Action
from audit.trail.services import record
from billing.services import check_gauge
from customers.connections.models import Connection
from customers.health.services import (
    CONNECTION_REVOKED_FOR_GOOD,
    StatusReport,
    customers_health_refresh,
    scrub,
)
from customers.identity.models import ApiToken, User
from customers.platform.errors import Conflict, Invalid, ServiceError
from customers.records.models import Customer
from customers.records.services.common import audited, locked_customer
from customers.records.services.lifecycle import Status

CONNECTION_NOT_ACTIVE = "This connection is {status} already."
NO_CONNECTIONS = "{name} has no connected accounts to revoke."


CONNECTIONS_FULL = (
    "{name} has used all {limit} of its connected accounts. Revoke one, or ask {org} to raise "
    "the limit, before connecting another."
)


@audited(Action.CONNECTION_REVOKED)
@transaction.atomic
def connection_revoke(*, connection: Connection, actor: User | ApiToken | None) -> Connection:
    current = (
        Connection.objects.for_organization(connection.organization_id)
        .select_for_update()
        .select_related("customer__organization")
        .get(pk=connection.pk)
    )
    if current.status == Connection.Status.REVOKED:
        raise ServiceError(CONNECTION_NOT_ACTIVE.format(status="revoked"))
    before = current.status
    current.status = Connection.Status.REVOKED
    current.revoked_at = timezone.now()
    current.save(update_fields=["status", "revoked_at"])
    customers_health_refresh([current.customer], actor=actor)
    record(
        action=Action.CONNECTION_REVOKED,
        organization=current.customer.organization,
        actor=actor,
        resource=current,
        resource_label=f"{current} ({current.customer.name})",
        changes={"status": [before, "revoked"]},
    )
    return current


REPORTABLE = (Connection.Status.CONNECTED, Connection.Status.EXPIRED, Connection.Status.ERROR)


@audited(Action.CONNECTION_STATUS_CHANGED)
@transaction.atomic
def connection_set_status(
    *, connection: Connection, status: str, actor: User | ApiToken | None, detail: str = ""
) -> Connection:
    """What the integration runtime reports: a credential expired, calls fail, or it works
    again. Revoking is connection_revoke; a revoked connection stays revoked."""
    if status not in REPORTABLE:
        raise Invalid(f"Report one of: {', '.join(REPORTABLE)}.")
    current = (
        Connection.objects.for_organization(connection.organization_id)
        .select_for_update()
        .select_related("customer__organization")
        .get(pk=connection.pk)
    )
    if current.status == Connection.Status.REVOKED:
        raise Conflict(CONNECTION_REVOKED_FOR_GOOD)
    if current.status == status:
        return current  # nothing changed: no entry, no event
    before, current.status = current.status, status
    current.save(update_fields=["status"])
    # One entry (and one connection.status_changed event) for the status and the health
    # it leads to.
    customers_health_refresh(
        [current.customer],
        actor=actor,
        reported=StatusReport(current.pk, before, status, scrub(detail)),
    )
    current.refresh_from_db()
    return current


@audited(Action.CONNECTION_REVOKED_ALL)
@transaction.atomic
def connections_revoke_all(*, customer: Customer, actor: User | ApiToken | None) -> int:
    current = locked_customer(customer)
    live = Connection.objects.for_customer(current).exclude(status=Connection.Status.REVOKED)
    count = live.update(status=Connection.Status.REVOKED, revoked_at=timezone.now())
    if count == 0:
        raise ServiceError(NO_CONNECTIONS.format(name=current.name))
    customers_health_refresh([current])
    record(
        action=Action.CONNECTION_REVOKED_ALL,
        organization=current.organization,
        actor=actor,
        resource=current,
        message=f"{count} connected account(s) revoked.",
        changes={"connections_revoked": [0, count]},
    )
    return count


@audited(Action.CONNECTION_CREATED)
@transaction.atomic
def connection_create(
    *,
    customer: Customer,
    app: str,
    account_label: str,
    actor: User | ApiToken | None,
    scopes: str = "",
    credential_ref: str = "",
    connected_by: str = "",
) -> Connection:
    """A connected account reported by the integration runtime, within the customer's limit."""
    current = locked_customer(customer)
    if current.status != Status.ACTIVE:
        raise ServiceError(
            f"{current.name} is {current.get_status_display().lower()}: only an active "
            "customer can connect accounts."
        )
    live = Connection.objects.for_customer(current).filter(status=Connection.Status.CONNECTED)
    verdict = check_gauge(current, "connected_accounts", current=live.count())
    if not verdict.allowed:
        raise ServiceError(
            CONNECTIONS_FULL.format(
                name=current.name, limit=verdict.limit, org=current.organization.name
            )
        )
    connection = Connection.objects.create(
        organization_id=current.organization_id,
        customer=current,
        app=app.strip(),
        account_label=account_label.strip(),
        scopes=scopes,
        credential_ref=credential_ref,
        connected_by=connected_by,
    )
    record(
        action=Action.CONNECTION_CREATED,
        organization=current.organization,
        actor=actor,
        resource=connection,
        resource_label=f"{connection} ({current.name})",
    )
    return connection
