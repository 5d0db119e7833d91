"""A customer's users, in the seed's shape."""

from __future__ import annotations

import hashlib
from typing import Any, Literal

from ninja import Router, Schema

from customers.api.schemas import ERRORS
from customers.people.models import CustomerUser
from customers.platform.requests import AuthedRequest
from customers.records.api.lookup import customer_in_scope

router = Router(tags=["Customer"])


class CustomerUserOut(Schema):
    id: str
    login: str
    name: str
    role: Literal["user", "billing", "engineer", "superuser"]
    roles: list[str]
    locked: bool
    limit_services: bool
    require_new_password: bool
    two_factor_auth_enabled: bool
    two_factor_setup_required: bool
    email_hash: str
    customer_id: str
    created_at: str
    updated_at: str
    deleted_at: str | None


@router.get(
    "/customer/{customer_id}/users",
    response={200: list[CustomerUserOut], **ERRORS},
    summary="List users",
)
def customer_users(request: AuthedRequest, customer_id: str) -> list[dict[str, Any]]:
    customer = customer_in_scope(request, customer_id)
    seats = CustomerUser.objects.for_customer(customer).select_related("user")
    return [
        {
            "id": str(seat.pk),
            "login": seat.user.email,
            "name": seat.user.name,
            "role": seat.role,
            "roles": [seat.role],
            "locked": seat.locked,
            "limit_services": seat.limit_services,
            "require_new_password": seat.require_new_password,
            "two_factor_auth_enabled": seat.two_factor_enabled,
            "two_factor_setup_required": customer.force_2fa and not seat.two_factor_enabled,
            "email_hash": hashlib.sha256(seat.user.email.lower().encode()).hexdigest(),
            "customer_id": str(customer.pk),
            "created_at": seat.created_at.isoformat(),
            "updated_at": seat.updated_at.isoformat(),
            "deleted_at": None,
        }
        for seat in seats
    ]
