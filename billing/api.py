"""A customer's limits over the API: effective limits with usage, set and clear an override,
and the percents of each limit at which usage alerts fire."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from django.db import transaction
from ninja import Field, Router, Schema
from ninja.errors import HttpError
from pydantic import StrictInt

from billing.alerts.services.alerts import thresholds_at, thresholds_set
from billing.dimensions import DIMENSIONS
from billing.limits.services.changes import override_clear, override_set
from billing.limits.services.limits import usage_rows
from customers.api.schemas import ERRORS, Detail, iso
from customers.api.types import IsoDateTime, text
from customers.identity.api.auth import organization_token
from customers.platform.requests import AuthedRequest
from customers.records.api.lookup import customer_in_scope
from customers.selectors import Customer

router = Router(tags=["Customer"])


class LimitOut(Schema):
    dimension: str
    label: str
    window: str | None
    limit: int | None
    plan_default: int | None
    overridden: bool
    override_reason: str | None
    override_expires_at: str | None
    used: int


class LimitSet(Schema):
    value: Annotated[StrictInt, Field(ge=0, le=2**62)] | None = Field(
        ..., description="null = unlimited"
    )
    reason: Annotated[str, text(300, min_length=1)]
    expires_at: IsoDateTime | None = None


def _limits(customer: Customer) -> list[dict[str, Any]]:
    return [
        {
            "dimension": row.dimension.key,
            "label": row.dimension.label,
            "window": row.dimension.window,
            "limit": row.limit.value,
            "plan_default": row.limit.plan_default,
            "overridden": row.limit.is_overridden,
            "override_reason": row.limit.override.reason if row.limit.override else None,
            "override_expires_at": iso(row.limit.override.expires_at)
            if row.limit.override
            else None,
            "used": row.used,
        }
        for row in usage_rows(customer)
    ]


def _dimension(dimension: str) -> str:
    if dimension not in DIMENSIONS:
        raise HttpError(
            404, f"No quota dimension “{dimension}”: use one of {', '.join(DIMENSIONS)}."
        )
    return dimension


@router.get(
    "/customer/{customer_id}/limits",
    response={200: list[LimitOut], **ERRORS},
    summary="Effective limits and current usage",
)
def limits_list(request: AuthedRequest, customer_id: str):
    return _limits(customer_in_scope(request, customer_id))


@router.put(
    "/customer/{customer_id}/limits/{dimension}",
    response={200: list[LimitOut], **ERRORS},
    summary="Set a customer's own limit in one dimension",
)
def limits_set(request: AuthedRequest, customer_id: str, dimension: str, payload: LimitSet):
    token = organization_token(request)
    customer = customer_in_scope(request, customer_id)
    override_set(
        customer=customer,
        dimension=_dimension(dimension),
        value=payload.value,
        reason=payload.reason,
        expires_at=payload.expires_at,
        actor=token,
    )
    return _limits(customer)


@router.delete(
    "/customer/{customer_id}/limits/{dimension}",
    response={200: list[LimitOut], 409: Detail, **ERRORS},
    summary="Back to the plan's default",
)
def limits_clear(request: AuthedRequest, customer_id: str, dimension: str):
    token = organization_token(request)
    customer = customer_in_scope(request, customer_id)
    override_clear(customer=customer, dimension=_dimension(dimension), actor=token)
    return _limits(customer)


class ThresholdOut(Schema):
    dimension: str
    label: str
    percents: list[int] = Field(..., description="The percents of the limit that alert")
    source: Literal["customer", "plan", "organization", "default"]
    customer_percents: list[int] | None = Field(
        ..., description="What this customer sets itself; null = it follows its plan"
    )


Percent = Annotated[StrictInt, Field(ge=1, le=100)]


class ThresholdsIn(Schema):
    thresholds: dict[str, Annotated[list[Percent], Field(max_length=5)] | None] = Field(
        ...,
        description="Dimension -> percents for this customer ([] = no alerts), or null to "
        "follow its plan again. Dimensions not named keep what they have.",
    )


def _thresholds(customer: Customer) -> list[dict[str, Any]]:
    return [
        {
            "dimension": key,
            "label": t.dimension.label,
            "percents": list(t.percents),
            "source": t.source,
            "customer_percents": None if t.own is None else list(t.own),
        }
        for key, t in thresholds_at(customer.organization_id, customer=customer).items()
    ]


@router.get(
    "/customer/{customer_id}/alert-thresholds",
    response={200: list[ThresholdOut], **ERRORS},
    summary="Usage alert thresholds of each daily and monthly limit",
)
def alert_thresholds_get(request: AuthedRequest, customer_id: str):
    return _thresholds(customer_in_scope(request, customer_id))


@router.put(
    "/customer/{customer_id}/alert-thresholds",
    response={200: list[ThresholdOut], **ERRORS},
    summary="Set or clear a customer's own usage alert thresholds",
)
def alert_thresholds_put(request: AuthedRequest, customer_id: str, payload: ThresholdsIn):
    token = organization_token(request)
    customer = customer_in_scope(request, customer_id)
    unknown = [key for key in payload.thresholds if key not in DIMENSIONS]
    if unknown:
        raise HttpError(
            422,
            f"Unknown dimension “{unknown[0][:40]}”: use events_per_day or executions_per_month.",
        )
    with transaction.atomic():  # all the named dimensions, or none
        for dimension, percents in payload.thresholds.items():
            thresholds_set(
                organization=customer.organization,
                actor=token,
                dimension=dimension,
                percents=percents,
                customer=customer,
            )
    return _thresholds(customer)
