"""Delivering webhooks, in the background worker (django-tasks): signed per Standard Webhooks,
in order per endpoint and customer, retried with backoff and jitter for 24 hours.

A delivery is claimed by moving its next attempt a lease into the future and giving it a claim
token (one UPDATE that only one worker wins), sent with no transaction open, then marked in one
transaction that checks the token still holds. A worker that dies mid-send leaves the claim to
expire and the delivery is sent again: never lost, never marked twice; receivers de-duplicate
by ``webhook-id``."""

from __future__ import annotations

import logging
import random
import secrets
import time
from collections import Counter
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, Min, OuterRef, Q, QuerySet
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone
from django_tasks import task

from customers.identity.models import Membership
from customers.platform import mail
from customers.platform.jobs import BETWEEN_POLLS, come_back, waiting
from customers.platform.outbound.transport import TIMEOUT_SECONDS
from customers.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from customers.webhooks.sending import Outcome, body_of, send, signature

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
# Fair sharing of one worker: attempts run in SENDERS threads, at most one per endpoint; the
# endpoints whose organizations were served least go first; a run claims new attempts for
# BUDGET at most, then the task comes back (other tasks run in between). A receiver that
# times out pauses its endpoint for PAUSE, doubling with each timeout in a row.
SENDERS = 4
BUDGET = timedelta(seconds=10)
POLL_SECONDS = 0.2
PAUSE, LONGEST_PAUSE = timedelta(seconds=30), timedelta(minutes=10)
__all__ = ["Outcome", "body_of", "send", "signature"]  # re-exported from sending.py


def retry_wait(attempts: int) -> timedelta:
    base = RETRY_SCHEDULE[min(attempts, len(RETRY_SCHEDULE)) - 1]
    return base * random.uniform(0.9, 1.1)


def _blocked_by_earlier() -> Exists:
    """An earlier delivery to the same endpoint about the same customer is still pending."""
    return Exists(
        WebhookDelivery.objects.for_worker().filter(
            endpoint_id=OuterRef("endpoint_id"),
            customer_id=OuterRef("customer_id"),
            status=WebhookDelivery.Status.PENDING,
            sequence__lt=OuterRef("sequence"),
        )
    )


def _due(now: datetime) -> QuerySet:
    """Pending, due, its endpoint enabled and not paused, nothing earlier about its customer
    still pending."""
    return (
        WebhookDelivery.objects.for_worker()
        .filter(status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now)
        .filter(endpoint__enabled=True)  # a disabled endpoint's deliveries wait for it
        .filter(Q(endpoint__paused_until__isnull=True) | Q(endpoint__paused_until__lte=now))
        .filter(~_blocked_by_earlier())
    )


def due(now: datetime, *, busy: set[Any], served: Counter[Any], slots: int) -> list[int]:
    """At most one due delivery for each of up to ``slots`` endpoints that have no attempt
    under way, the organizations (then endpoints) served least in this run first."""
    lanes = (
        _due(now)
        .exclude(endpoint_id__in=busy)
        .values("organization_id", "endpoint_id")
        .annotate(oldest=Min("next_attempt_at"))
    )
    chosen = sorted(
        lanes,
        key=lambda lane: (
            served[lane["organization_id"]],
            served[lane["endpoint_id"]],
            lane["oldest"],
        ),
    )[:slots]
    picks = []
    for lane in chosen:
        first = _due(now).filter(endpoint_id=lane["endpoint_id"]).order_by("sequence")
        pk = first.values_list("pk", flat=True).first()
        if pk is not None:
            picks.append(pk)
    return picks


def claim(pk: int, now: datetime) -> WebhookDelivery | None:
    """Takes a due delivery for one attempt: a lease, and a claim token that only this
    attempt's result may present (a replay or a second worker makes the token stale)."""
    token = secrets.token_hex(8)
    won = (
        WebhookDelivery.objects.for_worker()
        .filter(pk=pk, status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now)
        .update(next_attempt_at=now + LEASE, claim=token)
    )
    if not won:
        return None
    return WebhookDelivery.objects.for_worker().select_related("endpoint", "event").get(pk=pk)


