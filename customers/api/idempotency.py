"""Idempotency-Key for POSTs: a retried request gets the first response, not a duplicate.

The key is reserved before the work starts (an INSERT that either wins or conflicts), and the
work and its response are saved in one transaction. A concurrent request with the same key
waits briefly for the first to finish and replays it, or is told it is still in progress; it
never runs the work a second time. Only keys older than their 24-hour window are reused.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone
from ninja.errors import HttpError

from customers.identity.models import ApiToken, IdempotencyKey

WINDOW = timedelta(hours=24)
# A reservation whose request died (a killed worker) is given up after this long.
ABANDONED_AFTER = timedelta(minutes=2)
# How long a duplicate waits for the first request before answering 409.
WAIT_SECONDS = 5.0
POLL_SECONDS = 0.05

KEY_TOO_LONG = "The Idempotency-Key header is at most 200 characters."
KEY_REUSED = (
    "This Idempotency-Key was already used with a different body; use a new key for a new request."
)
IN_PROGRESS = (
    "A request with this Idempotency-Key is being processed; retry in a moment to get its response."
)


def replay_or_run(
    request: HttpRequest,
    token: ApiToken,
    body: dict[str, Any],
    run: Callable[[], tuple[int, dict[str, Any]]],
) -> tuple[int, dict[str, Any]]:
    key = request.headers.get("Idempotency-Key", "").strip()
    if not key:
        return run()
    if len(key) > 200:
        raise HttpError(422, KEY_TOO_LONG)
    digest = hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()
    keys = IdempotencyKey.objects.for_organization(token.organization_id)
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        reservation = _reserve(token, key, digest)
        if reservation is not None:
            return _run_reserved(keys, reservation, run)
        first = keys.filter(key=key).first()
        if first is None:
            continue  # released or expired meanwhile: try to reserve again
        if first.request_hash != digest:
            raise HttpError(422, KEY_REUSED)
        if first.status_code is not None:
            return first.status_code, first.response
        if time.monotonic() >= deadline:
            raise HttpError(409, IN_PROGRESS)
        time.sleep(POLL_SECONDS)


def _reserve(token: ApiToken, key: str, digest: str) -> IdempotencyKey | None:
    """The new reservation, committed; None when the key is held (and still valid)."""
    now = timezone.now()
    # Free the key if its window has passed, or its request was abandoned: the only deletes.
    IdempotencyKey.objects.for_organization(token.organization_id).filter(key=key).filter(
        Q(created_at__lt=now - WINDOW)
        | Q(status_code__isnull=True, created_at__lt=now - ABANDONED_AFTER)
    ).delete()
    try:
        with transaction.atomic():
            return IdempotencyKey.objects.create(
                organization_id=token.organization_id,
                key=key,
                request_hash=digest,
                status_code=None,
                response=None,
            )
    except IntegrityError:
        return None


def _run_reserved(
    keys: Any,
    reservation: IdempotencyKey,
    run: Callable[[], tuple[int, dict[str, Any]]],
) -> tuple[int, dict[str, Any]]:
    refusal: Exception | None = None
    with transaction.atomic():
        try:
            # The work runs in its own savepoint; a refusal rolls back only that, and the
            # refusal's audit entry, written after it, commits with this transaction.
            with transaction.atomic():
                status, response = run()
        except Exception as error:
            refusal = error
            # Nothing was done, so the key is free for a corrected retry.
            keys.filter(pk=reservation.pk).delete()
        else:
            # The work and its replayable answer commit together.
            keys.filter(pk=reservation.pk).update(status_code=status, response=response)
    if refusal is not None:
        raise refusal
    return status, response
