"""The platform's own table: throttle windows (customers.models re-exports it, so Django
registers it in the customers app and its migrations stay where they are)."""

from __future__ import annotations

from django.db import models


class ThrottleWindow(models.Model):
    """How many requests one key (a hashed client address or email) made in one window."""

    key_hash = models.CharField(max_length=64)
    window_start = models.DateTimeField()
    hits = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["key_hash", "window_start"], name="throttle_unique")
        ]
        indexes = [models.Index(fields=["window_start"], name="throttle_window")]

    def __str__(self) -> str:
        return f"{self.key_hash[:8]}… {self.window_start:%H:%M}: {self.hits}"
