"""The quota dimensions. Adding one is one entry in DIMENSIONS.

Windows are computed in UTC. A dimension without a window is a gauge: its usage is the number of
things that exist right now (connected accounts, seats), checked when one is added.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal

from django.utils import timezone

Window = Literal["minute", "day", "month"]


@dataclass(frozen=True)
class Dimension:
    key: str
    label: str
    window: Window | None
    # Default limit per default plan name for new organizations; None = unlimited.
    defaults: dict[str, int | None] = field(default_factory=dict)

    @property
    def is_gauge(self) -> bool:
        return self.window is None

    @property
    def alerts(self) -> bool:
        """Usage alerts and forecasts cover the daily and monthly quotas. A rate limit per
        minute would alert every busy minute (its refusals are quota.exceeded), and a gauge
        (seats, accounts) has no window to forecast."""
        return self.window in ("day", "month")

    def window_start(self, now: datetime | None = None) -> datetime:
        now = (now or timezone.now()).astimezone(UTC)
        if self.window == "minute":
            return now.replace(second=0, microsecond=0)
        if self.window == "day":
            return now.replace(hour=0, minute=0, second=0, microsecond=0)
        if self.window == "month":
            return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        return datetime(1970, 1, 1, tzinfo=UTC)  # gauges have one eternal window

    def previous_window_start(self, start: datetime) -> datetime:
        """The start of the window before the one starting at ``start``."""
        if self.window == "month":
            return (start - timedelta(days=1)).replace(day=1)
        return start - (timedelta(days=1) if self.window == "day" else timedelta(minutes=1))

    def window_end(self, now: datetime | None = None) -> datetime | None:
        start = self.window_start(now)
        if self.window == "minute":
            return start + timedelta(minutes=1)
        if self.window == "day":
            return start + timedelta(days=1)
        if self.window == "month":
            return (start + timedelta(days=32)).replace(day=1)
        return None

    @property
    def resets_note(self) -> str:
        """When the count starts again, for a label that already says "per day"."""
        return {"day": "resets at 00:00 UTC", "month": "resets on the 1st, UTC"}.get(
            self.window or "", ""
        )

    @property
    def window_label(self) -> str:
        return {"minute": "per minute", "day": "per day (UTC)", "month": "per month (UTC)"}.get(
            self.window or "", "at any time"
        )


DIMENSIONS: dict[str, Dimension] = {
    d.key: d
    for d in [
        Dimension(
            "events_per_day",
            "Events per day",
            "day",
            {"Free": 1_000, "Starter": 10_000, "Pro": 100_000, "Enterprise": None},
        ),
        Dimension(
            "executions_per_month",
            "Executions per month",
            "month",
            {"Free": 500, "Starter": 5_000, "Pro": 50_000, "Enterprise": None},
        ),
        Dimension(
            "connected_accounts",
            "Connected accounts",
            None,
            {"Free": 2, "Starter": 10, "Pro": 50, "Enterprise": None},
        ),
        Dimension(
            "seats",
            "Seats (users)",
            None,
            {"Free": 3, "Starter": 10, "Pro": 50, "Enterprise": None},
        ),
        Dimension(
            "api_requests_per_minute",
            "API requests per minute",
            "minute",
            {"Free": 60, "Starter": 300, "Pro": 1_200, "Enterprise": 6_000},
        ),
    ]
}
DIMENSION_CHOICES = [(d.key, d.label) for d in DIMENSIONS.values()]
ALERTING = [d for d in DIMENSIONS.values() if d.alerts]


def get_dimension(key: str) -> Dimension:
    try:
        return DIMENSIONS[key]
    except KeyError:
        raise ValueError(
            f"Unknown quota dimension “{key}”: use one of {', '.join(DIMENSIONS)}."
        ) from None
