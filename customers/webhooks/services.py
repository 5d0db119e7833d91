"""Webhook endpoints and their deliveries: create, change, rotate the secret, delete, replay,
send a test event. Every change is audited; a signing secret never is."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from audit.trail.actions import Action
from audit.trail.services import record
from customers.identity.models import ApiToken, Organization, User
from customers.platform.errors import Conflict, Invalid
from customers.platform.outbound.safety import UnsafeDestination, check_destination
from customers.platform.outbound.secrets import encrypt, new_secret
from customers.records.services.common import audited, locked_organization
from customers.webhooks.models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from customers.webhooks.outbox import emit, queue_delivery, wake_worker
from customers.webhooks.registry import EVENT_TYPES

Actor = User | ApiToken | None
ROTATION_OVERLAP = timedelta(hours=24)
UNKNOWN_TYPES = "Unknown event types: {names}. GET /api/v1/webhook-event-types lists them."
REPLAY_TOO_MANY = "That range holds {count} events; replay at most {limit} at a time."
REPLAY_LIMIT = 10_000
# One organization's endpoints share the worker with every other organization's.
MAX_ENDPOINTS = 20
TOO_MANY_ENDPOINTS = f"An organization can have {MAX_ENDPOINTS} endpoints: delete one first."


def _checked_url(url: str) -> str:
    url = (url or "").strip()
    try:
        check_destination(url)
    except UnsafeDestination as refused:
        raise Invalid(str(refused)) from None
    return url


def _checked_types(event_types: list[str] | None) -> list[str]:
    names = sorted(set(event_types or []))
    unknown = [n for n in names if n not in EVENT_TYPES]
    if unknown:
        raise Invalid(UNKNOWN_TYPES.format(names=", ".join(unknown)))
    return names


@audited(Action.WEBHOOK_ENDPOINT_CREATED)
@transaction.atomic
def endpoint_create(
    *,
    organization: Organization,
    url: str,
    actor: Actor,
    description: str = "",
    event_types: list[str] | None = None,
) -> tuple[WebhookEndpoint, str]:
    """A new endpoint and its signing secret, which is returned here once and never again."""
    locked_organization(organization)  # the count below holds until this commits
    if WebhookEndpoint.objects.for_organization(organization).count() >= MAX_ENDPOINTS:
        raise Conflict(TOO_MANY_ENDPOINTS)
    secret = new_secret()
    endpoint = WebhookEndpoint(
        organization=organization,
        url=_checked_url(url),
        description=description.strip(),
        event_types=_checked_types(event_types),
        secret_encrypted=encrypt(secret),
    )
    endpoint.full_clean()
    endpoint.save()
    record(
        action=Action.WEBHOOK_ENDPOINT_CREATED,
        organization=organization,
        actor=actor,
        resource=endpoint,
        changes={
            "url": [None, endpoint.url],
            "description": [None, endpoint.description],
            "event_types": [None, endpoint.event_types],
        },
    )
    return endpoint, secret


# What can change, and how each value is checked.
CLEAN: dict[str, Callable[[Any], Any]] = {
    "url": _checked_url,
    "description": lambda value: (value or "").strip(),
    "event_types": _checked_types,
    "enabled": bool,
}


@audited(Action.WEBHOOK_ENDPOINT_UPDATED)
@transaction.atomic
def endpoint_update(
    *, endpoint: WebhookEndpoint, changes: dict[str, Any], actor: Actor
) -> WebhookEndpoint:
    current = _locked_endpoint(endpoint)
    wanted = {k: CLEAN[k](v) for k, v in changes.items() if k in CLEAN}
    diff = {
        field: [getattr(current, field), value]
        for field, value in wanted.items()
        if getattr(current, field) != value
    }
    if not diff:
        return current
    for field, (_, value) in diff.items():
        setattr(current, field, value)
    if diff.get("enabled", [None, False])[1]:  # enabled again: a fresh start
        current.disabled_reason, current.failing_since = "", None
    current.full_clean()
    current.save()
    record(
        action=Action.WEBHOOK_ENDPOINT_UPDATED,
        organization=current.organization,
        actor=actor,
        resource=current,
        changes=diff,
    )
    if diff.get("enabled", [None, False])[1]:
        transaction.on_commit(wake_worker)  # what waited while it was off goes out now
    return current


@audited(Action.WEBHOOK_ENDPOINT_SECRET_ROTATED)
@transaction.atomic
def endpoint_rotate_secret(*, endpoint: WebhookEndpoint, actor: Actor) -> str:
    """A new secret, returned once; the old one keeps signing for ROTATION_OVERLAP so receivers
    can switch without missing a delivery."""
    current = _locked_endpoint(endpoint)
    secret = new_secret()
    # The secret receivers have now keeps signing for the overlap. (Rotating again within it
    # replaces the previous one, which no receiver had switched to yet.)
    current.previous_secret_encrypted = current.secret_encrypted
    current.previous_secret_expires_at = timezone.now() + ROTATION_OVERLAP
    current.secret_encrypted = encrypt(secret)
    current.save()
    record(
        action=Action.WEBHOOK_ENDPOINT_SECRET_ROTATED,
        organization=current.organization,
        actor=actor,
        resource=current,
        message="The previous secret also signs until "
        f"{current.previous_secret_expires_at:%Y-%m-%d %H:%M} UTC.",
    )
    return secret


def _locked_endpoint(endpoint: WebhookEndpoint) -> WebhookEndpoint:
    """The endpoint's row, locked. Every write about an endpoint's deliveries takes it first,
    then the deliveries (the worker's record_outcome and the outbox do the same), so they
    queue behind each other instead of deadlocking."""
    return (
        WebhookEndpoint.objects.for_organization(endpoint.organization_id)
        .select_for_update()
        .get(pk=endpoint.pk)
    )


@audited(Action.WEBHOOK_ENDPOINT_DELETED)
@transaction.atomic
def endpoint_delete(*, endpoint: WebhookEndpoint, actor: Actor) -> None:
    # Locked first: an attempt being recorded finishes before the delete collects the rows,
    # and one recorded after it finds the endpoint gone.
    current = _locked_endpoint(endpoint)
    record(
        action=Action.WEBHOOK_ENDPOINT_DELETED,
        organization=current.organization,
        actor=actor,
        resource=current,
        changes={"url": [current.url, None]},
    )
    current.delete()


@audited(Action.WEBHOOK_REPLAYED)
@transaction.atomic
def delivery_replay(*, delivery: WebhookDelivery, actor: Actor) -> WebhookDelivery:
    """Sends one event again (same webhook-id, so a receiver that has it can tell), as a
    delivery of its own: the one replayed keeps its attempts and its place in the log."""
    endpoint = _locked_endpoint(delivery.endpoint)
    replay = _replay(endpoint, delivery.event, _deliveries_of(endpoint, [delivery.event_id]))
    record(
        action=Action.WEBHOOK_REPLAYED,
        organization=endpoint.organization,
        actor=actor,
        resource=endpoint,
        message=f"{replay.event.type} {replay.event_id} (sequence {replay.sequence})",
    )
    transaction.on_commit(wake_worker)
    return replay


def _deliveries_of(endpoint: WebhookEndpoint, event_ids: Any) -> dict[str, list[WebhookDelivery]]:
    """The endpoint's deliveries of those events (the endpoint is locked), by event."""
    found: dict[str, list[WebhookDelivery]] = {}
    rows = WebhookDelivery.objects.for_organization(endpoint.organization_id).filter(
        endpoint=endpoint, event_id__in=event_ids
    )
    for delivery in rows.select_related("event").order_by("sequence"):
        found.setdefault(delivery.event_id, []).append(delivery)
    return found


def _replay(
    endpoint: WebhookEndpoint, event: WebhookEvent, known: dict[str, list[WebhookDelivery]]
) -> WebhookDelivery:
    """One event sent again: a delivery still pending is tried now (a second one would only
    queue behind it); otherwise a new delivery with the endpoint's next sequence number."""
    earlier = known.get(event.id, [])
    pending = [d for d in earlier if d.status == WebhookDelivery.Status.PENDING]
    if pending:
        WebhookDelivery.objects.for_organization(event.organization_id).filter(
            pk=pending[0].pk, claim=""
        ).update(next_attempt_at=timezone.now())
        return pending[0]
    replay = queue_delivery(endpoint, event, replay_of=earlier[0] if earlier else None)
    known.setdefault(event.id, []).append(replay)
    return replay


@audited(Action.WEBHOOK_REPLAYED)
@transaction.atomic
def endpoint_replay_since(*, endpoint: WebhookEndpoint, since: datetime, actor: Actor) -> int:
    """Sends again every event since then that the endpoint subscribes to, including those
    it never got (it was disabled, or created later). Returns how many. Two at once queue on
    the endpoint's row: the second replays what the first queued, as it would a moment later."""
    endpoint = _locked_endpoint(endpoint)
    events = WebhookEvent.objects.for_organization(endpoint.organization_id).filter(
        created_at__gte=since
    )
    count = events.count()
    if count > REPLAY_LIMIT:
        raise Conflict(REPLAY_TOO_MANY.format(count=f"{count:,}", limit=f"{REPLAY_LIMIT:,}"))
    wanted = [
        event for event in events.order_by("created_at", "id") if endpoint.subscribes_to(event.type)
    ]
    known = _deliveries_of(endpoint, [event.id for event in wanted])
    replayed = 0
    for event in wanted:
        # another endpoint's test event is not this one's to replay
        if event.id in known or event.type != "webhook.test":
            _replay(endpoint, event, known)
            replayed += 1
    record(
        action=Action.WEBHOOK_REPLAYED,
        organization=endpoint.organization,
        actor=actor,
        resource=endpoint,
        message=f"{replayed} events since {since:%Y-%m-%d %H:%M} UTC",
    )
    transaction.on_commit(wake_worker)
    return replayed


@audited(Action.WEBHOOK_TEST_SENT)
@transaction.atomic
def endpoint_send_test(*, endpoint: WebhookEndpoint, actor: Actor) -> WebhookEvent:
    if not endpoint.enabled:
        raise Conflict("This endpoint is disabled: enable it before sending a test event.")
    event = emit(
        endpoint.organization_id,
        "webhook.test",
        {
            "customer_id": None,
            "customer": None,
            "resource": {"type": "webhook_endpoint", "id": str(endpoint.pk), "label": endpoint.url},
            "changes": {},
            "actor": getattr(actor, "email", "") or str(actor or "system"),
        },
        endpoints=[endpoint],
    )
    record(
        action=Action.WEBHOOK_TEST_SENT,
        organization=endpoint.organization,
        actor=actor,
        resource=endpoint,
        message=event.id,
    )
    return event
