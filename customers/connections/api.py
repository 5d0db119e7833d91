"""A customer's connected accounts: list, record, revoke."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from ninja import Field, Router, Schema, Status
from ninja.errors import HttpError
from pydantic import model_validator

from customers.api.schemas import ERRORS, Detail, iso
from customers.api.types import IsoDateTime, text
from customers.connections.models import Connection
from customers.connections.services import (
    connection_create,
    connection_revoke,
    connection_set_status,
)
from customers.health.services import connection_activity_record
from customers.identity.api.auth import organization_token
from customers.platform.requests import AuthedRequest
from customers.records.api.lookup import customer_in_scope, uuid_or_none
from customers.records.models import Customer

router = Router(tags=["Customer"])


class ConnectionOut(Schema):
    id: str
    app: str
    account_label: str
    status: str
    scopes: str
    connected_by: str
    connected_at: str
    last_used_at: str | None
    health: Literal["healthy", "degraded", "relink_needed", "idle"] | None = Field(
        ..., description="null once revoked: a revoked connection has no health"
    )
    last_success_at: str | None
    last_error_at: str | None
    last_error: str
    errors_7d: int


class ConnectionCreate(Schema):
    app: Annotated[str, text(60, min_length=1, one_line=True)]
    account_label: Annotated[str, text(200, min_length=1, one_line=True)]
    scopes: Annotated[str, text(500)] = ""
    credential_ref: Annotated[
        str, text(200, description="Where the runtime keeps it, never the secret")
    ] = ""
    connected_by: Annotated[str, text(254)] = ""


def connection_out(connection: Connection) -> dict[str, Any]:
    return {
        "id": str(connection.pk),
        "app": connection.app,
        "account_label": connection.account_label,
        "status": connection.status,
        "scopes": connection.scopes,
        "connected_by": connection.connected_by,
        "connected_at": connection.connected_at.isoformat(),
        "last_used_at": iso(connection.last_used_at),
        "health": None if connection.status == Connection.Status.REVOKED else connection.health,
        "last_success_at": iso(connection.last_success_at),
        "last_error_at": iso(connection.last_error_at),
        "last_error": connection.last_error,
        "errors_7d": connection.errors_7d,
    }


def _connection(customer: Customer, connection_id: str) -> Connection:
    key = uuid_or_none(connection_id)
    connection = (
        Connection.objects.for_customer(customer).select_related("customer").filter(pk=key).first()
        if key
        else None
    )
    if connection is None:
        raise HttpError(404, "No such connected account for this customer.")
    return connection


@router.get(
    "/customer/{customer_id}/connections",
    response={200: list[ConnectionOut], **ERRORS},
    summary="List connected accounts",
)
def connections_list(request: AuthedRequest, customer_id: str):
    customer = customer_in_scope(request, customer_id)
    return [connection_out(c) for c in Connection.objects.for_customer(customer)]


@router.post(
    "/customer/{customer_id}/connections",
    response={201: ConnectionOut, 409: Detail, **ERRORS},
    summary="Record a connected account (from the integration runtime)",
)
def connections_create(request: AuthedRequest, customer_id: str, payload: ConnectionCreate):
    token = organization_token(request)
    customer = customer_in_scope(request, customer_id)
    connection = connection_create(customer=customer, actor=token, **payload.model_dump())
    return Status(201, connection_out(connection))


@router.post(
    "/customer/{customer_id}/connections/{connection_id}/revoke",
    response={200: ConnectionOut, 409: Detail, **ERRORS},
    summary="Revoke a connected account",
)
def connections_revoke(request: AuthedRequest, customer_id: str, connection_id: str):
    customer = customer_in_scope(request, customer_id)
    connection = _connection(customer, connection_id)
    return connection_out(connection_revoke(connection=connection, actor=request.auth))


class ConnectionStatusIn(Schema):
    status: Literal["connected", "expired", "error"]
    detail: Annotated[str, text(500, description="What the runtime saw, e.g. 'token expired'")] = ""


@router.post(
    "/customer/{customer_id}/connections/{connection_id}/status",
    response={200: ConnectionOut, 409: Detail, **ERRORS},
    summary="Report a connected account's health (from the integration runtime)",
)
def connections_status(
    request: AuthedRequest, customer_id: str, connection_id: str, payload: ConnectionStatusIn
):
    token = organization_token(request)
    customer = customer_in_scope(request, customer_id)
    connection = _connection(customer, connection_id)
    return connection_out(
        connection_set_status(connection=connection, actor=token, **payload.model_dump())
    )


class ActivityIn(Schema):
    outcome: Literal["success", "error"]
    error: Annotated[
        str, text(500, description="What failed, in words; secret-looking parts are cut")
    ] = ""
    occurred_at: IsoDateTime | None = Field(None, description="Within the last 30 days")


class ActivityReport(Schema):
    """One report (outcome, error, occurred_at) or a batch of them (items), not both."""

    outcome: Literal["success", "error"] | None = None
    error: Annotated[
        str, text(500, description="What failed, in words; secret-looking parts are cut")
    ] = ""
    occurred_at: IsoDateTime | None = Field(None, description="Within the last 30 days")
    items: Annotated[list[ActivityIn], Field(min_length=1, max_length=1000)] | None = None

    @model_validator(mode="after")
    def one_or_a_batch(self) -> ActivityReport:
        if (self.outcome is None) == (self.items is None):
            raise ValueError("Send one report (outcome, error, occurred_at) or items, not both.")
        return self

    def reports(self) -> list[dict[str, Any]]:
        if self.items is not None:
            return [item.model_dump() for item in self.items]
        return [{"outcome": self.outcome, "error": self.error, "occurred_at": self.occurred_at}]


@router.post(
    "/customer/{customer_id}/connections/{connection_id}/activity",
    response={200: ConnectionOut, 409: Detail, **ERRORS},
    summary="Report what happened when the runtime used a connected account (one or a batch)",
)
def connections_activity(
    request: AuthedRequest,
    customer_id: str,
    connection_id: str,
    payload: ActivityReport,
):
    token = organization_token(request)
    customer = customer_in_scope(request, customer_id)
    connection = _connection(customer, connection_id)
    return connection_out(
        connection_activity_record(connection=connection, actor=token, items=payload.reports())
    )
