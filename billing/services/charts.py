"""Usage over time for the detail page and the portal: a server-drawn SVG chart's numbers."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.db.models import Count
from django.db.models.functions import TruncDate
from django.utils import timezone

from audit.models import Event

if TYPE_CHECKING:
    from customers.models import Customer


def events_per_day_series(
    customer: Customer, *, days: int = 30, now: datetime | None = None
) -> list[tuple[Any, int]]:
    """Events per UTC day over the last ``days`` days, oldest first, zeros included."""

    today = (now or timezone.now()).astimezone(timezone.get_fixed_timezone(0)).date()
    first = today - timedelta(days=days - 1)
    counts = {
        row["day"]: row["n"]
        for row in Event.objects.for_customer(customer)
        .filter(occurred_at__date__gte=first)
        .annotate(day=TruncDate("occurred_at"))
        .values("day")
        .annotate(n=Count("pk"))
    }
    return [
        (first + timedelta(days=n), counts.get(first + timedelta(days=n), 0)) for n in range(days)
    ]


def chart_bars(
    series: list[tuple[Any, int]], *, width: int = 600, height: int = 120
) -> dict[str, Any]:
    """Geometry for a server-rendered SVG bar chart: no JavaScript charting library."""
    peak = max((n for _, n in series), default=0) or 1
    slot = width / max(len(series), 1)
    bars = [
        {
            "x": round(i * slot + 1, 2),
            "width": round(max(slot - 2, 1), 2),
            "height": round(height * n / peak, 2),
            "y": round(height - height * n / peak, 2),
            "day": day,
            "count": n,
        }
        for i, (day, n) in enumerate(series)
    ]
    return {
        "bars": bars,
        "width": width,
        "height": height,
        "peak": peak,
        "total": sum(n for _, n in series),
    }
