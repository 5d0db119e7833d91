"""Delivering log streams in the background worker (django-tasks): each stream sends its
organization's audit entries after its cursor, in id order, in batches; the cursor moves only
after the destination accepted a batch, so delivery is at least once and in order. A stream is
claimed first (one UPDATE only one worker wins, with a lease), so two workers never send the
same stream at once; a worker that dies mid-send leaves the lease to expire. Failures wait with
exponential backoff; the page shows the last error and the lag."""

from __future__ import annotations

import http.client
import logging
import os
import secrets
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django_tasks import task

from audit.streams import formats
from audit.streams.models import LogStream
from audit.trail.hooks import after_record
from audit.trail.models import AuditEntry
from customers.platform.jobs import BETWEEN_POLLS, come_back, waiting
from customers.platform.outbound.safety import UnsafeDestination
from customers.platform.outbound.secrets import decrypt
from customers.platform.outbound.transport import TIMEOUT_SECONDS, post

log = logging.getLogger(__name__)

BATCH = 100
LEASE = timedelta(seconds=TIMEOUT_SECONDS * 3)
FIRST_WAIT, LONGEST_WAIT = timedelta(seconds=2), timedelta(minutes=30)


class DeliveryFailed(Exception):
    """The destination did not take the batch; the message is shown on the page."""


def backoff(failures: int) -> timedelta:
    """2 s, 4 s, 8 s … doubling after each failure in a row, at most 30 minutes."""
    return min(FIRST_WAIT * 2 ** min(max(failures - 1, 0), 20), LONGEST_WAIT)


def stream_file(stream: LogStream) -> Path:
    """A file stream's path: its own organization's folder, a name checked when saved."""
    return Path(settings.AUDIT_STREAM_FILE_DIR) / str(stream.organization_id) / stream.file_name


def send(stream: LogStream, events: list[dict[str, Any]]) -> None:
    """Hand one batch to the destination; raises DeliveryFailed with what went wrong."""
    if stream.kind == LogStream.Kind.FILE:
        path = stream_file(stream)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "ab") as f:
                f.write(formats.json_lines(events))
                f.flush()
                os.fsync(f.fileno())
        except OSError as failure:  # a full disk, a folder we may not write
            raise DeliveryFailed(f"The file cannot be written: {failure.strerror}") from None
        return
    request = formats.HTTP_FORMATS[LogStream.Kind(stream.kind)](
        events, decrypt(stream.secret_encrypted)
    )
    url = stream.url or formats.DATADOG_INTAKE
    request.headers["User-Agent"] = "Tenantry-Audit-Streams/1"
    try:
        code, excerpt = post(
            url, request.body, request.headers, allow_private=settings.AUDIT_STREAM_ALLOW_PRIVATE
        )
    except UnsafeDestination as refused:
        raise DeliveryFailed(str(refused)) from None
    except (OSError, ValueError, http.client.HTTPException) as failure:
        raise DeliveryFailed(f"{type(failure).__name__}: {failure}") from None
    if not 200 <= code < 300:
        answer = excerpt.decode("utf-8", "replace").strip()[:120]
        raise DeliveryFailed(f"HTTP {code}" + (f": {answer}" if answer else ""))


def _claim(pk: Any, now: datetime) -> LogStream | None:
    token = secrets.token_hex(8)
    won = (
        LogStream.objects.for_worker()
        .filter(pk=pk, enabled=True)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .update(next_attempt_at=now + LEASE, claim=token)
    )
    return LogStream.objects.for_worker().get(pk=pk) if won else None


def _pending(stream: LogStream) -> list[AuditEntry]:
    entries = AuditEntry.objects.for_organization(stream.organization_id).filter(
        id__gt=stream.cursor
    )
    return list(entries.order_by("id")[:BATCH])


def _advance(stream: LogStream, batch: list[AuditEntry]) -> bool:
    """The batch arrived: move the cursor, if this worker's claim still holds."""
    now = timezone.now()
    return bool(
        LogStream.objects.for_organization(stream.organization_id)
        .filter(pk=stream.pk, claim=stream.claim, cursor=stream.cursor)
        .update(
            cursor=batch[-1].pk,
            delivered=stream.delivered + len(batch),
            last_delivered_at=now,
            failures=0,
            next_attempt_at=now + LEASE,  # still this worker's until it releases the stream
        )
    )


def _fail(stream: LogStream, error: str) -> None:
    now = timezone.now()
    failures = stream.failures + 1
    LogStream.objects.for_organization(stream.organization_id).filter(
        pk=stream.pk, claim=stream.claim
    ).update(
        failures=failures,
        last_error=error[:300],
        last_error_at=now,
        next_attempt_at=now + backoff(failures),
        claim="",
    )


def _release(stream: LogStream) -> None:
    LogStream.objects.for_organization(stream.organization_id).filter(
        pk=stream.pk, claim=stream.claim
    ).update(claim="", next_attempt_at=None)


def deliver_stream(pk: Any, max_batches: int = 50) -> int:
    """Send one stream's pending entries, batch after batch; how many entries arrived."""
    stream = _claim(pk, timezone.now())
    if stream is None:
        return 0
    sent = 0
    for _ in range(max_batches):
        batch = _pending(stream)
        if not batch:
            break
        try:
            send(stream, [formats.event(entry) for entry in batch])
        except DeliveryFailed as failure:
            _fail(stream, str(failure))
            return sent
        except Exception as failure:  # logged and retried; the worker goes on
            log.exception("log stream %s failed unexpectedly", stream.pk)
            _fail(stream, f"Internal error: {type(failure).__name__}")
            return sent
        if not _advance(stream, batch):  # the lease ran out and another worker took over
            return sent
        sent += len(batch)
        stream.cursor, stream.delivered = batch[-1].pk, stream.delivered + len(batch)
    _release(stream)
    return sent


def _has_pending() -> Exists:
    return Exists(
        AuditEntry.objects.for_worker().filter(
            organization_id=OuterRef("organization_id"), id__gt=OuterRef("cursor")
        )
    )


def due(now: datetime) -> list[Any]:
    return list(
        LogStream.objects.for_worker()
        .filter(enabled=True)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .filter(_has_pending())
        .values_list("pk", flat=True)
    )


def deliver_now() -> int:
    """Every stream that is due, once; how many entries arrived."""
    return sum(deliver_stream(pk) for pk in due(timezone.now()))


def next_retry() -> datetime | None:
    return (
        LogStream.objects.for_worker()
        .filter(enabled=True, next_attempt_at__isnull=False)
        .filter(_has_pending())
        .order_by("next_attempt_at")
        .values_list("next_attempt_at", flat=True)
        .first()
    )


@task()
def streams_deliver() -> int:
    """The worker's job: send what is due, then come back when the next retry is."""
    sent = deliver_now()
    come_back(streams_deliver, next_retry())
    return sent


def wake() -> None:
    if not waiting(streams_deliver, timezone.now()):
        streams_deliver.enqueue()


@after_record("log streams wake-up")
def wake_after_commit(entry: AuditEntry, resource: Any) -> None:
    """A new entry for an organization with a stream: the worker sends it once it commits."""
    if entry.organization_id and streamed(entry.organization_id):
        transaction.on_commit(wake)


def streamed(organization_id: Any) -> bool:
    return LogStream.objects.for_organization(organization_id).filter(enabled=True).exists()


# While webhook attempts are under way, the webhook worker sends the streams too: a receiver
# that hangs one organization's webhooks holds up no organization's log stream.
BETWEEN_POLLS.append(deliver_now)
