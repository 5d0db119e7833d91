from __future__ import annotations

from typing import Any

from django.http import HttpRequest


def tenancy(request: HttpRequest) -> dict[str, Any]:
    membership = getattr(request, "membership", None)
    return {
        "current_organization": getattr(request, "organization", None),
        "current_membership": membership,
        "user_memberships": getattr(request, "memberships", []),
        "can_write": bool(membership and membership.can_write),
    }
