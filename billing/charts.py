"""The geometry of a server-drawn SVG bar chart (usage over time): no JavaScript charting."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    pass


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
