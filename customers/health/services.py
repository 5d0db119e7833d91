"""Connection health and customer health scores: recording what the runtime reports about a
connected account, recomputing health from it, and keeping each customer's score."""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q, Sum
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django_tasks import task

from audit.selectors import execution_outcomes
from audit.trail.actions import Action
from audit.trail.hooks import after_record
from audit.trail.services import Outcome, record
from billing.dimensions import ALERTING
from billing.services import (
    count_atomically,
    db_key,
    effective_limits_for,
    forecasts_refresh,
    usage_for,
)
from customers.connections.models import Connection, ConnectionActivity
from customers.health.rules import (
    RELINK_NEEDED,
    ConnectionFacts,
    ConnectionState,
    connection_health,
    customer_score,
    last_seen,
)
from customers.identity.models import ApiToken, User
from customers.people.models import CustomerUser
from customers.platform import mail
from customers.platform.errors import Conflict, Invalid
from customers.platform.scrub import scrub
from customers.records.models import CLOSED_STATUSES, Customer, CustomerStatus
from customers.records.services.common import audited

logger = logging.getLogger(__name__)
CONNECTION_REVOKED_FOR_GOOD = (
    "This connection was revoked: the customer connects the account again to use it."
)
MAX_ACTIVITY_ITEMS = 1000
MAX_AGE = timedelta(days=30)  # older activity says nothing about health now
REFRESH_EVERY = timedelta(hours=1)
CHUNK = 500  # customers per refresh: its IN lists stay short


