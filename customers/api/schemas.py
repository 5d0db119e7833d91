"""The seed's Customer shape and the error bodies every endpoint shares."""

from __future__ import annotations

from typing import Any

from ninja import Field, Schema
from pydantic import BaseModel

from customers.records.shapes import customer_list_item, customer_out, iso

__all__ = ["customer_list_item", "customer_out", "iso"]


class Detail(Schema):
    detail: str


class ValidationDetail(Schema):
    detail: Any


class QuotaError(Schema):
    """Every 429 of the API: a rate limit or quota reached (with a Retry-After header)."""

    detail: str
    dimension: str
    scope: str
    limit: int | None
    used: int
    window: str | None
    reset_at: str | None


ERRORS = {
    400: Detail,
    401: Detail,
    403: Detail,
    404: Detail,
    422: ValidationDetail,
    429: QuotaError,
}


# A plain pydantic model, not a ninja Schema: responses are built as dicts
# (customers/records/shapes.py), and a Schema wraps every item in an attribute getter first (2.2 ms
# for a page of 50 customers, against 0.1 ms; make bench PROFILE=api-get-customers). The docstring
# is the OpenAPI description.
class CustomerOut(BaseModel):
    """Field for field the seed's Customer data model."""

    billing_contact_id: str | None
    billing_network_type: str
    billing_ref: str
    can_configure_wordpress: bool
    can_reset_passwords: bool
    can_upload_vcl: bool
    force_2fa: bool
    force_sso: bool
    has_account_panel: bool
    has_improved_events: bool
    has_improved_ssl_config: bool
    has_openstack_logging: bool
    has_pci: bool
    has_pci_passwords: bool
    ip_whitelist: str
    legal_contact_id: str | None
    name: str
    owner_id: str = Field(description="The customer admin; empty until an admin accepts.")
    phone_number: str
    postal_address: str
    pricing_plan: str
    pricing_plan_id: str
    security_contact_id: str | None
    technical_contact_id: str | None
    created_at: str
    deleted_at: str | None
    id: str
    updated_at: str


class CustomerListItem(CustomerOut):
    """The seed's fields plus our own identifiers and lifecycle."""

    slug: str
    external_id: str
    status: str
    version: int


class StatusOk(Schema):
    status: str
