"""Delivering webhooks, in the background worker (django-tasks): signed per Standard Webhooks,
in order per endpoint and customer, retried with backoff and jitter for 24 hours.

A delivery is claimed by moving its next attempt a lease into the future and giving it a claim
token (one UPDATE that only one worker wins), sent with no transaction open, then marked in one
transaction that checks the token still holds. A worker that dies mid-send leaves the claim to
expire and the delivery is sent again: never lost, never marked twice; receivers de-duplicate
by ``webhook-id``."""

from __future__ import annotations

import http.client
import json
import logging
import random
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import models, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django_tasks import TaskResultStatus, default_task_backend, task
from django_tasks_db.backend import DatabaseBackend
from django_tasks_db.models import DBTaskResult, get_date_max
from standardwebhooks import Webhook

from customers.models import Membership, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from customers.webhooks.safety import UnsafeDestination
from customers.webhooks.secrets import decrypt
from customers.webhooks.transport import TIMEOUT_SECONDS, post

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=TIMEOUT_SECONDS * 3)
# Wait after the n-th failed attempt (then the last wait repeats) until 24 hours have passed
# since the first attempt; each wait is shifted by up to ±10 % of jitter.
RETRY_SCHEDULE = [
    timedelta(seconds=5),
    timedelta(seconds=30),
    timedelta(minutes=2),
    timedelta(minutes=10),
    timedelta(minutes=30),
    timedelta(hours=1),
    timedelta(hours=2),
    timedelta(hours=4),
    timedelta(hours=8),
]
GIVE_UP_AFTER = timedelta(hours=24)
DISABLE_AFTER = timedelta(days=3)


@dataclass
class Outcome:
    status_code: int | None
    latency_ms: int
    error: str
    excerpt: str

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def retry_wait(attempts: int) -> timedelta:
    base = RETRY_SCHEDULE[min(attempts, len(RETRY_SCHEDULE)) - 1]
    return base * random.uniform(0.9, 1.1)


def body_of(delivery: WebhookDelivery) -> str:
    event = delivery.event
    return json.dumps(
        {
            "id": event.id,
            "type": event.type,
            "version": event.version,
            "timestamp": event.created_at.isoformat(),
            "sequence": delivery.sequence,
            "data": event.data,
        },
        separators=(",", ":"),
        default=str,
    )


def signature(endpoint: WebhookEndpoint, msg_id: str, at: datetime, body: str) -> str:
    """v1 signatures under the current secret and, during a rotation, the previous one."""
    keys = [decrypt(endpoint.secret_encrypted)]
    overlap = endpoint.previous_secret_expires_at
    if endpoint.previous_secret_encrypted and overlap and overlap > timezone.now():
        keys.append(decrypt(endpoint.previous_secret_encrypted))
    return " ".join(Webhook(key).sign(msg_id, at, body) for key in keys)


def send(delivery: WebhookDelivery) -> Outcome:
    endpoint, body = delivery.endpoint, body_of(delivery)
    now = timezone.now()
    started = time.monotonic()
    try:
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "Tenantry-Webhooks/1",
            "webhook-id": delivery.event_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": signature(endpoint, delivery.event_id, now, body),
        }
        code, excerpt = post(endpoint.url, body.encode(), headers)
        error = ""
    except UnsafeDestination as refused:
        code, excerpt, error = None, b"", str(refused)
    except (OSError, ValueError, http.client.HTTPException) as failure:
        # refused, reset, timed out, a bad certificate, a garbled answer
        code, excerpt, error = None, b"", f"{type(failure).__name__}: {failure}"[:300]
    except Exception as failure:  # anything else: logged, recorded, and the worker goes on
        log.exception("webhook delivery %s failed unexpectedly", delivery.pk)
        code, excerpt, error = None, b"", f"Internal error: {type(failure).__name__}"
    latency = int((time.monotonic() - started) * 1000)
    return Outcome(code, latency, error, excerpt.decode("utf-8", "replace"))


