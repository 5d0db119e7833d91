"""Authentication for the REST API and the organization's own endpoint."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Schema
from ninja.security import APIKeyHeader, HttpBearer

from customers.models import ApiToken


class BearerToken(HttpBearer):
    """``Authorization: Bearer <token>``."""

    def authenticate(self, request: HttpRequest, token: str) -> ApiToken | None:
        return ApiToken.authenticate(token)


class FastlyKey(APIKeyHeader):
    """``Fastly-Key: <token>``, so clients written for the seed's API work unchanged."""

    param_name = "Fastly-Key"

    def authenticate(self, request: HttpRequest, key: str | None) -> ApiToken | None:
        return ApiToken.authenticate(key or "")


token_auth = [BearerToken(), FastlyKey()]

router = Router(tags=["Organization"])


class OrganizationOut(Schema):
    id: str
    name: str
    slug: str
    created_at: str


class TokenOut(Schema):
    name: str
    prefix: str
    organization_id: str


@router.get("/organization", response=OrganizationOut, summary="The token's organization")
def organization_detail(request: HttpRequest) -> OrganizationOut:
    organization = request.auth.organization
    return OrganizationOut(
        id=str(organization.id),
        name=organization.name,
        slug=organization.slug,
        created_at=organization.created_at.isoformat(),
    )


@router.get("/token", response=TokenOut, summary="The token making this request")
def token_detail(request: HttpRequest) -> TokenOut:
    token = request.auth
    return TokenOut(
        name=token.name, prefix=token.prefix, organization_id=str(token.organization_id)
    )
