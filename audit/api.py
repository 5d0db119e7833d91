"""Ingestion of events and executions: the enforcement points of the quotas (SPEC §5)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from django.http import HttpRequest, HttpResponse
from ninja import Field, Router, Schema, Status
from ninja.errors import HttpError
from pydantic import StrictInt

from audit.services import QuotaExceeded, events_ingest, executions_ingest
from billing.services import refused
from config.api_types import IsoDateTime, text
from customers.api import customer_in_scope
from customers.models import CustomerStatus

router = Router(tags=["Ingestion"])

MAX_BATCH = 1000


class EventIn(Schema):
    type: Literal["webhook", "scheduled", "manual"]
    direction: Literal["incoming", "outgoing"]
    name: text(120, min_length=1, one_line=True)
    status: text(32) = "delivered"
    occurred_at: IsoDateTime | None = None
    payload_summary: text(500) = ""


class ExecutionIn(Schema):
    workflow: text(120, min_length=1, one_line=True, description="Workflow name")
    triggered_by: Literal["agent-service", "webhook", "scheduler", "manual"]
    status: Literal["running", "succeeded", "failed"] = "running"
    started_at: IsoDateTime
    finished_at: IsoDateTime | None = None
    duration_ms: Annotated[StrictInt, Field(ge=0, le=2**31 - 1)] | None = None
    error: text(5000) = ""


class Accepted(Schema):
    accepted: int


class QuotaError(Schema):
    detail: str
    dimension: str
    scope: str
    limit: int | None
    used: int
    window: str | None
    reset_at: str | None


class Detail(Schema):
    detail: str


class ValidationDetail(Schema):
    detail: Any


EventBatch = Annotated[list[EventIn], Field(min_length=1, max_length=MAX_BATCH)]
ExecutionBatch = Annotated[list[ExecutionIn], Field(min_length=1, max_length=MAX_BATCH)]
RESPONSES = {
    201: Accepted,
    400: Detail,
    401: Detail,
    403: Detail,
    404: Detail,
    409: Detail,
    422: ValidationDetail,
    429: QuotaError,
}


def _writable_customer(request: HttpRequest, customer_id: str):
    customer = customer_in_scope(request, customer_id)
    if customer.status == CustomerStatus.SUSPENDED:
        raise HttpError(
            409, f"{customer.name} is suspended: ingestion is refused until it is reactivated."
        )
    return customer


def _too_many(request: HttpRequest, customer, error: QuotaExceeded, action: str) -> HttpResponse:
    from config.api import api

    refused(customer, error.consumption, action, request.auth)
    response = api.create_response(request, error.consumption.as_error(), status=429)
    response["Retry-After"] = str(error.consumption.retry_after)
    return response


@router.post(
    "/customer/{customer_id}/events",
    response=RESPONSES,
    summary="Record events (one, or a batch of up to 1,000; all or nothing)",
)
def events_create(request: HttpRequest, customer_id: str, payload: EventIn | EventBatch):
    customer = _writable_customer(request, customer_id)
    items = payload if isinstance(payload, list) else [payload]
    try:
        rows = events_ingest(customer=customer, items=[item.model_dump() for item in items])
    except QuotaExceeded as error:
        return _too_many(request, customer, error, "events.refused")
    return Status(201, {"accepted": len(rows)})


@router.post(
    "/customer/{customer_id}/executions",
    response=RESPONSES,
    summary="Record executions (one, or a batch of up to 1,000; all or nothing)",
)
def executions_create(
    request: HttpRequest, customer_id: str, payload: ExecutionIn | ExecutionBatch
):
    customer = _writable_customer(request, customer_id)
    items = payload if isinstance(payload, list) else [payload]
    try:
        created = executions_ingest(
            customer=customer, items=[item.model_dump() for item in items], actor=request.auth
        )
    except QuotaExceeded as error:
        return _too_many(request, customer, error, "executions.refused")
    return Status(201, {"accepted": len(created)})