def _blocked_by_earlier() -> Exists:
    """An earlier delivery to the same endpoint about the same customer is still pending."""
    return Exists(
        WebhookDelivery.objects.unscoped().filter(
            endpoint_id=OuterRef("endpoint_id"),
            customer_id=OuterRef("customer_id"),
            status=WebhookDelivery.Status.PENDING,
            sequence__lt=OuterRef("sequence"),
        )
    )


def due(now: datetime, limit: int = 50) -> list[int]:
    return list(
        WebhookDelivery.objects.unscoped()
        .filter(status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now)
        .filter(endpoint__enabled=True)  # a disabled endpoint's deliveries wait for it
        .filter(~_blocked_by_earlier())
        .order_by("endpoint_id", "sequence")
        .values_list("pk", flat=True)[:limit]
    )


def claim(pk: int, now: datetime) -> WebhookDelivery | None:
    """Takes a due delivery for one attempt: a lease, and a claim token that only this
    attempt's result may present (a replay or a second worker makes the token stale)."""
    token = secrets.token_hex(8)
    won = (
        WebhookDelivery.objects.unscoped()
        .filter(pk=pk, status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now)
        .update(next_attempt_at=now + LEASE, claim=token)
    )
    if not won:
        return None
    return WebhookDelivery.objects.unscoped().select_related("endpoint", "event").get(pk=pk)


def attempt(delivery: WebhookDelivery) -> Outcome:
    """One attempt at a claimed delivery, and its result recorded."""
    outcome = send(delivery)
    record_outcome(delivery, outcome)
    return outcome


@transaction.atomic
def record_outcome(delivery: WebhookDelivery, outcome: Outcome) -> None:
    """The endpoint's row is locked before the delivery's, as every write about deliveries
    does (customers.services.webhooks): a delete waits for this, or this finds it gone."""
    now = timezone.now()
    endpoint = (
        WebhookEndpoint.objects.unscoped().select_for_update().filter(pk=delivery.endpoint_id)
    ).first()
    if endpoint is None:  # deleted while the attempt was under way: nothing left to record
        return
    current = (
        WebhookDelivery.objects.unscoped()
        .select_for_update()
        .filter(pk=delivery.pk, status=WebhookDelivery.Status.PENDING, claim=delivery.claim)
        .first()
    )
    if current is None:  # its claim is stale (replayed, or taken over): that one counts
        return
    WebhookAttempt.objects.create(
        organization_id=current.organization_id,
        delivery=current,
        at=now,
        status_code=outcome.status_code,
        latency_ms=outcome.latency_ms,
        # Stored as text: no NUL (PostgreSQL refuses it), and within the column.
        error=outcome.error.replace("\x00", "")[:300],
        response_excerpt=outcome.excerpt.replace("\x00", ""),
        succeeded=outcome.ok,
    )
    current.claim = ""
    current.attempts += 1
    current.first_attempt_at = current.first_attempt_at or now
    if outcome.ok:
        current.status, current.delivered_at = WebhookDelivery.Status.SUCCEEDED, now
        endpoint.failing_since = None
    else:
        _failed(current, endpoint, outcome, now)
    current.save()
    endpoint.save(update_fields=["failing_since", "enabled", "disabled_reason"])


def _failed(
    delivery: WebhookDelivery, endpoint: WebhookEndpoint, outcome: Outcome, now: datetime
) -> None:
    endpoint.failing_since = _failing_since(endpoint, now)
    if outcome.status_code == 410:
        _disable(endpoint, "The receiver answered 410 Gone.")
    elif now - endpoint.failing_since >= DISABLE_AFTER:
        _disable(endpoint, "Every delivery failed for 3 days.")
    if now - delivery.first_attempt_at >= GIVE_UP_AFTER or not endpoint.enabled:
        delivery.status = WebhookDelivery.Status.FAILED
    else:
        delivery.next_attempt_at = now + retry_wait(delivery.attempts)


