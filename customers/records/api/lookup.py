"""Finding the customer a path names, within what the token may see."""

from __future__ import annotations

import uuid
from typing import Any

from django.db.models import Q
from ninja.errors import HttpError

from customers.api.types import is_clean_text
from customers.platform.requests import AuthedRequest
from customers.records.models import Customer, CustomerStatus


def customer_in_scope(request: AuthedRequest, customer_id: str, *, include_deleted: bool = False):
    """The customer ``customer_id`` names, if the token may see it; else a 404 that says what to
    use instead when the caller passed a slug or external ID (the seed's API answers a bare
    404 there)."""
    token = request.auth
    scoped = (
        Customer.objects.for_customer(token.customer)
        if token.customer_id
        else Customer.objects.for_organization(token.organization_id)
    ).select_related("plan", "organization")
    if not include_deleted:
        scoped = scoped.exclude(status=CustomerStatus.DELETED)
    try:
        pk = uuid.UUID(str(customer_id))
    except ValueError:
        pk = None
    customer = scoped.filter(pk=pk).first() if pk else None
    if customer is not None:
        return customer
    named = (
        scoped.filter(Q(slug=customer_id) | Q(external_id=customer_id)).first()
        if is_clean_text(customer_id) and len(customer_id) <= 100
        else None
    )
    if named is not None:
        kind = "slug" if named.slug == customer_id else "external ID"
        raise HttpError(
            404,
            f"“{customer_id}” is the {kind} of customer {named.name}; the API identifies "
            f"customers by UUID: use /customer/{named.pk}.",
        )
    raise HttpError(404, "No customer with this ID is visible to your token.")


def uuid_or_none(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None
