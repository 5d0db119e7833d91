"""The seed's Customer as plain data: the API answers with it and webhook events carry it, so
the two always agree."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from customers.records.models import Customer


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
