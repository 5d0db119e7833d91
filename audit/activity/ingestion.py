"""Ingestion of events and executions: all or nothing, counted against the customer's quota
and the organization's pooled cap in the same transaction (SPEC §5)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone

from audit.activity.models import Event, Execution, Workflow
from audit.trail.actions import Action
from audit.trail.services import record
from billing.services import QuotaExceeded, consume

if TYPE_CHECKING:
    from customers.selectors import ApiToken, User


def _ingest(customer: Any, model: Any, build: Any, count: int, dimension: str) -> list[Any]:
    # All or nothing: the quota and the rows are one transaction, and nothing is written
    # (not even a new workflow) unless the quota allows the whole batch.
    with transaction.atomic():
        consumption = consume(customer, dimension, count)
        if not consumption.allowed:
            raise QuotaExceeded(consumption)
        return model.objects.bulk_create(build())


def events_ingest(*, customer: Any, items: list[dict[str, Any]]) -> list[Any]:
    """Store events for ``customer`` if its events-per-day quota (and the pooled cap) allow
    all of them; otherwise store none and raise QuotaExceeded."""
    now = timezone.now()

    def build() -> list[Event]:
        return [
            Event(
                organization_id=customer.organization_id,
                customer_id=customer.pk,
                occurred_at=item.get("occurred_at") or now,
                **{k: v for k, v in item.items() if k != "occurred_at"},
            )
            for item in items
        ]

    return _ingest(customer, Event, build, len(items), "events_per_day")


def executions_ingest(
    *, customer: Any, items: list[dict[str, Any]], actor: User | ApiToken | None = None
) -> list[Any]:
    """Store executions, each naming its workflow; a workflow the organization has not seen
    yet is created (and audited) in the same transaction, only once the quota allows."""

    def build() -> list[Execution]:
        workflows = workflows_for(
            customer=customer, names={i["workflow"] for i in items}, actor=actor
        )
        return [
            Execution(
                organization_id=customer.organization_id,
                customer_id=customer.pk,
                **{**item, "workflow": workflows[item["workflow"]]},
            )
            for item in items
        ]

    return _ingest(customer, Execution, build, len(items), "executions_per_month")


def workflows_for(
    *, customer: Any, names: set[str], actor: User | ApiToken | None
) -> dict[str, Any]:
    """The organization's workflows by name, creating the missing ones. Two requests naming
    the same new workflow at once both get the one row (get_or_create retries the read after
    losing the insert)."""
    workflows = Workflow.objects.for_organization(customer.organization_id)
    found = {w.name: w for w in workflows.filter(name__in=names)}
    for name in sorted(names - set(found)):
        workflow, created = workflows.get_or_create(
            organization_id=customer.organization_id, name=name
        )
        if created:
            record(
                action=Action.WORKFLOW_CREATED,
                organization=customer.organization,
                actor=actor,
                resource=workflow,
                changes={"name": [None, name]},
            )
        found[name] = workflow
    return found