def _failing_since(endpoint: WebhookEndpoint, now: datetime) -> datetime:
    """Failing since then, counted only while failures keep coming: after a day without any
    attempt, a failure starts a new count (a quiet endpoint is not a broken one)."""
    if endpoint.failing_since is None:
        return now
    recent = WebhookAttempt.objects.unscoped().filter(  # before this attempt, within a day
        delivery__endpoint_id=endpoint.pk, at__gte=now - timedelta(days=1), at__lt=now
    )
    return endpoint.failing_since if recent.exists() else now


def _disable(endpoint: WebhookEndpoint, reason: str) -> None:
    if not endpoint.enabled:
        return
    endpoint.enabled, endpoint.disabled_reason = False, reason
    owners = Membership.objects.filter(
        organization_id=endpoint.organization_id, role=Membership.Role.OWNER
    ).values_list("user__email", flat=True)
    url = f"{settings.SITE_URL}/settings/webhooks/{endpoint.pk}/"
    transaction.on_commit(
        lambda: send_mail(
            "A webhook endpoint was disabled",
            f"Tenantry disabled the webhook endpoint {endpoint.url}: {reason}\n\n"
            f"Its undelivered events are kept. Fix the receiver, enable it again and use "
            f"Replay: {url}",
            None,
            list(owners),
            fail_silently=True,
        )
    )


def deliver_now(now: datetime | None = None) -> int:
    """Sends every delivery that is due, oldest first per endpoint and customer; returns how
    many attempts it made."""
    made = 0
    while True:
        now = timezone.now() if now is None else now
        batch = due(now)
        if not batch:
            return made
        for pk in batch:
            delivery = claim(pk, now)
            if delivery is None:
                continue
            try:
                attempt(delivery)
            except Exception:  # one delivery never stops the others (or the worker)
                log.exception("webhook delivery %s could not be recorded", pk)
                _back_off(delivery)
            made += 1
        now = None


def _back_off(delivery: WebhookDelivery) -> None:
    """After an attempt that could not be recorded: count it and wait, so it cannot come back
    every lease forever (it gives up after 24 hours like any other)."""
    now = timezone.now()
    attempts = delivery.attempts + 1
    first = delivery.first_attempt_at or now
    gave_up = now - first >= GIVE_UP_AFTER
    WebhookDelivery.objects.unscoped().filter(pk=delivery.pk, claim=delivery.claim).update(
        attempts=attempts,
        first_attempt_at=first,
        next_attempt_at=now + retry_wait(attempts),
        claim="",
        status=WebhookDelivery.Status.FAILED if gave_up else WebhookDelivery.Status.PENDING,
    )


def next_due() -> datetime | None:
    # A delivery waiting behind an earlier one about its customer is not due on its own.
    pending = (
        WebhookDelivery.objects.unscoped()
        .filter(status=WebhookDelivery.Status.PENDING, endpoint__enabled=True)
        .filter(~_blocked_by_earlier())
    )
    return pending.order_by("next_attempt_at").values_list("next_attempt_at", flat=True).first()


def waiting(job: Any, by: datetime) -> bool:
    """That job is already queued to run by then (one is enough; database backend)."""
    if not isinstance(default_task_backend, DatabaseBackend):
        return False
    return (
        DBTaskResult.objects.filter(task_path=job.module_path, status=TaskResultStatus.READY)
        .filter(models.Q(run_after__lte=by) | models.Q(run_after=get_date_max()))
        .exists()
    )


def wake_worker() -> None:
    """After a commit that queued deliveries: the worker sends them now."""
    if not waiting(deliver_due, timezone.now()):
        deliver_due.enqueue()


def come_back(job: Any, at: datetime | None) -> None:
    """Queue ``job`` to run again at ``at`` (a second from now at the soonest), unless one is
    queued by then already; nothing when there is no next time or the backend cannot defer."""
    if at is None or not default_task_backend.supports_defer:
        return
    at = max(at, timezone.now() + timedelta(seconds=1))
    if not waiting(job, at):
        job.using(run_after=at).enqueue()


@task()
def deliver_due() -> int:
    """The worker's job: send what is due, then come back when the next retry is."""
    made = deliver_now()
    come_back(deliver_due, next_due())
    return made
