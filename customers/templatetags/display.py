"""Values as people read them: durations in minutes and seconds, "just now" rather than
"0 minutes ago", timestamps with the full time on hover, numbers with separators, and one
status badge for every status on every page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

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


@register.filter
def moment(when: datetime | None, precision: str = "minutes") -> str:
    """A timestamp to the minute (or to the second, for logs), never microseconds, as a <time>
    whose title is the full UTC time with the weekday (on hover)."""
    if when is None:
        return "—"
    when = when.astimezone(UTC)
    # One format everywhere a time is shown, with its zone: 2026-12-02 06:31 UTC.
    shown = "%Y-%m-%d %H:%M:%S UTC" if precision == "seconds" else "%Y-%m-%d %H:%M UTC"
    return format_html(
        '<time datetime="{}" title="{}">{}</time>',
        when.isoformat(timespec="seconds"),
        when.strftime("%A %d %B %Y, %H:%M:%S UTC"),
        when.strftime(shown),
    )


# Every status the console shows, and its tone: one table, so "Active" looks the same on the
# customer list, a customer's users, the portal and the Audit Log.
TONES = {
    "success": (
        "active",
        "accepted",
        "connected",
        "delivered",
        "healthy",
        "ok",
        "succeeded",
        "success",
        "verified",
    ),
    "warning": (
        "degraded",
        "denied",
        "expired",
        "expires soon",
        "invite pending",
        "pending",
        "pending_admin_activation",
    ),
    "danger": ("error", "failed", "failure", "locked", "relink_needed", "suspended"),
    "info": ("running",),
}
TONE_OF = {status: tone for tone, statuses in TONES.items() for status in statuses}


@register.simple_tag
def badge(status: Any, label: Any = None) -> str:
    """A status badge: the tone comes from the status, the words from its label."""
    tone = TONE_OF.get(str(status).lower(), "muted")
    return format_html('<span class="badge badge-{}">{}</span>', tone, label or status)


@register.filter
def number(value: int | float | None) -> str:
    """12,345: thousands separated, as in every other number a person reads here."""
    if value is None:
        return "—"
    return f"{value:,}"


@register.filter
def filters_in_use(form: Any) -> int:
    """How many of a filter form's fields hold a value (a phone shows the filters open then)."""
    return sum(1 for field in form if any(_filled(field.value())))


def _filled(value: Any) -> list[bool]:
    values = value if isinstance(value, (list, tuple)) else [value]
    return [v not in (None, "", False) for v in values]


@register.filter
def health_tone(score: int | None) -> str:
    """The badge tone of a health score: 80 and up is fine, below 50 is bad."""
    if score is None:
        return "muted"
    return "success" if score >= 80 else "warning" if score >= 50 else "danger"
