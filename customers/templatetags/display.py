"""Values as people read them: durations in minutes and seconds rather than milliseconds."""

from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def duration(milliseconds: int | float | None) -> str:
    """850 ms, 12.4 s, 1 min 23 s, 2 h 5 min: the two largest units that matter."""
    if milliseconds is None:
        return ""
    ms = int(milliseconds)
    if ms < 1000:
        return f"{ms} ms"
    if ms < 60_000:
        return f"{ms / 1000:.1f} s".replace(".0 s", " s")
    seconds = ms // 1000
    if seconds < 3600:
        minutes, rest = divmod(seconds, 60)
        return f"{minutes} min {rest} s" if rest else f"{minutes} min"
    hours, rest = divmod(seconds // 60, 60)
    return f"{hours} h {rest} min" if rest else f"{hours} h"
