"""What the other apps read from billing: an organization's plans."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from billing.limits.models import Plan


def plans_of(organization: Any) -> QuerySet[Plan]:
    """The organization's plans, in their order (Free, Starter, Pro, Enterprise, …)."""
    return Plan.objects.for_organization(organization)


def plan_names_everywhere() -> list[str]:
    """Every plan name any organization uses: the support admin filters across tenants."""
    return list(
        Plan.objects.for_support().order_by("name").values_list("name", flat=True).distinct()
    )
