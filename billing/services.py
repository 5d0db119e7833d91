from __future__ import annotations

from billing.models import DEFAULT_ENTITLEMENTS, DEFAULT_PLAN_NAMES, Plan
from customers.models import Organization


def plans_create_defaults(*, organization: Organization) -> list[Plan]:
    """Free, Starter, Pro and Enterprise for a new organization (idempotent)."""
    existing = set(Plan.objects.for_organization(organization).values_list("name", flat=True))
    return Plan.objects.bulk_create(
        [
            Plan(
                organization=organization,
                name=name,
                position=position,
                **dict.fromkeys(DEFAULT_ENTITLEMENTS[name], True),
            )
            for position, name in enumerate(DEFAULT_PLAN_NAMES)
            if name not in existing
        ]
    )
