"""Beyond the seed: list customers (cursor pages) and create them (Idempotency-Key)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from ninja import Field, Query, Router, Schema, Status
from ninja.errors import HttpError

from billing.selectors import plans_of
from customers.api.idempotency import replay_or_run
from customers.api.schemas import ERRORS, CustomerListItem, Detail, customer_list_item
from customers.api.types import UUID_CURSOR, Email, IsoDateTime, text
from customers.identity.api.auth import organization_token
from customers.platform.keyset import cursor_page
from customers.platform.requests import AuthedRequest
from customers.platform.slugs import SLUG_LENGTH
from customers.records.api.lookup import uuid_or_none
from customers.records.models import Customer, CustomerStatus
from customers.records.services.records import customer_create

router = Router(tags=["Customer"])


class CustomerPage(Schema):
    data: list[CustomerListItem]
    next_cursor: str | None


class CustomerFilters(Schema):
    status: Literal["pending_admin_activation", "active", "suspended", "deleted"] | None = None
    plan: Annotated[str, text(80, description="Plan id or name")] | None = None
    slug: Annotated[str, text(SLUG_LENGTH)] | None = None
    external_id: Annotated[str, text(100)] | None = None
    created_after: IsoDateTime | None = None
    created_before: IsoDateTime | None = None
    cursor: UUID_CURSOR | None = None
    limit: int = Field(50, ge=1, le=200)


@router.get(
    "/customers",
    response={200: CustomerPage, **ERRORS},
    summary="List customers (cursor pagination, newest first)",
)
def customers_list(request: AuthedRequest, filters: Query[CustomerFilters]) -> dict[str, Any]:
    token = organization_token(request)
    customers = Customer.objects.for_organization(token.organization_id).select_related("plan")
    if filters.status:
        customers = customers.filter(status=filters.status)
    else:
        customers = customers.exclude(status=CustomerStatus.DELETED)
    if filters.plan:
        plan_id = uuid_or_none(filters.plan)
        customers = (
            customers.filter(plan_id=plan_id)
            if plan_id
            else customers.filter(plan__name__iexact=filters.plan)
        )
    if filters.slug:
        customers = customers.filter(slug=filters.slug)
    if filters.external_id:
        customers = customers.filter(external_id=filters.external_id)
    if filters.created_after:
        customers = customers.filter(created_at__gte=filters.created_after)
    if filters.created_before:
        customers = customers.filter(created_at__lt=filters.created_before)
    rows, next_cursor = cursor_page(customers, filters.cursor, filters.limit, uuid.UUID)
    return {"data": [customer_list_item(c) for c in rows], "next_cursor": next_cursor}


class CustomerCreate(Schema):
    name: Annotated[str, text(200, min_length=1, one_line=True)]
    slug: Annotated[str, Field(max_length=SLUG_LENGTH, pattern=r"^[-a-zA-Z0-9_]*$")] | None = Field(
        None, description="Default: made from the name (unique in your organization)"
    )
    external_id: Annotated[str, text(100, one_line=True)] | None = None
    pricing_plan_id: Annotated[str, text(64)] | None = Field(
        None, description="Default: the first plan (Free)"
    )
    admin_email: Email | None = Field(None, description="Invites this person as the admin")


IDEMPOTENCY_HEADER = {
    "parameters": [
        {
            "in": "header",
            "name": "Idempotency-Key",
            "required": False,
            "schema": {"type": "string", "maxLength": 200},
            "description": "Retrying with the same key within 24 hours replays the first "
            "response; the same key with a different body is refused (422).",
        }
    ],
}


@router.post(
    "/customers",
    response={201: CustomerListItem, 409: Detail, **ERRORS},
    summary="Create a customer (optionally inviting its admin)",
    openapi_extra=IDEMPOTENCY_HEADER,
)
def customers_create(request: AuthedRequest, payload: CustomerCreate):
    token = organization_token(request)

    def run() -> tuple[int, dict[str, Any]]:
        plans = plans_of(token.organization_id)
        plan = (
            plans.filter(pk=uuid_or_none(payload.pricing_plan_id)).first()
            if payload.pricing_plan_id
            else plans.first()
        )
        if plan is None:
            raise HttpError(404, "pricing_plan_id is not one of your organization's plans")
        customer = customer_create(
            organization=token.organization,
            actor=token,
            name=payload.name,
            slug=payload.slug or "",
            external_id=payload.external_id or "",
            plan=plan,
            admin_email=payload.admin_email or "",
        )
        customer = (
            Customer.objects.for_organization(token.organization_id)
            .select_related("plan")
            .get(pk=customer.pk)
        )
        return 201, customer_list_item(customer)

    return Status(*replay_or_run(request, token, payload.model_dump(), run))
