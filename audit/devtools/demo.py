"""Made-up rows that `manage.py seed_demo` and the benchmark (tests/bench) share: customers,
executions and events, as field values (the one saves models, the other streams COPY rows);
and the demo rows counted through the usage counters, as ingestion counts them."""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from audit.activity.models import Event
from billing.dimensions import get_dimension
from billing.services import consume
from customers.selectors import Customer

CUSTOMER_STATUSES = ["active"] * 6 + ["pending_admin_activation"] * 3 + ["suspended"]
TRIGGERS = ["agent-service", "webhook", "scheduler", "manual"]
EVENT_NAMES = [
    "order.created",
    "contact.updated",
    "invoice.paid",
    "sync.completed",
    "ticket.opened",
]
SPAN = timedelta(days=30)


def customer_values(n: int, *, organization_id: Any, plan: Any, now: datetime) -> dict[str, Any]:
    """The n-th bulk customer: unique name, slug and external id, a status mix like a real
    book of business, and its plan's entitlements."""
    return {
        "organization_id": organization_id,
        "name": f"Customer {n:06d}",
        "slug": f"customer-{n:06d}",
        "external_id": f"ext_{n:07d}",
        "status": CUSTOMER_STATUSES[n % len(CUSTOMER_STATUSES)],
        "plan_id": plan.pk,
        "admin_email": f"admin{n}@customer{n}.test",
        "created_at": now - timedelta(minutes=n),
        "updated_at": now,
        **plan.entitlements(),
    }


def execution_values(
    rnd: random.Random, *, organization_id: Any, customer_id: Any, workflow_id: Any, now: datetime
) -> dict[str, Any]:
    """An execution some time in the last 30 days: mostly succeeded, some failed, a few still
    running."""
    started = now - timedelta(seconds=rnd.randint(0, int(SPAN.total_seconds())))
    status = rnd.choices(["succeeded", "failed", "running"], weights=[85, 12, 3])[0]
    duration = rnd.randint(200, 90_000) if status != "running" else None
    return {
        "organization_id": organization_id,
        "customer_id": customer_id,
        "workflow_id": workflow_id,
        "triggered_by": rnd.choice(TRIGGERS),
        "status": status,
        "started_at": started,
        "finished_at": started + timedelta(milliseconds=duration) if duration else None,
        "duration_ms": duration,
        "error": "Upstream API answered 502 Bad Gateway" if status == "failed" else "",
    }


def event_values(
    rnd: random.Random, *, organization_id: Any, customer_id: Any, now: datetime
) -> dict[str, Any]:
    """An event some time in the last 30 days, webhooks the most common."""
    return {
        "organization_id": organization_id,
        "customer_id": customer_id,
        "type": rnd.choice(["webhook", "webhook", "scheduled", "manual"]),
        "direction": rnd.choice(["incoming", "outgoing"]),
        "name": rnd.choice(EVENT_NAMES),
        "status": rnd.choice(["delivered", "delivered", "delivered", "failed"]),
        "occurred_at": now - timedelta(seconds=rnd.randint(0, int(SPAN.total_seconds()))),
        "payload_summary": json.dumps({"id": rnd.randint(1000, 99999)}),
    }


def _within_window(rows: list[Any], when: str, start: datetime) -> dict[Any, list[Any]]:
    grouped: dict[Any, list[Any]] = {}
    for row in rows:
        if getattr(row, when) >= start:
            grouped.setdefault(row.customer_id, []).append(row)
    return grouped


def counted(rows: list[Any], when: str) -> list[Any]:
    """The demo rows the usage counters allow, counted as ingestion counts them: those in the
    current window (today's events, this month's executions) go through consume(), per
    customer, and what is over a limit is left out, so usage bars, charts and lists agree."""
    if not rows:
        return rows
    dimension = "events_per_day" if isinstance(rows[0], Event) else "executions_per_month"
    start = get_dimension(dimension).window_start(timezone.now())
    grouped = _within_window(rows, when, start)
    customers = Customer.objects.for_worker().in_bulk(list(grouped))
    dropped: set[int] = set()
    for customer_id, in_window in grouped.items():
        room = consume(customers[customer_id], dimension, 0)  # used and allowed so far
        fits = len(in_window) if room.limit is None else max(room.limit - room.used, 0)
        kept = in_window[:fits]
        if kept:
            consume(customers[customer_id], dimension, len(kept))
        dropped |= {id(row) for row in in_window[len(kept) :]}
    return [row for row in rows if id(row) not in dropped]
