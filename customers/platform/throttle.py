"""Request throttles shared by every app server: a fixed-window counter per key, in the
database (the cache is per process in the embedded default)."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from customers.platform.models import ThrottleWindow


def _window_start(now: datetime, window: timedelta) -> datetime:
    seconds = int(window.total_seconds())
    epoch = int(now.timestamp())
    return datetime.fromtimestamp(epoch - epoch % seconds, tz=now.tzinfo)


def throttle_hit(scope: str, key: str, *, window: timedelta) -> int:
    """Count one more request for ``key`` in the current window; the count so far, this one
    included. Keys are stored hashed: a throttle keeps no email address or IP in clear."""
    now = timezone.now()
    start = _window_start(now, window)
    digest = hashlib.sha256(f"{scope}\n{key.lower()}".encode()).hexdigest()
    rows = ThrottleWindow.objects.filter(key_hash=digest, window_start=start)
    with transaction.atomic():
        if not rows.update(hits=F("hits") + 1):
            try:
                with transaction.atomic():
                    ThrottleWindow.objects.create(key_hash=digest, window_start=start, hits=1)
            except IntegrityError:
                rows.update(hits=F("hits") + 1)  # a concurrent request created it first
        # Old windows are worth nothing: drop them as we go.
        ThrottleWindow.objects.filter(
            window_start__lt=now - max(window, timedelta(days=1))
        ).delete()
        return rows.values_list("hits", flat=True).get()
