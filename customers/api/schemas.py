"""The seed's Customer shape and the error bodies every endpoint shares."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ninja import Field, Schema

from customers.models import Customer


class Detail(Schema):
    detail: str


class ValidationDetail(Schema):
    detail: Any


ERRORS = {
    400: Detail,
    401: Detail,
    403: Detail,
    404: Detail,
    422: ValidationDetail,
    429: Detail,
}


class CustomerOut(Schema):
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


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _id(value: Any) -> str | None:
    return str(value) if value else None


def customer_out(customer: Customer) -> dict[str, Any]:
    return {
        "billing_contact_id": _id(customer.billing_contact_id),
        "billing_network_type": customer.billing_network_type,
        "billing_ref": customer.billing_ref,
        "can_configure_wordpress": customer.can_configure_wordpress,
        "can_reset_passwords": customer.can_reset_passwords,
        "can_upload_vcl": customer.can_upload_vcl,
        "force_2fa": customer.force_2fa,
        "force_sso": customer.force_sso,
        "has_account_panel": customer.has_account_panel,
        "has_improved_events": customer.has_improved_events,
        "has_improved_ssl_config": customer.has_improved_ssl_config,
        "has_openstack_logging": customer.has_openstack_logging,
        "has_pci": customer.has_pci,
        "has_pci_passwords": customer.has_pci_passwords,
        "ip_whitelist": customer.ip_whitelist,
        "legal_contact_id": _id(customer.legal_contact_id),
        "name": customer.name,
        # The seed types owner_id as a string: "" until a customer admin accepts.
        "owner_id": _id(customer.owner_id) or "",
        "phone_number": customer.phone_number,
        "postal_address": customer.postal_address,
        "pricing_plan": customer.plan.name,
        "pricing_plan_id": str(customer.plan_id),
        "security_contact_id": _id(customer.security_contact_id),
        "technical_contact_id": _id(customer.technical_contact_id),
        "created_at": customer.created_at.isoformat(),
        "deleted_at": iso(customer.deleted_at),
        "id": str(customer.pk),
        "updated_at": customer.updated_at.isoformat(),
    }


def customer_list_item(customer: Customer) -> dict[str, Any]:
    return {
        **customer_out(customer),
        "slug": customer.slug,
        "external_id": customer.external_id,
        "status": customer.status,
        "version": customer.version,
    }


class StatusOk(Schema):
    status: str
