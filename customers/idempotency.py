"""Idempotency-Key for POSTs: a retried request gets the first response, not a duplicate."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone
from ninja.errors import HttpError

from customers.models import ApiToken, IdempotencyKey

WINDOW = timedelta(hours=24)


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
        raise HttpError(422, "The Idempotency-Key header is at most 200 characters.")
    digest = hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()
    keys = IdempotencyKey.objects.for_organization(token.organization_id)
    now = timezone.now()
    first = keys.filter(key=key, created_at__gte=now - WINDOW).first()
    if first is not None:
        if first.request_hash != digest:
            raise HttpError(
                422,
                "This Idempotency-Key was already used with a different body; "
                "use a new key for a new request.",
            )
        return first.status_code, first.response
    try:
        with transaction.atomic():
            status, response = run()
            keys.filter(key=key).delete()  # an expired use of the same key
            IdempotencyKey.objects.create(
                organization_id=token.organization_id,
                key=key,
                request_hash=digest,
                status_code=status,
                response=response,
            )
    except IntegrityError:
        raise HttpError(
            409,
            "A request with this Idempotency-Key is being processed; retry "
            "in a moment to get its response.",
        ) from None
    return status, response
