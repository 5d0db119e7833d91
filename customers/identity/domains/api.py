"""A customer's verified domains over the API: list, add, check now, remove. An organization
key reaches every customer's; a customer key only its own customer's."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from ninja import Field, Router, Schema, Status
from ninja.errors import HttpError

from customers.api.schemas import ERRORS, Detail, iso
from customers.api.types import text
from customers.identity.domains.models import VerifiedDomain
from customers.identity.domains.services import domain_add, domain_remove, domain_verify
from customers.platform.requests import AuthedRequest
from customers.records.api.lookup import customer_in_scope, uuid_or_none
from customers.records.models import Customer

router = Router(tags=["Customer"])


class DomainOut(Schema):
    id: str
    domain: str = Field(..., description="Lower case; a non-ASCII name in its IDNA form")
    status: Literal["pending", "verified", "failed"]
    record_name: str = Field(..., description="Where to publish the TXT record")
    record_value: str = Field(..., description="The TXT record's value")
    created_at: str
    verified_at: str | None
    last_checked_at: str | None
    last_result: str = Field(..., description="What the last check found, in plain words")
    fails_at: str = Field(..., description="A pending domain not verified by then fails")


class DomainIn(Schema):
    # Not one_line: a line break is refused by the domain rule, with its plainer message.
    domain: Annotated[str, text(253, min_length=1)]


def domain_out(domain: VerifiedDomain) -> dict[str, Any]:
    return {
        "id": str(domain.pk),
        "domain": domain.domain,
        "status": domain.status,
        "record_name": domain.record_name,
        "record_value": domain.record_value,
        "created_at": domain.created_at.isoformat(),
        "verified_at": iso(domain.verified_at),
        "last_checked_at": iso(domain.last_checked_at),
        "last_result": domain.last_result,
        "fails_at": domain.fails_at.isoformat(),
    }


def _domain(customer: Customer, domain_id: str) -> VerifiedDomain:
    key = uuid_or_none(domain_id)
    domain: VerifiedDomain | None = (
        VerifiedDomain.objects.for_customer(customer)
        .select_related("customer__organization")
        .filter(pk=key)
        .first()
        if key
        else None
    )
    if domain is None:
        raise HttpError(404, "No such domain for this customer.")
    return domain


@router.get(
    "/customer/{customer_id}/domains",
    response={200: list[DomainOut], **ERRORS},
    summary="List a customer's domains",
)
def domains_list(request: AuthedRequest, customer_id: str) -> list[dict[str, Any]]:
    customer = customer_in_scope(request, customer_id)
    return [domain_out(d) for d in VerifiedDomain.objects.for_customer(customer)]


@router.post(
    "/customer/{customer_id}/domains",
    response={201: DomainOut, 409: Detail, **ERRORS},
    summary="Add a domain (pending until its TXT record is found)",
)
def domains_add(
    request: AuthedRequest, customer_id: str, payload: DomainIn
) -> Status[dict[str, Any]]:
    customer = customer_in_scope(request, customer_id)
    domain = domain_add(customer=customer, domain=payload.domain, actor=request.auth)
    return Status(201, domain_out(domain))


@router.post(
    "/customer/{customer_id}/domains/{domain_id}/verify",
    response={200: DomainOut, 409: Detail, **ERRORS},
    summary="Look for a domain's TXT record now",
    description="200 whatever the check found: `status` says whether it is verified, "
    "`last_result` what was found. 409 for a domain that failed (add it again).",
)
def domains_verify(request: AuthedRequest, customer_id: str, domain_id: str) -> dict[str, Any]:
    customer = customer_in_scope(request, customer_id)
    domain = domain_verify(domain=_domain(customer, domain_id), actor=request.auth)
    return domain_out(domain)


@router.delete(
    "/customer/{customer_id}/domains/{domain_id}",
    response={204: None, **ERRORS},
    summary="Remove a domain",
)
def domains_remove(request: AuthedRequest, customer_id: str, domain_id: str) -> Status[None]:
    customer = customer_in_scope(request, customer_id)
    domain_remove(domain=_domain(customer, domain_id), actor=request.auth)
    return Status(204, None)
