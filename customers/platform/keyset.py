"""Keyset pagination, the one implementation the log pages and the API share: newest first by
(time, id), no OFFSET and no COUNT(*).

Cursors are "<microseconds since the epoch>~<id>" (a UUID as 32 hex digits). Each bound is
written twice: the row comparison ``(t < x) OR (t = x AND id < y)`` and the redundant
``t <= x``. PostgreSQL turns only the latter into an index condition, so a page is an index
range scan, not a filter that reads and discards rows.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db.models import Q, QuerySet
from django.http import QueryDict

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# The last moment a cursor may name: later ones are read as this (PostgreSQL's dates end).
CEILING = int((datetime(9999, 1, 1, tzinfo=UTC) - EPOCH).total_seconds() * 1_000_000)
PAGE_CURSOR = re.compile(r"^\d{1,18}~\d{1,18}$")


def time_cursor(moment: datetime) -> str:
    delta = moment - EPOCH
    return str(delta.days * 86_400_000_000 + delta.seconds * 1_000_000 + delta.microseconds)


def cursor_time(micros: str) -> datetime:
    return EPOCH + timedelta(microseconds=min(int(micros), CEILING))


def encode(moment: datetime, key: Any) -> str:
    """The keyset of a row: "<microseconds>~<key>"."""
    return f"{time_cursor(moment)}~{key.hex if isinstance(key, uuid.UUID) else key}"


def decode(cursor: str) -> tuple[datetime, str]:
    micros, key = cursor.split("~", 1)  # callers check the shape first (a pattern)
    return cursor_time(micros), key


def older_than(queryset: QuerySet[Any], field: str, moment: datetime, key: Any) -> QuerySet[Any]:
    return queryset.filter(**{f"{field}__lte": moment}).filter(
        Q(**{f"{field}__lt": moment}) | Q(**{field: moment, "pk__lt": key})
    )


def newer_than(queryset: QuerySet[Any], field: str, moment: datetime, key: Any) -> QuerySet[Any]:
    return queryset.filter(**{f"{field}__gte": moment}).filter(
        Q(**{f"{field}__gt": moment}) | Q(**{field: moment, "pk__gt": key})
    )


# --- the API: a page and the cursor of the next (older) one ---------------------------------


def cursor_page(
    queryset: QuerySet[Any], cursor: str | None, limit: int, key: Callable[[str], Any]
) -> tuple[list[Any], str | None]:
    """One page, newest first by (created_at, pk), and the cursor of the next one."""
    if cursor:
        moment, raw = decode(cursor)
        queryset = older_than(queryset, "created_at", moment, key(raw))
    rows = list(queryset.order_by("-created_at", "-pk")[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, encode(rows[-1].created_at, rows[-1].pk) if more else None


# --- the log pages: older and newer pages from the URL's before= and after= --------------------


@dataclass
class Page:
    rows: list[Any]
    older: str | None  # cursor for the next (older) page
    newer: str | None  # cursor for the previous (newer) page


def _row_cursor(row: Any, field: str) -> str:
    return encode(getattr(row, field), row.pk)


def _parse(value: str) -> tuple[datetime, int] | None:
    if not value or not PAGE_CURSOR.match(value):
        return None
    moment, key = decode(value)
    return moment, int(key)


def keyset_page(queryset: QuerySet[Any], field: str, params: QueryDict, size: int = 50) -> Page:
    before, after = _parse(params.get("before", "")), _parse(params.get("after", ""))
    if after is not None:
        rows = list(newer_than(queryset, field, *after).order_by(field, "pk")[: size + 1])
        more_newer = len(rows) > size
        rows = list(reversed(rows[:size]))
        return Page(
            rows,
            older=_row_cursor(rows[-1], field) if rows else None,
            newer=_row_cursor(rows[0], field) if rows and more_newer else None,
        )
    if before is not None:
        queryset = older_than(queryset, field, *before)
    rows = list(queryset.order_by(f"-{field}", "-pk")[: size + 1])
    more_older = len(rows) > size
    rows = rows[:size]
    return Page(
        rows,
        older=_row_cursor(rows[-1], field) if rows and more_older else None,
        newer=_row_cursor(rows[0], field) if rows and before is not None else None,
    )
