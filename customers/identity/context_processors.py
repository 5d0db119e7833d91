"""What every page's navigation needs: the organization, the switcher, the person's role."""

from __future__ import annotations

from typing import Any

from customers.identity.middleware import current_seat
from customers.platform.requests import TenantRequest


def tenancy(request: TenantRequest) -> dict[str, Any]:
    membership = getattr(request, "membership", None)

    def has_portal() -> bool:
        # Only evaluated where a template asks (the user menu). A member's memberships carry
        # it (customers/identity/middleware.py); anyone else costs one small query.
        if membership is not None:
            return bool(membership.has_portal)
        return current_seat(request) is not None

    return {
        "has_portal": has_portal,
        "current_organization": getattr(request, "organization", None),
        "current_membership": membership,
        "user_memberships": getattr(request, "memberships", []),
        "can_write": bool(membership and membership.can_write),
    }