@transaction.atomic
def record_outcome(delivery: WebhookDelivery, outcome: Outcome) -> None:
    """The endpoint's row is locked before the delivery's, as every write about deliveries
    does (customers.webhooks.services): a delete waits for this, or this finds it gone."""
    now = timezone.now()
    endpoint = (
        WebhookEndpoint.objects.for_organization(delivery.organization_id)
        .select_for_update()
        .filter(pk=delivery.endpoint_id)
    ).first()
    if endpoint is None:  # deleted while the attempt was under way: nothing left to record
        return
    current = (
        WebhookDelivery.objects.for_organization(delivery.organization_id)
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
    _breaker(endpoint, outcome, now)
    current.save()
    endpoint.save(
        update_fields=[
            "failing_since",
            "enabled",
            "disabled_reason",
            "paused_until",
            "timeouts_in_row",
        ]
    )


def _breaker(endpoint: WebhookEndpoint, outcome: Outcome, now: datetime) -> None:
    """A timeout opens the circuit: the endpoint waits PAUSE, doubled per timeout in a row;
    any answer closes it."""
    if not outcome.timed_out:
        endpoint.timeouts_in_row, endpoint.paused_until = 0, None
        return
    endpoint.timeouts_in_row = min(endpoint.timeouts_in_row + 1, 20)
    endpoint.paused_until = now + min(PAUSE * 2 ** (endpoint.timeouts_in_row - 1), LONGEST_PAUSE)


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
    recent = WebhookAttempt.objects.for_organization(
        endpoint.organization_id
    ).filter(  # before this attempt, within a day
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
    notice = mail.Letter(
        "A webhook endpoint was disabled",
        f"Tenantry disabled the webhook endpoint {endpoint.url}: {reason}\n\n"
        f"Its undelivered events are kept. Fix the receiver, enable it again and use "
        f"Replay: {url}",
    )
    transaction.on_commit(
        lambda: mail.send_quietly(notice, list(owners), "The disabled-endpoint notice")
    )


def deliver_now(now: datetime | None = None, *, budget: timedelta = BUDGET) -> int:
    """Sends what is due, fairly: SENDERS attempts at once, one per endpoint, the least
    served organizations first, claiming new ones for ``budget``; returns how many attempts it
    made. Only the senders' threads touch the network; claims and results are this thread's,
    so they run in its transaction and on its connection."""
    deadline = time.monotonic() + budget.total_seconds()
    served: Counter[Any] = Counter()
    in_flight: dict[Future[Outcome], WebhookDelivery] = {}
    made, between = 0, time.monotonic()
    with ThreadPoolExecutor(max_workers=SENDERS, thread_name_prefix="webhook-send") as senders:
        while True:
            if time.monotonic() < deadline:
                _dispatch(senders, in_flight, served, now)
                now = None  # a time given is the first round's; then the clock's
            if not in_flight:
                return made
            done, _ = wait(in_flight, timeout=POLL_SECONDS, return_when=FIRST_COMPLETED)
            for future in done:
                _finish(in_flight.pop(future), future)
                made += 1
            if time.monotonic() - between >= 1:  # a slow receiver holds up nothing else
                between = time.monotonic()
                for work in BETWEEN_POLLS:
                    work()


def _dispatch(
    senders: ThreadPoolExecutor,
    in_flight: dict[Future[Outcome], WebhookDelivery],
    served: Counter[Any],
    now: datetime | None,
) -> None:
    busy = {delivery.endpoint_id for delivery in in_flight.values()}
    slots = SENDERS - len(in_flight)
    when = now or timezone.now()
    for pk in due(when, busy=busy, served=served, slots=slots) if slots else []:
        delivery = claim(pk, when)
        if delivery is None:  # another worker took it
            continue
        served[delivery.organization_id] += 1
        served[delivery.endpoint_id] += 1
        in_flight[senders.submit(send, delivery)] = delivery


def _finish(delivery: WebhookDelivery, future: Future[Outcome]) -> None:
    try:
        record_outcome(delivery, future.result())
    except Exception:  # one delivery never stops the others (or the worker)
        log.exception("webhook delivery %s could not be recorded", delivery.pk)
        _back_off(delivery)


def _back_off(delivery: WebhookDelivery) -> None:
    """After an attempt that could not be recorded: count it and wait, so it cannot come back
    every lease forever (it gives up after 24 hours like any other)."""
    now = timezone.now()
    attempts = delivery.attempts + 1
    first = delivery.first_attempt_at or now
    gave_up = now - first >= GIVE_UP_AFTER
    WebhookDelivery.objects.for_organization(delivery.organization_id).filter(
        pk=delivery.pk, claim=delivery.claim
    ).update(
        attempts=attempts,
        first_attempt_at=first,
        next_attempt_at=now + retry_wait(attempts),
        claim="",
        status=WebhookDelivery.Status.FAILED if gave_up else WebhookDelivery.Status.PENDING,
    )


def next_due() -> datetime | None:
    # A delivery waiting behind an earlier one about its customer is not due on its own, and
    # one whose endpoint is paused is due when the pause ends.
    pending = (
        WebhookDelivery.objects.for_worker()
        .filter(status=WebhookDelivery.Status.PENDING, endpoint__enabled=True)
        .filter(~_blocked_by_earlier())
        .annotate(
            at=Greatest("next_attempt_at", Coalesce("endpoint__paused_until", "next_attempt_at"))
        )
    )
    return pending.order_by("at").values_list("at", flat=True).first()


def wake_worker() -> None:
    """After a commit that queued deliveries: the worker sends them now."""
    if not waiting(deliver_due, timezone.now()):
        deliver_due.enqueue()


@task()
def deliver_due() -> int:
    """The worker's job: send what is due, then come back when the next retry is."""
    made = deliver_now()
    come_back(deliver_due, next_due())
    return made
