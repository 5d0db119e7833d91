"""The outbox: each audited change that a webhook event type reports writes the event, and one
delivery per subscribed endpoint (with that endpoint's next sequence number), in the same
transaction as the change. A rolled-back change sends nothing; a committed one is never lost.
The worker is woken once the transaction commits."""

from __future__ import annotations

import secrets
import uuid
from typing import Any

from django.db import transaction
from django.utils import timezone

from audit.trail.hooks import after_record
from customers.connections.models import Connection
from customers.identity.domains.models import VerifiedDomain
from customers.people.models import CustomerUser, Invitation
from customers.records.models import Customer
from customers.records.shapes import customer_out
from customers.webhooks.delivery import wake_worker
from customers.webhooks.models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from customers.webhooks.registry import EVENT_TYPES, FROM_ACTION


def new_event_id() -> str:
    return "msg_" + secrets.token_urlsafe(18)


def _customer_of(resource: Any) -> Customer | None:
    if isinstance(resource, Customer):
        return resource
    if isinstance(resource, (Invitation, CustomerUser, Connection, VerifiedDomain)):
        return resource.customer
    return None


def _customer_by_id(entry: Any) -> Customer | None:
    """An entry that names its customer only by id (a purge, after the row is gone)."""
    if entry.resource_type != "customer" or entry.organization_id is None:
        return None
    try:
        key = uuid.UUID(str(entry.resource_id))
    except ValueError:
        return None
    return Customer.objects.for_organization(entry.organization_id).filter(pk=key).first()


def _customer_data(customer: Customer | None) -> dict[str, Any] | None:
    """The customer as the API serves it (None once it is purged)."""
    if customer is None or customer.pk is None:  # deleting a row clears its pk
        return None
    return customer_out(customer)


@after_record("webhook outbox")
def event_from_audit_entry(entry: Any, resource: Any) -> None:
    """An audited success that an event type reports becomes that event."""
    types = FROM_ACTION.get(entry.action)
    if not types or entry.outcome != "success" or entry.organization_id is None:
        return
    customer = _customer_of(resource) or _customer_by_id(entry)
    named = entry.resource_id if entry.resource_type == "customer" else None
    data = {
        "customer_id": str(customer.pk) if customer else (named or None),
        "customer": _customer_data(customer),
        "resource": {
            "type": entry.resource_type,
            "id": entry.resource_id,
            "label": entry.resource_label,
        },
        "changes": entry.changes or {},
        "actor": entry.actor_label,
    }
    for event_type in types:
        emit(entry.organization_id, event_type, data, customer_id=data["customer_id"])


def emit(
    organization_id: Any,
    event_type: str,
    data: dict[str, Any],
    *,
    customer_id: str | None = None,
    endpoints: list[WebhookEndpoint] | None = None,
) -> WebhookEvent:
    """Writes the event and its deliveries in the caller's transaction. ``endpoints`` narrows
    the delivery to those (a test event); by default every endpoint subscribed to it."""
    spec = EVENT_TYPES[event_type]
    with transaction.atomic():
        event = WebhookEvent.objects.create(
            id=new_event_id(),
            organization_id=organization_id,
            customer_id=customer_id,
            type=event_type,
            version=spec.version,
            data=data,
        )
        if endpoints is None:
            # A disabled endpoint gets its deliveries too: they wait, and go out in order
            # when it is enabled again (nothing is lost by switching it off).
            subscribed = WebhookEndpoint.objects.for_organization(organization_id)
            endpoints = [e for e in subscribed if e.subscribes_to(event_type)]
        targets = endpoints
        for endpoint in targets:
            queue_delivery(endpoint, event)
        if targets:
            transaction.on_commit(wake_worker)
    return event


def queue_delivery(
    endpoint: WebhookEndpoint, event: WebhookEvent, *, replay_of: WebhookDelivery | None = None
) -> WebhookDelivery:
    """A delivery with the endpoint's next sequence number (the endpoint row is locked); a
    replay names the delivery it sends again."""
    locked = (
        WebhookEndpoint.objects.for_organization(endpoint.organization_id)
        .select_for_update()
        .get(pk=endpoint.pk)
    )
    locked.last_sequence += 1
    locked.save(update_fields=["last_sequence"])
    return WebhookDelivery.objects.create(
        organization_id=endpoint.organization_id,
        endpoint_id=endpoint.pk,
        event=event,
        customer_id=event.customer_id,
        sequence=locked.last_sequence,
        next_attempt_at=timezone.now(),
        replay_of=replay_of,
    )
