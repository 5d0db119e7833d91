"""A customer's SSO connections over the API: list, read, create, change, activate,
deactivate, remove. The client secret is write-only. A connection is tested by a person
signing in at the provider, so the test is the portal's and the console's "Test connection";
activation here needs that test to have passed."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from ninja import Field, Router, Schema, Status
from ninja.errors import HttpError

from customers.api.schemas import ERRORS, Detail, iso
from customers.api.types import text
from customers.identity.sso import saml
from customers.identity.sso.flows import redirect_uri
from customers.identity.sso.models import SsoConnection
from customers.identity.sso.services import (
    sso_connection_activate,
    sso_connection_create,
    sso_connection_deactivate,
    sso_connection_delete,
    sso_connection_update,
)
from customers.platform.requests import AuthedRequest
from customers.records.api.lookup import customer_in_scope, uuid_or_none
from customers.records.models import Customer

router = Router(tags=["Customer"])

Role = Literal["superuser", "engineer", "billing", "user"]
Claim = Annotated[str, text(100, min_length=1, one_line=True)]


class SsoConnectionOut(Schema):
    id: str
    name: str
    protocol: Literal["oidc", "saml"]
    status: Literal["draft", "active", "inactive"]
    issuer: str = Field(..., description="OpenID Connect: the provider's issuer")
    client_id: str
    client_secret_set: bool = Field(..., description="The secret itself is never returned")
    redirect_uri: str | None = Field(
        ..., description="OpenID Connect: this connection's redirect URI, to register"
    )
    idp_metadata_url: str = Field(..., description="SAML: read again each day when set")
    idp_entity_id: str
    idp_sso_url: str
    idp_certificate_expires_at: str | None = Field(
        ..., description="SAML: when the last of the IdP's signing certificates expires"
    )
    allow_idp_initiated: bool
    sp_entity_id: str | None = Field(
        ..., description="SAML: Tenantry's entity id (the audience), also its metadata URL"
    )
    acs_url: str | None = Field(..., description="SAML: Tenantry's Assertion Consumer Service")
    email_claim: str
    first_name_claim: str
    last_name_claim: str
    groups_claim: str
    group_roles: dict[str, Role] = Field(..., description="Group name → customer role")
    default_role: Role
    provision_users: bool
    tested_at: str | None
    last_test_ok: bool | None
    last_test_result: str
    last_signed_in_at: str | None
    created_at: str


class SsoConnectionChange(Schema):
    name: Annotated[str, text(100, min_length=1, one_line=True)] | None = None
    idp_metadata_url: Annotated[str, text(500, min_length=1, one_line=True)] | None = Field(
        None, description="SAML: fetched now and each day; fills in the IdP's settings"
    )
    idp_metadata_xml: Annotated[str, text(200_000, min_length=1)] | None = Field(
        None, description="SAML: the IdP's metadata, read once into its settings (not kept)"
    )
    idp_entity_id: Annotated[str, text(500, min_length=1, one_line=True)] | None = None
    idp_sso_url: Annotated[str, text(500, min_length=1, one_line=True)] | None = None
    idp_certificate: Annotated[str, text(20_000, min_length=1)] | None = Field(
        None, description="SAML: PEM; a new one keeps the test (a key rollover)"
    )
    allow_idp_initiated: bool | None = None
    issuer: Annotated[str, text(500, min_length=1, one_line=True)] | None = None
    client_id: Annotated[str, text(255, min_length=1, one_line=True)] | None = None
    client_secret: Annotated[str, text(500, min_length=1, one_line=True)] | None = Field(
        None, description="Write-only; replacing it makes the connection a draft again"
    )
    email_claim: Claim | None = None
    first_name_claim: Claim | None = None
    last_name_claim: Claim | None = None
    groups_claim: Claim | None = None
    group_roles: dict[Annotated[str, text(200, min_length=1)], Role] | None = None
    default_role: Role | None = None
    provision_users: bool | None = None


class SsoConnectionIn(SsoConnectionChange):
    name: Annotated[str, text(100, min_length=1, one_line=True)]
    protocol: Literal["oidc", "saml"] = "oidc"


def connection_out(connection: SsoConnection) -> dict[str, Any]:
    saml_side = connection.is_saml
    return {
        "id": str(connection.pk),
        "name": connection.name,
        "protocol": connection.protocol,
        "status": connection.status,
        "issuer": connection.issuer,
        "client_id": connection.client_id,
        "client_secret_set": connection.has_secret,
        "redirect_uri": None if saml_side else redirect_uri(connection),
        "idp_metadata_url": connection.idp_metadata_url,
        "idp_entity_id": connection.idp_entity_id,
        "idp_sso_url": connection.idp_sso_url,
        "idp_certificate_expires_at": iso(connection.certificate_expires_at),
        "allow_idp_initiated": connection.allow_idp_initiated,
        "sp_entity_id": saml.entity_id(connection) if saml_side else None,
        "acs_url": saml.acs_url(connection) if saml_side else None,
        "email_claim": connection.email_claim,
        "first_name_claim": connection.first_name_claim,
        "last_name_claim": connection.last_name_claim,
        "groups_claim": connection.groups_claim,
        "group_roles": connection.group_roles,
        "default_role": connection.default_role,
        "provision_users": connection.provision_users,
        "tested_at": iso(connection.tested_at),
        "last_test_ok": connection.last_test_ok,
        "last_test_result": connection.last_test_result,
        "last_signed_in_at": iso(connection.last_signed_in_at),
        "created_at": connection.created_at.isoformat(),
    }


def _connection(customer: Customer, connection_id: str) -> SsoConnection:
    key = uuid_or_none(connection_id)
    connection: SsoConnection | None = (
        SsoConnection.objects.for_customer(customer)
        .select_related("customer__organization")
        .filter(pk=key)
        .first()
        if key
        else None
    )
    if connection is None:
        raise HttpError(404, "No such SSO connection for this customer.")
    return connection


BASE = "/customer/{customer_id}/sso-connections"
ONE = BASE + "/{connection_id}"


@router.get(BASE, response={200: list[SsoConnectionOut], **ERRORS}, summary="List SSO connections")
def sso_connections_list(request: AuthedRequest, customer_id: str) -> list[dict[str, Any]]:
    customer = customer_in_scope(request, customer_id)
    return [connection_out(c) for c in SsoConnection.objects.for_customer(customer)]


@router.post(
    BASE,
    response={201: SsoConnectionOut, 409: Detail, **ERRORS},
    summary="Add an SSO connection (a draft until tested and activated)",
)
def sso_connections_create(
    request: AuthedRequest, customer_id: str, payload: SsoConnectionIn
) -> Status[dict[str, Any]]:
    customer = customer_in_scope(request, customer_id)
    settings = payload.dict(exclude_none=True)
    connection = sso_connection_create(customer=customer, actor=request.auth, **settings)
    return Status(201, connection_out(connection))


@router.get(ONE, response={200: SsoConnectionOut, **ERRORS}, summary="Read an SSO connection")
def sso_connections_read(
    request: AuthedRequest, customer_id: str, connection_id: str
) -> dict[str, Any]:
    customer = customer_in_scope(request, customer_id)
    return connection_out(_connection(customer, connection_id))


@router.patch(
    ONE,
    response={200: SsoConnectionOut, 409: Detail, **ERRORS},
    summary="Change an SSO connection",
    description="A new issuer, client id or client secret (SAML: IdP entity id, SSO URL or "
    "metadata URL) voids the last test: the connection is a draft again until it is tested.",
)
def sso_connections_update(
    request: AuthedRequest, customer_id: str, connection_id: str, payload: SsoConnectionChange
) -> dict[str, Any]:
    customer = customer_in_scope(request, customer_id)
    connection = sso_connection_update(
        connection=_connection(customer, connection_id),
        actor=request.auth,
        changes=payload.dict(exclude_none=True),
    )
    return connection_out(connection)


@router.post(
    ONE + "/activate",
    response={200: SsoConnectionOut, 409: Detail, **ERRORS},
    summary="Activate an SSO connection (after a passing test)",
)
def sso_connections_activate(
    request: AuthedRequest, customer_id: str, connection_id: str
) -> dict[str, Any]:
    customer = customer_in_scope(request, customer_id)
    connection = _connection(customer, connection_id)
    return connection_out(sso_connection_activate(connection=connection, actor=request.auth))


@router.post(
    ONE + "/deactivate",
    response={200: SsoConnectionOut, 409: Detail, **ERRORS},
    summary="Deactivate an SSO connection",
    description="409 while the customer forces SSO and this is its only usable connection.",
)
def sso_connections_deactivate(
    request: AuthedRequest, customer_id: str, connection_id: str
) -> dict[str, Any]:
    customer = customer_in_scope(request, customer_id)
    connection = _connection(customer, connection_id)
    return connection_out(sso_connection_deactivate(connection=connection, actor=request.auth))


@router.delete(ONE, response={204: None, 409: Detail, **ERRORS}, summary="Remove an SSO connection")
def sso_connections_delete(
    request: AuthedRequest, customer_id: str, connection_id: str
) -> Status[None]:
    customer = customer_in_scope(request, customer_id)
    sso_connection_delete(connection=_connection(customer, connection_id), actor=request.auth)
    return Status(204, None)
