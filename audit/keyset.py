"""Keyset pagination for the logs: newest first by (time, id), no OFFSET and no COUNT(*).

Cursors are "<microseconds since the epoch>~<id>". Each bound is written twice: the row
comparison ``(t < x) OR (t = x AND id < y)`` and the redundant ``t <= x``. PostgreSQL turns only
the latter into an index condition, so the page query is an index range scan, not a filter that
reads and discards rows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet
from django.http import QueryDict

from customers.api.types import cursor_time, time_cursor

CURSOR = re.compile(r"^\d{1,18}~\d{1,18}$")


@dataclass
class Page:
    rows: list[Any]
    older: str | None  # cursor for the next (older) page
    newer: str | None  # cursor for the previous (newer) page


def _cursor(row: Any, field: str) -> str:
    return f"{time_cursor(getattr(row, field))}~{row.pk}"


def _parse(value: str) -> tuple[Any, int] | None:
    if not value or not CURSOR.match(value):
        return None
    micros, key = value.split("~")
    return cursor_time(micros), int(key)


def keyset_page(queryset: QuerySet, field: str, params: QueryDict, size: int = 50) -> Page:
    before, after = _parse(params.get("before", "")), _parse(params.get("after", ""))
    if after is not None:
        moment, key = after
        rows = list(
            queryset.filter(**{f"{field}__gte": moment})
            .filter(Q(**{f"{field}__gt": moment}) | Q(**{field: moment, "pk__gt": key}))
            .order_by(field, "pk")[: size + 1]
        )
        more_newer = len(rows) > size
        rows = list(reversed(rows[:size]))
        return Page(
            rows,
            older=_cursor(rows[-1], field) if rows else None,
            newer=_cursor(rows[0], field) if rows and more_newer else None,
        )
    if before is not None:
        moment, key = before
        queryset = queryset.filter(**{f"{field}__lte": moment}).filter(
            Q(**{f"{field}__lt": moment}) | Q(**{field: moment, "pk__lt": key})
        )
    rows = list(queryset.order_by(f"-{field}", "-pk")[: size + 1])
    more_older = len(rows) > size
    rows = rows[:size]
    return Page(
        rows,
        older=_cursor(rows[-1], field) if rows and more_older else None,
        newer=_cursor(rows[0], field) if rows and before is not None else None,
    )