def _day(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


@audited(Action.CONNECTION_ACTIVITY_REPORTED)
@transaction.atomic
def connection_activity_record(
    *, connection: Connection, items: list[dict[str, Any]], actor: ApiToken | User | None
) -> Connection:
    """What the runtime saw when it used a connected account: successes and errors, each
    counted per day by the atomic counter, then the connection's health recomputed (and the
    customer's score with it). Refused for a connection the customer revoked."""
    if not 1 <= len(items) <= MAX_ACTIVITY_ITEMS:
        raise Invalid(f"Send 1 to {MAX_ACTIVITY_ITEMS} activity reports at a time.")
    now = timezone.now()
    current = (
        Connection.objects.for_organization(connection.organization_id)
        .select_for_update()
        .select_related("customer__organization")
        .get(pk=connection.pk)
    )
    if current.status == Connection.Status.REVOKED:
        raise Conflict(CONNECTION_REVOKED_FOR_GOOD)
    counts: dict[tuple[str, datetime], int] = defaultdict(int)
    for index, item in enumerate(items):
        # Reports without a time happened in the order sent, the last one now.
        moment = item.get("occurred_at") or now - timedelta(microseconds=len(items) - index - 1)
        if moment < now - MAX_AGE:
            raise Invalid(f"occurred_at must be within the last {MAX_AGE.days} days.")
        moment = min(moment, now)  # the future is now
        counts[(item["outcome"], _day(moment))] += 1
        _note(current, item["outcome"], moment, item.get("error") or "")
    for (outcome, day), amount in sorted(counts.items()):
        count_atomically(
            ConnectionActivity._meta.db_table,
            {
                "organization_id": db_key(current.organization_id),
                "connection_id": db_key(current.pk),
                "outcome": outcome,
            },
            day,
            amount,
            None,
        )
    current.save(update_fields=["last_used_at", "last_success_at", "last_error_at", "last_error"])
    customers_health_refresh([current.customer], now=now, actor=actor)
    current.refresh_from_db()
    return current


def _note(connection: Connection, outcome: str, moment: datetime, error: str) -> None:
    if connection.last_used_at is None or moment > connection.last_used_at:
        connection.last_used_at = moment
    if outcome == "success":
        if connection.last_success_at is None or moment > connection.last_success_at:
            connection.last_success_at = moment
    elif connection.last_error_at is None or moment >= connection.last_error_at:
        connection.last_error_at = moment
        connection.last_error = scrub(error) or "Error (no message)"


def customers_health_refresh(
    customers: list[Customer],
    *,
    now: datetime | None = None,
    actor: Any = None,
    reported: StatusReport | None = None,
) -> None:
    """Recompute the health of these customers' connections (audited when it changes) and
    their scores, in a fixed number of queries for any number of customers of one
    organization. ``reported``: a status the runtime just reported, recorded as one
    connection.status_changed entry together with the health change it causes."""
    if not customers:
        return
    now = now or timezone.now()
    organization = customers[0].organization
    connections = _connections_refreshed(organization, customers, now, Change(actor, reported))
    outcomes = execution_outcomes(
        organization.pk, [c.pk for c in customers], now - timedelta(days=7)
    )
    pressure = _usage_pressure(customers, now)
    for customer in customers:
        finished, failed = outcomes.get(customer.pk, (0, 0))
        percent, label = pressure.get(customer.pk, (None, ""))
        score = customer_score(
            connections=connections[customer.pk],
            executions_finished=finished,
            executions_failed=failed,
            usage_percent=percent,
            usage_label=label,
            now=now,
        )
        customer.health_score, customer.health_reasons = score.value, score.reasons
        customer.health_checked_at = now
    Customer.objects.for_organization(organization).bulk_update(
        customers, ["health_score", "health_reasons", "health_checked_at"]
    )


@dataclass(frozen=True)
class StatusReport:
    connection_id: Any
    before: str
    after: str
    detail: str = ""


@dataclass(frozen=True)
class Change:
    actor: Any
    reported: StatusReport | None


def _connections_refreshed(
    organization: Any, customers: list[Customer], now: datetime, change: Change
) -> dict[Any, list[ConnectionState]]:
    rows = list(
        Connection.objects.for_organization(organization)
        .filter(customer_id__in=[c.pk for c in customers])
        .exclude(status=Connection.Status.REVOKED)
        .select_related("customer")
    )
    week = (
        ConnectionActivity.objects.for_organization(organization)
        .filter(connection_id__in=[c.pk for c in rows], window_start__gte=_day(now) - timedelta(6))
        .values("connection_id", "outcome")
        .annotate(n=Sum("used"))
        .order_by()
    )
    totals = {(row["connection_id"], row["outcome"]): row["n"] for row in week}
    states: dict[Any, list[ConnectionState]] = {c.pk: [] for c in customers}
    for connection in rows:
        connection.errors_7d = totals.get((connection.pk, "error"), 0)
        connection.successes_7d = totals.get((connection.pk, "success"), 0)
        facts = _apply_health(connection, now, change)
        states[connection.customer_id].append(
            ConnectionState(
                connection.app,
                connection.health,
                connection.health_changed_at,
                last_seen(facts),
                connection.errors_7d,
            )
        )
    return states


def _apply_health(connection: Connection, now: datetime, change: Change) -> ConnectionFacts:
    facts = ConnectionFacts(
        status=connection.status,
        connected_at=connection.connected_at,
        last_used_at=connection.last_used_at,
        last_success_at=connection.last_success_at,
        last_error_at=connection.last_error_at,
        errors_7d=connection.errors_7d,
        successes_7d=connection.successes_7d,
    )
    health = connection_health(facts, now=now, idle_days=settings.CONNECTION_IDLE_DAYS)
    before = connection.health
    fields = ["errors_7d", "successes_7d"]
    changed = health is not None and health != before
    if changed:
        connection.health, connection.health_changed_at = health, now
        fields += ["health", "health_changed_at"]
        if health == RELINK_NEEDED:
            transaction.on_commit(partial(connection_relink_alert.enqueue, str(connection.pk)))
    Connection.objects.for_organization(connection.organization_id).filter(pk=connection.pk).update(
        **{field: getattr(connection, field) for field in fields}
    )
    report = change.reported
    if report is not None and report.connection_id == connection.pk:
        _record(
            connection,
            change,
            Action.CONNECTION_STATUS_CHANGED,
            report.detail,
            status=[report.before, report.after],
            **({"health": [before, health]} if changed else {}),
        )
    elif changed:
        _record(
            connection,
            change,
            Action.CONNECTION_HEALTH_CHANGED,
            connection.last_error if health != "healthy" else "",
            health=[before, health],
        )
    return facts


def _record(
    connection: Connection, change: Change, action: Action, message: str, **changes: list[Any]
) -> None:
    record(
        action=action,
        organization=connection.customer.organization,
        actor=change.actor,
        resource=connection,
        resource_label=f"{connection} ({connection.customer.name})",
        changes=changes,
        message=message[:500],
    )


def _usage_pressure(customers: list[Customer], now: datetime) -> dict[Any, tuple[int, str]]:
    """The highest share of a daily or monthly limit each customer has used, with its label."""
    limits, used = effective_limits_for(customers, now=now), usage_for(customers, now=now)
    pressure = {}
    for customer in customers:
        shares = [
            (100 * used[customer.pk][d.key] // limit, d.label)  # as alerts count: floored
            for d in ALERTING
            if (limit := limits[customer.pk][d.key].value)
        ]
        if shares:
            pressure[customer.pk] = max(shares)
    return pressure


def customers_health_refresh_due(*, now: datetime | None = None, batch: int = 2000) -> int:
    """The worker's hourly pass, a batch a minute (100,000 customers in under an hour): idle
    connections, 7-day error counts and execution failure rates change with time alone."""
    now = now or timezone.now()
    due = list(
        Customer.objects.for_worker()
        .exclude(status=CustomerStatus.DELETED)
        .filter(Q(health_checked_at__isnull=True) | Q(health_checked_at__lt=now - REFRESH_EVERY))
        .select_related("organization")
        .order_by("health_checked_at", "pk")[:batch]
    )
    by_organization: dict[Any, list[Customer]] = defaultdict(list)
    for customer in due:
        by_organization[customer.organization_id].append(customer)
    for customers in by_organization.values():
        for start in range(0, len(customers), CHUNK):
            with transaction.atomic():
                # Forecasts too: one made while usage ran goes stale when it stops.
                forecasts_refresh(customers[start : start + CHUNK], now=now)
                customers_health_refresh(customers[start : start + CHUNK], now=now)
    return len(due)


@task()
def connection_relink_alert(connection_id: str) -> int:
    """Tell the customer's admins that a connected account needs relinking (audited)."""
    # Claimed first: a task that runs twice tells the admins once per time it needs relinking.
    claimed = (
        Connection.objects.for_worker()
        # A suspended or deleted customer's admins cannot sign in to act on it.
        .filter(pk=connection_id, health=RELINK_NEEDED)
        .exclude(customer__status__in=CLOSED_STATUSES)
        .filter(
            Q(relink_alert_sent_at__isnull=True)
            | Q(relink_alert_sent_at__lt=F("health_changed_at"))
        )
        .update(relink_alert_sent_at=timezone.now())
    )
    if not claimed:
        return 0  # told already, or relinked (or revoked) before the worker got to it
    connection = (
        Connection.objects.for_worker()
        .select_related("customer__organization")
        .get(pk=connection_id)
    )
    customer = connection.customer
    admins = CustomerUser.admin_emails(customer)
    context = {
        "connection": connection,
        "customer": customer,
        "organization": customer.organization,
        "portal_url": f"{settings.SITE_URL}{reverse('portal:connections')}",
    }
    subject = f"Reconnect {connection.app} for {customer.name}"
    body = render_to_string("customers/email/relink.txt", context)
    try:
        mail.send(mail.Letter(subject, body), admins)
    except Exception:
        logger.exception("The relink alert for connection %s could not be emailed", connection_id)
        outcome = Outcome.FAILURE
    else:
        outcome = Outcome.SUCCESS
    record(
        action=Action.CONNECTION_RELINK_ALERT_EMAILED,
        organization=customer.organization,
        resource=connection,
        resource_label=f"{connection} ({customer.name})",
        outcome=outcome,
        changes={"customer_admins": [None, len(admins)]},
    )
    return len(admins) if outcome == Outcome.SUCCESS else 0


# Audited changes that move a customer's score: usage reaching a threshold or its limit, and
# its limits changing. The score follows in the same transaction.
SCORE_MOVERS = {
    Action.USAGE_THRESHOLD_CROSSED,
    Action.QUOTA_EXCEEDED,
    Action.LIMIT_CHANGED,
    Action.LIMIT_RESET,
}


@after_record("health score")
def score_follows(entry: Any, resource: Any) -> None:
    if entry.action in SCORE_MOVERS and isinstance(resource, Customer) and resource.pk:
        customers_health_refresh([resource])
