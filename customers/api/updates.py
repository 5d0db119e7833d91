"""Reading a PUT body (JSON or form-encoded) into the changes a service applies."""

from __future__ import annotations

import json
from typing import Any, Literal

from django.core.exceptions import ValidationError
from django.http import HttpRequest, QueryDict
from ninja import Schema
from ninja.errors import HttpError
from pydantic import ConfigDict

from customers.api.lookup import uuid_or_none
from customers.api.schemas import customer_out
from customers.api.types import (
    is_clean_text,
    text,
)
from customers.models import (
    CONTROL_CHARACTERS,
    Customer,
    CustomerUser,
)

# PUT: which fields a client may send, and how to read them.
BOOLEAN_FIELDS = {
    "force_2fa",
    "force_sso",
    "has_account_panel",
    "has_improved_events",
    "has_openstack_logging",
    "has_pci",
}


TEXT_FIELDS = {
    "name": 200,
    "billing_ref": 200,
    "phone_number": 40,
    "postal_address": 2000,
    "ip_whitelist": 4000,
}


ONE_LINE_FIELDS = {"name", "billing_ref", "phone_number"}


CONTACT_FIELDS = {
    "billing_contact_id": "billing_contact",
    "legal_contact_id": "legal_contact",
    "security_contact_id": "security_contact",
    "technical_contact_id": "technical_contact",
}


READ_ONLY = {
    "id",
    "created_at",
    "updated_at",
    "deleted_at",
    "owner_id",
    "pricing_plan",
    "can_configure_wordpress",
    "can_reset_passwords",
    "can_upload_vcl",
    "has_improved_ssl_config",
    "has_pci_passwords",
}


CUSTOMER_TOKEN_FIELDS = {
    "force_2fa",
    "force_sso",
    "ip_whitelist",
    "billing_ref",
    "phone_number",
    "postal_address",
    *CONTACT_FIELDS,
}


class CustomerUpdate(Schema):
    """Every field is optional; only those sent change. Form-encoded bodies take booleans as
    true/false or 1/0."""

    model_config = ConfigDict(extra="forbid")

    name: text(200, min_length=1, one_line=True) | None = None
    billing_contact_id: text(64) | None = None
    legal_contact_id: text(64) | None = None
    security_contact_id: text(64) | None = None
    technical_contact_id: text(64) | None = None
    billing_network_type: Literal["public", "private"] | None = None
    billing_ref: text(200, one_line=True) | None = None
    phone_number: text(40, one_line=True) | None = None
    postal_address: text(2000) | None = None
    force_2fa: bool | None = None
    force_sso: bool | None = None
    ip_whitelist: text(4000) | None = None
    has_account_panel: bool | None = None
    has_improved_events: bool | None = None
    has_openstack_logging: bool | None = None
    has_pci: bool | None = None
    pricing_plan_id: text(64) | None = None


def body_of(request: HttpRequest) -> dict[str, Any]:
    content_type = request.content_type or ""
    if content_type == "application/x-www-form-urlencoded":
        form = QueryDict(request.body, encoding=request.encoding or "utf-8")
        return {key: form.get(key) for key in form}
    if content_type in ("application/json", "") and request.body:
        try:
            data = json.loads(request.body)
        except (ValueError, UnicodeDecodeError):
            raise HttpError(400, "The body is not valid JSON.") from None
        except RecursionError:
            raise HttpError(400, TOO_DEEP) from None
        if not isinstance(data, dict):
            raise HttpError(422, "The body must be a JSON object of fields to change.")
        return data
    if not request.body:
        return {}
    raise HttpError(415, "Send application/json or application/x-www-form-urlencoded.")


TOO_DEEP = "The body is nested too deeply: send a flat JSON object of fields."


def _boolean(value: Any, form: bool) -> bool:
    if isinstance(value, bool):
        return value
    if form and isinstance(value, str) and value.lower() in ("true", "1", "false", "0"):
        return value.lower() in ("true", "1")
    raise ValueError("must be true or false")


