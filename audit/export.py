"""The Audit Log's CSV export, streamed row by row (the console's and the portal's): cells a
spreadsheet shows as text, never runs as formulas."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from typing import Any

from django.http import StreamingHttpResponse
from django.utils import timezone

from audit.trail.models import AuditEntry
from customers.platform.requests import AuthedRequest

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: Any) -> str:
    """A cell a spreadsheet will show as text, never run as a formula."""
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


class _Echo:
    def write(self, value: str) -> str:
        return value


def filters_message(request: AuthedRequest) -> str:
    """The filters an export was made with, for its audit entry."""
    used = [f"{k}={v}" for k, v in request.GET.items() if v and k not in ("before", "after")]
    return "Filters: " + (", ".join(used) or "none")


def csv_response(
    queryset: Any, *, address: Callable[[AuditEntry], str | None]
) -> StreamingHttpResponse:
    """Every entry of ``queryset``, newest first; ``address`` says which client address a
    reader may see for an entry (the portal hides the organization staff's)."""
    writer = csv.writer(_Echo())

    def rows() -> Iterator[str]:
        yield writer.writerow(
            [
                "Timestamp (UTC)",
                "User",
                "Action",
                "Resource type",
                "Resource ID",
                "Resource",
                "Outcome",
                "Changes",
                "Message",
                "IP address",
                "Request ID",
            ]
        )
        for entry in queryset.order_by("-created_at", "-id").iterator(chunk_size=2000):
            yield writer.writerow(
                [
                    spreadsheet_safe(v)
                    for v in (
                        entry.created_at.isoformat(),
                        entry.actor_label,
                        entry.action,
                        entry.resource_type,
                        entry.resource_id,
                        entry.resource_label,
                        entry.get_outcome_display(),
                        # JSON, as the API gives it: a spreadsheet shows it, a script parses it.
                        json.dumps(entry.changes, ensure_ascii=False) if entry.changes else "",
                        entry.message,
                        address(entry),
                        entry.request_id,
                    )
                ]
            )

    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="audit-log-{stamp}.csv"'
    return response
