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


def customer_in_scope(request: HttpRequest, customer_id: str, *, include_deleted: bool = False):
    """The customer ``customer_id`` names, if the token may see it; else a 404 that says what to
    use instead when the caller passed a slug or external ID (the seed's API answers a bare
    404 there)."""
    import uuid

    from django.db.models import Q
    from ninja.errors import HttpError

    from customers.models import Customer, CustomerStatus

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
    named = scoped.filter(Q(slug=customer_id) | Q(external_id=customer_id)).first()
    if named is not None:
        kind = "slug" if named.slug == customer_id else "external ID"
        raise HttpError(
            404,
            f"“{customer_id}” is the {kind} of customer {named.name}; the API identifies "
            f"customers by UUID: use /customer/{named.pk}.",
        )
    raise HttpError(404, "No customer with this ID is visible to your token.")