def _same_value(sent: Any, current: Any, form: bool) -> bool:
    """Whether a read-only field was sent back unchanged, compared as parsed values: a
    form-encoded "false" is the boolean False, an empty field the absent timestamp."""
    if isinstance(current, bool):
        try:
            return _boolean(sent, form) == current
        except ValueError:
            return False
    if form and sent == "" and current in (None, ""):
        return True
    return sent == current


def changes_from(request: HttpRequest, customer: Customer, data: dict[str, Any]) -> dict[str, Any]:
    """Turn a PUT body into service changes, or 422 with a message per field."""
    from billing.models import Plan

    form = (request.content_type or "") == "application/x-www-form-urlencoded"
    current = customer_out(customer)
    errors: dict[str, str] = {}
    changes: dict[str, Any] = {}
    allowed = CUSTOMER_TOKEN_FIELDS if request.auth.customer_id else None
    for key, value in data.items():
        if key in READ_ONLY:
            if not _same_value(value, current.get(key), form):
                errors[key] = "is read-only and cannot be changed"
            continue
        if allowed is not None and key not in allowed and key in CustomerUpdate.model_fields:
            errors[key] = "cannot be changed with a customer token"
            continue
        try:
            if key in BOOLEAN_FIELDS:
                changes[key] = _boolean(value, form)
            elif key in TEXT_FIELDS:
                if not isinstance(value, str):
                    raise ValueError("must be a string")
                if not is_clean_text(value):
                    raise ValueError("may not contain NUL characters or lone surrogates")
                if key in ONE_LINE_FIELDS and CONTROL_CHARACTERS.search(value):
                    raise ValueError("must be a single line, without control characters")
                if len(value) > TEXT_FIELDS[key]:
                    raise ValueError(f"must be at most {TEXT_FIELDS[key]} characters")
                if key == "name" and not value.strip():
                    raise ValueError("may not be empty")
                changes[key] = value
            elif key == "billing_network_type":
                if value not in ("public", "private"):
                    raise ValueError("must be “public” or “private”")
                changes[key] = value
            elif key in CONTACT_FIELDS:
                changes[CONTACT_FIELDS[key]] = _contact(customer, value)
            elif key == "pricing_plan_id":
                plan = (
                    uuid_or_none(value)
                    and Plan.objects.for_organization(customer.organization_id)
                    .filter(pk=uuid_or_none(value))
                    .first()
                )
                if not plan:
                    raise ValueError("is not one of your organization's plans")
                changes["plan"] = plan
            else:
                errors[key] = "is not a field of Customer"
        except ValueError as error:
            errors[key] = str(error)
    if errors:
        message = "; ".join(f"{k} {v}" for k, v in sorted(errors.items()))
        # Naming a user or plan that is not there is "not found"; anything else is invalid.
        missing = all(v.startswith(("is not the id", "is not one of")) for v in errors.values())
        raise HttpError(404 if missing else 422, message)
    return changes


def field_messages(error: ValidationError) -> str:
    """A model validation error as one line that names each field."""
    if not hasattr(error, "error_dict"):
        return "; ".join(error.messages)
    return "; ".join(
        f"{field}: {' '.join(messages)}" if field != "__all__" else " ".join(messages)
        for field, messages in error.message_dict.items()
    )


def _contact(customer: Customer, value: Any) -> CustomerUser | None:
    if value in (None, ""):
        return None
    seat = (
        uuid_or_none(value)
        and CustomerUser.objects.for_customer(customer).filter(pk=uuid_or_none(value)).first()
    )
    if not seat:
        raise ValueError("is not the id of one of this customer's users")
    return seat


_UPDATE_SCHEMA = CustomerUpdate.model_json_schema()


PUT_BODY = {
    "requestBody": {
        "content": {
            "application/json": {"schema": _UPDATE_SCHEMA},
            "application/x-www-form-urlencoded": {"schema": _UPDATE_SCHEMA},
        }
    },
    "parameters": [
        {
            "in": "header",
            "name": "If-Match",
            "required": False,
            "schema": {"type": "string"},
            "description": "The ETag from GET: the update is refused with 412 if the customer "
            "changed since.",
        }
    ],
}
