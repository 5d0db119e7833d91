"""The token's own organization and the token itself."""

from __future__ import annotations

from ninja import Router, Schema

from customers.api.schemas import ERRORS
from customers.platform.requests import AuthedRequest

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
    customer_id: str | None


@router.get(
    "/organization", response={200: OrganizationOut, **ERRORS}, summary="The API key's organization"
)
def organization_detail(request: AuthedRequest) -> OrganizationOut:
    organization = request.auth.organization
    return OrganizationOut(
        id=str(organization.id),
        name=organization.name,
        slug=organization.slug,
        created_at=organization.created_at.isoformat(),
    )


@router.get("/token", response={200: TokenOut, **ERRORS}, summary="The API key making this request")
def token_detail(request: AuthedRequest) -> TokenOut:
    token = request.auth
    return TokenOut(
        name=token.name,
        prefix=token.prefix,
        organization_id=str(token.organization_id),
        customer_id=str(token.customer_id) if token.customer_id else None,
    )
