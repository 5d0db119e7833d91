"""The usage forecast: where a window's usage will end, and when it reaches the limit.

Pure arithmetic over what the counters hold, so it is tested on fixed numbers:

- the run-rate projection is this window's usage scaled to the whole window;
- where earlier windows exist, the projection blends towards their average total: early in a
  window the history weighs most, and the run-rate takes over as the window goes on
  (weight = the fraction of the window elapsed);
- with no history, no forecast is made before MIN_ELAPSED of the window has passed (two
  events in the first minute of a day say nothing about the day);
- the limit is reached when the remaining usage, spread evenly over the rest of the window,
  covers what is left of the limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

MIN_ELAPSED = 0.05  # of the window, before a run-rate alone is trusted


@dataclass(frozen=True)
class Forecast:
    projected: int  # usage at the window's end
    hits_at: datetime | None  # when it reaches the limit (the moment it did, once it has)

    def within(self, window_end: datetime) -> bool:
        return self.hits_at is not None and self.hits_at < window_end


def forecast_usage(
    *,
    used: int,
    limit: int | None,
    window_start: datetime,
    window_end: datetime,
    now: datetime,
    previous_totals: list[int] | tuple[int, ...] = (),
) -> Forecast | None:
    """The forecast for one counter; None when there is nothing to say (no limit, too early,
    or the window is over)."""
    length = (window_end - window_start).total_seconds()
    elapsed = max((now - window_start).total_seconds(), 0.0)
    if limit is None or limit <= 0 or length <= 0 or elapsed >= length:
        return None
    if used >= limit:
        return Forecast(projected=used, hits_at=now)
    fraction = elapsed / length
    if not previous_totals and fraction < MIN_ELAPSED:
        return None
    projected = _projection(used, fraction, previous_totals)
    if projected < limit:
        return Forecast(projected=round(projected), hits_at=None)
    # The rest of the usage, spread evenly over the rest of the window.
    seconds_to_limit = (limit - used) * (length - elapsed) / (projected - used)
    return Forecast(projected=round(projected), hits_at=now + timedelta(seconds=seconds_to_limit))


def _projection(used: int, fraction: float, previous_totals: list[int] | tuple[int, ...]) -> float:
    run_rate = used / fraction if fraction > 0 else 0.0
    if not previous_totals:
        return max(run_rate, used)
    history = sum(previous_totals) / len(previous_totals)
    return max(fraction * run_rate + (1 - fraction) * max(history, used), used)
