"""What the other apps read from audit: recent activity and audit entries, and counts of them."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.db.models import Count, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.db.models.functions import TruncDate
from django.utils import timezone

from audit.activity.models import Event, Execution
from audit.trail.actions import Action
from audit.trail.models import AuditEntry

if TYPE_CHECKING:
    from customers.selectors import Customer, Organization


def recent_entries(organization: Organization, *, limit: int = 6) -> list[AuditEntry]:
    """The organization's newest audit entries."""
    return list(AuditEntry.objects.for_organization(organization)[:limit])


def entries_about(customer: Customer, *, limit: int = 8) -> QuerySet[AuditEntry]:
    """The newest audit entries whose resource is ``customer`` (its views are listed apart)."""
    return (
        AuditEntry.objects.for_organization(customer.organization_id)
        .filter(resource_type="customer", resource_id=str(customer.pk))
        .exclude(action=Action.CUSTOMER_VIEWED)[:limit]
    )


def recent_viewers(customer: Customer, *, limit: int = 5) -> list[AuditEntry]:
    """Who opened the customer lately (read auditing on): the newest view per person."""
    views = AuditEntry.objects.for_customer(customer).filter(action=Action.CUSTOMER_VIEWED)
    seen: dict[str, AuditEntry] = {}
    for entry in views.only("created_at", "actor_label", "actor_type", "message")[: limit * 4]:
        seen.setdefault(entry.actor_label, entry)
    return list(seen.values())[:limit]


def recent_executions(
    customer: Customer, *, limit: int = 5, count_since: datetime | None = None, cap: int = 0
) -> QuerySet[Execution]:
    """The newest executions. With ``count_since``, each row also carries ``since_count``, how
    many started since then (counted over at most ``cap`` rows): an uncorrelated subquery the
    database computes once, so the detail page needs no query of its own for that count."""
    rows = Execution.objects.for_customer(customer).select_related("workflow")
    if count_since is not None:
        capped = Execution.objects.for_customer(customer).filter(started_at__gte=count_since)
        # A COUNT over a LIMITed subquery has no ORM spelling; the inner SQL is the ORM's own,
        # its values still parameters.
        sql, params = capped.values("pk")[:cap].query.sql_with_params()
        counted = f"SELECT COUNT(*) FROM ({sql}) capped"  # noqa: S608
        rows = rows.annotate(since_count=RawSQL(counted, params))  # noqa: S611
    return rows[:limit]


def recent_events(customer: Customer, *, limit: int = 5) -> QuerySet[Event]:
    return Event.objects.for_customer(customer)[:limit]


def executions_since(customer: Customer, since: datetime, *, cap: int) -> int:
    """How many executions ``customer`` started since ``since``, counted over at most ``cap``
    rows: a dialog needs "how many", not an exact count over a busy customer's week."""
    return Execution.objects.for_customer(customer).filter(started_at__gte=since)[:cap].count()


def events_per_day_series(
    customer: Customer, *, days: int = 30, now: datetime | None = None
) -> list[tuple[Any, int]]:
    """Events per UTC day over the last ``days`` days, oldest first, zeros included."""
    today = (now or timezone.now()).astimezone(timezone.get_fixed_timezone(0)).date()
    first = today - timedelta(days=days - 1)
    counts = {
        row["day"]: row["n"]
        for row in Event.objects.for_customer(customer)
        .filter(occurred_at__date__gte=first)
        .annotate(day=TruncDate("occurred_at"))
        .values("day")
        .annotate(n=Count("pk"))
    }
    return [
        (first + timedelta(days=n), counts.get(first + timedelta(days=n), 0)) for n in range(days)
    ]


def execution_outcomes(
    organization_id: Any, customer_ids: list[Any], since: datetime
) -> dict[Any, tuple[int, int]]:
    """(finished, failed) executions per customer started since ``since``, in one query on the
    (organization, customer, started_at) index."""
    rows = (
        Execution.objects.for_organization(organization_id)
        .filter(customer_id__in=customer_ids, started_at__gte=since)
        .exclude(status=Execution.Status.RUNNING)
        .values("customer_id")
        .annotate(
            finished=Count("pk"),
            failed=Count("pk", filter=Q(status=Execution.Status.FAILED)),
        )
        .order_by()
    )
    return {row["customer_id"]: (row["finished"], row["failed"]) for row in rows}
