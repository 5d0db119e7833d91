"""Webhook endpoints over the API (organization tokens only) and the catalogue of event types."""

from __future__ import annotations

from typing import Annotated, Any

from ninja import Router, Schema, Status
from ninja.errors import HttpError
from pydantic import Field

from customers.api.schemas import ERRORS, Detail, iso
from customers.api.types import text
from customers.identity.api.auth import organization_token
from customers.platform.requests import AuthedRequest
from customers.records.api.lookup import uuid_or_none
from customers.webhooks.models import WebhookEndpoint
from customers.webhooks.registry import DATA_SCHEMA, EVENT_TYPES, PAYLOAD_SCHEMA
from customers.webhooks.services import endpoint_create, endpoint_delete, endpoint_update

router = Router(tags=["Webhooks"])


class EndpointOut(Schema):
    id: str
    url: str
    description: str
    event_types: list[str] = Field(description="Empty: every event type.")
    enabled: bool
    disabled_reason: str
    last_sequence: int
    created_at: str


class EndpointCreated(EndpointOut):
    secret: str = Field(description="The signing secret: shown in this response only.")


class EndpointCreate(Schema):
    url: Annotated[str, text(500, min_length=1, one_line=True)]
    description: Annotated[str, text(200, one_line=True)] = ""
    event_types: list[Annotated[str, text(60, one_line=True)]] = Field(default=[], max_length=50)


class EndpointPatch(Schema):
    url: Annotated[str, text(500, min_length=1, one_line=True)] | None = None
    description: Annotated[str, text(200, one_line=True)] | None = None
    event_types: list[Annotated[str, text(60, one_line=True)]] | None = Field(
        default=None, max_length=50
    )
    enabled: bool | None = None


class EventTypeOut(Schema):
    name: str
    description: str
    version: int
    data_schema: dict[str, Any]


class EventCatalogue(Schema):
    event_types: list[EventTypeOut]
    payload_schema: dict[str, Any]


def endpoint_out(endpoint: WebhookEndpoint) -> dict[str, Any]:
    return {
        "id": str(endpoint.pk),
        "url": endpoint.url,
        "description": endpoint.description,
        "event_types": endpoint.event_types,
        "enabled": endpoint.enabled,
        "disabled_reason": endpoint.disabled_reason,
        "last_sequence": endpoint.last_sequence,
        "created_at": iso(endpoint.created_at),
    }


def endpoint_in_scope(request: AuthedRequest, endpoint_id: str) -> WebhookEndpoint:
    token = organization_token(request)
    key = uuid_or_none(endpoint_id)
    endpoint = (
        WebhookEndpoint.objects.for_organization(token.organization).filter(pk=key).first()
        if key
        else None
    )
    if endpoint is None:
        raise HttpError(404, "No such webhook endpoint in this organization.")
    return endpoint


@router.get(
    "/webhook-event-types",
    response={200: EventCatalogue, **ERRORS},
    summary="The event types a webhook endpoint can subscribe to, and their schema",
)
def event_types(request: AuthedRequest):
    return {
        "event_types": [
            {
                "name": spec.name,
                "description": spec.description,
                "version": spec.version,
                "data_schema": DATA_SCHEMA,
            }
            for spec in EVENT_TYPES.values()
        ],
        "payload_schema": PAYLOAD_SCHEMA,
    }


@router.get(
    "/webhook-endpoints",
    response={200: list[EndpointOut], **ERRORS},
    summary="List webhook endpoints",
)
def endpoints_list(request: AuthedRequest):
    token = organization_token(request)
    return [endpoint_out(e) for e in WebhookEndpoint.objects.for_organization(token.organization)]


@router.post(
    "/webhook-endpoints",
    response={201: EndpointCreated, 409: Detail, **ERRORS},
    summary="Create a webhook endpoint (its secret is in this response only)",
)
def endpoints_create(request: AuthedRequest, payload: EndpointCreate):
    token = organization_token(request)
    endpoint, secret = endpoint_create(
        organization=token.organization, actor=token, **payload.model_dump()
    )
    return Status(201, {**endpoint_out(endpoint), "secret": secret})


@router.get(
    "/webhook-endpoints/{endpoint_id}",
    response={200: EndpointOut, **ERRORS},
    summary="One webhook endpoint",
)
def endpoints_detail(request: AuthedRequest, endpoint_id: str):
    return endpoint_out(endpoint_in_scope(request, endpoint_id))


@router.patch(
    "/webhook-endpoints/{endpoint_id}",
    response={200: EndpointOut, 409: Detail, **ERRORS},
    summary="Change a webhook endpoint (URL, description, event types, enabled)",
)
def endpoints_update(request: AuthedRequest, endpoint_id: str, payload: EndpointPatch):
    endpoint = endpoint_in_scope(request, endpoint_id)
    changes = payload.model_dump(exclude_none=True)
    return endpoint_out(endpoint_update(endpoint=endpoint, changes=changes, actor=request.auth))


@router.delete(
    "/webhook-endpoints/{endpoint_id}",
    response={204: None, **ERRORS},
    summary="Delete a webhook endpoint and its delivery log",
)
def endpoints_delete(request: AuthedRequest, endpoint_id: str):
    endpoint = endpoint_in_scope(request, endpoint_id)
    endpoint_delete(endpoint=endpoint, actor=request.auth)
    return Status(204, None)
