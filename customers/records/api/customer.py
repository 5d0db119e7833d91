"""The seed's Customer resource: get, update, delete, the current customer, and its lifecycle."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpResponse
from ninja import Router
from ninja.errors import HttpError

from customers.api.schemas import (
    ERRORS,
    CustomerListItem,
    CustomerOut,
    Detail,
    StatusOk,
    customer_list_item,
    customer_out,
)
from customers.identity.api.auth import organization_token
from customers.people.services.seats import portal_settings_update
from customers.platform.net import client_ip
from customers.platform.requests import AuthedRequest
from customers.records.api.lookup import customer_in_scope
from customers.records.api.updates import PUT_BODY, body_of, changes_from
from customers.records.models import Customer
from customers.records.services.lifecycle import (
    customer_delete,
    customer_reactivate,
    customer_restore,
    customer_suspend,
)
from customers.records.services.records import customer_update

router = Router(tags=["Customer"])

NOT_A_CUSTOMER_TOKEN = (
    "/current_customer answers for a customer's API key: this is an organization API key, which "
    "sees many customers. Use /customer/{customer_id} or /customers instead."
)
ETAG_MISMATCH = (
    "The customer changed since you read it (ETag mismatch): GET it again, then retry your update."
)


def etag(customer: Customer) -> str:
    return f'"{customer.pk}-v{customer.version}"'


def with_etag(response: HttpResponse, customer: Customer) -> dict[str, Any]:
    """The customer in the seed's shape, with the ETag a later PUT may send as If-Match."""
    response["ETag"] = etag(customer)
    return customer_out(customer)


@router.get(
    "/customer/{customer_id}",
    response={200: CustomerOut, **ERRORS},
    summary="Get a customer",
    description="The customer's record in the seed's shape. The `ETag` header lets a later "
    "`PUT` refuse to overwrite someone else's change (`If-Match`).",
)
def customer_get(request: AuthedRequest, customer_id: str, response: HttpResponse):
    return with_etag(response, customer_in_scope(request, customer_id))


@router.get(
    "/current_customer",
    response={200: CustomerOut, **ERRORS},
    summary="Get the logged in customer",
    description="The customer of a customer's API key (created in the customer portal). "
    "Organization API keys have no customer of their own: they get 403.",
)
def current_customer(request: AuthedRequest, response: HttpResponse):
    token = request.auth
    if not token.customer_id:
        raise HttpError(403, NOT_A_CUSTOMER_TOKEN)
    return with_etag(response, customer_in_scope(request, str(token.customer_id)))


def _expected_version(request: AuthedRequest, customer: Customer) -> int | None:
    """The version an If-Match pins the update to; None without one (last write wins, as the
    seed's clients expect)."""
    if_match = (request.headers.get("If-Match") or "").strip()
    if not if_match:
        return None
    if if_match not in (etag(customer), "*"):
        raise HttpError(412, ETAG_MISMATCH)
    return customer.version


@router.put(
    "/customer/{customer_id}",
    response={200: CustomerOut, 400: Detail, 409: Detail, 412: Detail, 415: Detail, **ERRORS},
    summary="Update a customer",
    openapi_extra=PUT_BODY,
    description="Send the fields to change, as JSON or form-encoded. Read-only fields are "
    "refused with 422 if they differ from the current value.",
)
def customer_put(request: AuthedRequest, customer_id: str, response: HttpResponse):
    customer = customer_in_scope(request, customer_id)
    changes = changes_from(request, customer, body_of(request))
    expected = _expected_version(request, customer)
    if request.auth.customer_id:
        # A customer token edits what the portal may edit, under the portal's rules.
        updated = portal_settings_update(
            customer=customer,
            actor=request.auth,
            expected_version=expected,
            changes=changes,
            client_address=client_ip(request),
        )
    else:
        updated = customer_update(
            customer=customer, actor=request.auth, expected_version=expected, changes=changes
        )
    return with_etag(response, updated)


@router.delete(
    "/customer/{customer_id}",
    response={200: StatusOk, 409: Detail, **ERRORS},
    summary="Delete a customer",
    description="A soft delete: the customer is hidden (404) and can be restored with "
    "POST /customer/{customer_id}/restore within the retention window.",
)
def customer_delete_api(request: AuthedRequest, customer_id: str) -> dict[str, str]:
    token = organization_token(request)
    customer_delete(customer=customer_in_scope(request, customer_id), actor=token)
    return {"status": "ok"}


def _lifecycle(
    request: AuthedRequest,
    customer_id: str,
    service: Callable[..., Customer],
    *,
    deleted: bool = False,
) -> dict[str, Any]:
    token = organization_token(request)
    customer = customer_in_scope(request, customer_id, include_deleted=deleted)
    return customer_list_item(service(customer=customer, actor=token))


LIFECYCLE_RESPONSES = {200: CustomerListItem, 409: Detail, **ERRORS}


@router.post(
    "/customer/{customer_id}/suspend", response=LIFECYCLE_RESPONSES, summary="Suspend a customer"
)
def customer_suspend_api(request: AuthedRequest, customer_id: str):
    return _lifecycle(request, customer_id, customer_suspend)


@router.post(
    "/customer/{customer_id}/reactivate",
    response=LIFECYCLE_RESPONSES,
    summary="Reactivate a suspended customer",
)
def customer_reactivate_api(request: AuthedRequest, customer_id: str):
    return _lifecycle(request, customer_id, customer_reactivate)


@router.post(
    "/customer/{customer_id}/restore",
    response=LIFECYCLE_RESPONSES,
    summary="Restore a deleted customer",
)
def customer_restore_api(request: AuthedRequest, customer_id: str):
    return _lifecycle(request, customer_id, customer_restore, deleted=True)
