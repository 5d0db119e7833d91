"""Values as people read them: durations in minutes and seconds, "just now" rather than
"0 minutes ago", with the full time on hover."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django import template
from django.utils import timezone
from django.utils.html import format_html
from django.utils.timesince import timesince

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


@register.filter
def ago(moment: datetime | None) -> str:
    """ "just now" or "5 minutes ago", as a <time> whose title is the full time (on hover)."""
    if moment is None:
        return ""
    if timezone.now() - moment < timedelta(minutes=1):
        text = "just now"
    else:
        text = f"{timesince(moment)} ago"
    return format_html(
        '<time datetime="{}" title="{} UTC">{}</time>',
        moment.isoformat(),
        moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"),
        text,
    )
