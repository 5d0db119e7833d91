"""Reading a PUT body (JSON or form-encoded) into the changes a service applies."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from django.core.exceptions import ValidationError
from django.http import QueryDict
from ninja import Schema
from ninja.errors import HttpError
from pydantic import ConfigDict
from pydantic import ValidationError as PydanticValidationError

from billing.selectors import plans_of
from customers.api.schemas import CustomerOut, customer_out
from customers.api.types import text
from customers.people.models import CustomerUser
from customers.people.services.seats import PORTAL_FIELDS
from customers.platform.requests import AuthedRequest
from customers.records.api.lookup import uuid_or_none
from customers.records.models import Customer


class CustomerUpdate(Schema):
    """Every field is optional; only those sent change. Form-encoded bodies take booleans as
    true/false or 1/0."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, text(200, min_length=1, one_line=True)] | None = None
    billing_contact_id: Annotated[str, text(64)] | None = None
    legal_contact_id: Annotated[str, text(64)] | None = None
    security_contact_id: Annotated[str, text(64)] | None = None
    technical_contact_id: Annotated[str, text(64)] | None = None
    billing_network_type: Literal["public", "private"] | None = None
    billing_ref: Annotated[str, text(200, one_line=True)] | None = None
    phone_number: Annotated[str, text(40, one_line=True)] | None = None
    postal_address: Annotated[str, text(2000)] | None = None
    force_2fa: bool | None = None
    force_sso: bool | None = None
    ip_whitelist: Annotated[str, text(4000)] | None = None
    has_account_panel: bool | None = None
    has_improved_events: bool | None = None
    has_openstack_logging: bool | None = None
    has_pci: bool | None = None
    pricing_plan_id: Annotated[str, text(64)] | None = None


def body_of(request: AuthedRequest) -> dict[str, Any]:
    content_type = request.content_type or ""
    if not request.body:
        return {}
    if content_type == "application/x-www-form-urlencoded":
        form = QueryDict(request.body, encoding=request.encoding or "utf-8")
        return {key: form.get(key) for key in form}
    if content_type not in ("application/json", ""):
        raise HttpError(415, "Send application/json or application/x-www-form-urlencoded.")
    data = _json(request.body)
    if not isinstance(data, dict):
        raise HttpError(422, "The body must be a JSON object of fields to change.")
    return data


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise HttpError(400, "The body is not valid JSON.") from None
    except RecursionError:
        raise HttpError(400, TOO_DEEP) from None


TOO_DEEP = "The body is nested too deeply: send a flat JSON object of fields."


# Form-encoded bodies carry booleans as text.
FORM_BOOLEANS = {"true": True, "1": True, "false": False, "0": False}


def _boolean(value: Any, form: bool) -> bool:
    if isinstance(value, bool):
        return value
    if form and isinstance(value, str) and value.lower() in FORM_BOOLEANS:
        return FORM_BOOLEANS[value.lower()]
    raise ValueError("must be true or false")


def _published(spec: dict[str, Any]) -> dict[str, Any]:
    """A property of the published schema without its "or null" alternative."""
    options = [o for o in spec.get("anyOf", [spec]) if o.get("type") != "null"]
    return options[0] if options else spec


_UPDATE_SCHEMA = CustomerUpdate.model_json_schema()
# Every rule below is read from the schema above (the published definition), the seed's shape
# (CustomerOut) and the portal's field list: none is written twice.
PROPERTIES = {name: _published(spec) for name, spec in _UPDATE_SCHEMA["properties"].items()}
READ_ONLY = set(CustomerOut.model_fields) - set(CustomerUpdate.model_fields)
BOOLEAN_FIELDS = {name for name, spec in PROPERTIES.items() if spec.get("type") == "boolean"}
CONTACT_FIELDS = {
    name: name.removesuffix("_id") for name in PROPERTIES if name.endswith("_contact_id")
}
NETWORK_TYPES = PROPERTIES["billing_network_type"]["enum"]
NULLABLE = {*CONTACT_FIELDS, "pricing_plan_id"}  # null: no contact; a plan id is looked up
CUSTOMER_TOKEN_FIELDS = {
    f"{name}_id" if name.endswith("_contact") else name for name in PORTAL_FIELDS
}


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


def changes_from(
    request: AuthedRequest, customer: Customer, data: dict[str, Any]
) -> dict[str, Any]:
    """Turn a PUT body into service changes: read-only fields may only be sent back unchanged,
    a customer token may send only the portal's fields, and the rest is validated by the
    CustomerUpdate schema alone (its errors translated into a message per field)."""
    form = (request.content_type or "") == "application/x-www-form-urlencoded"
    allowed = CUSTOMER_TOKEN_FIELDS if request.auth.customer_id else None
    current = customer_out(customer)
    errors: dict[str, str] = {}
    sent: dict[str, Any] = {}
    for key, value in data.items():
        refusal = _not_writable(key, value, current, form, allowed)
        if refusal:
            errors[key] = refusal
        elif key not in READ_ONLY:
            sent[key] = _from_form(key, value) if form else value
    update = _validated(sent, errors)
    if errors:
        _refuse(errors)
    return _resolved(update, customer)


def _not_writable(
    key: str, value: Any, current: dict[str, Any], form: bool, allowed: set[str] | None
) -> str:
    """Why this field may not be sent, or "": a read-only field may only come back unchanged,
    and a customer token sends only the portal's fields."""
    if key in READ_ONLY:
        return "" if _same_value(value, current.get(key), form) else READ_ONLY_SENT
    if allowed is not None and key not in allowed and key in PROPERTIES:
        return "cannot be changed with a customer's API key"
    return ""


READ_ONLY_SENT = "is read-only and cannot be changed"


def _from_form(key: str, value: Any) -> Any:
    """Form-encoded values are strings; booleans come as true/false or 1/0."""
    if key in BOOLEAN_FIELDS:
        try:
            return _boolean(value, form=True)
        except ValueError:
            return value  # the schema refuses it, naming the field
    return value


def _validated(sent: dict[str, Any], errors: dict[str, str]) -> dict[str, Any]:
    """The sent fields as the schema reads them; each refusal lands in ``errors``."""
    try:
        update = CustomerUpdate.model_validate(sent, strict=True).model_dump(exclude_unset=True)
    except PydanticValidationError as error:
        for problem in error.errors():
            key = str(problem["loc"][0]) if problem["loc"] else "body"
            errors.setdefault(key, _message(problem, sent.get(key)))
        return {}
    # Every field is optional in the schema (null = "not sent" in its published form); a null
    # that is sent clears a contact, and is refused for a field that cannot be empty.
    for key in [k for k, v in update.items() if v is None and k not in NULLABLE]:
        errors[key] = "must be true or false" if key in BOOLEAN_FIELDS else "must be a string"
    return update


def _message(problem: Mapping[str, Any], value: Any) -> str:
    """A schema error as the sentence a person reads after the field's name."""
    kind = problem["type"]
    if kind == "extra_forbidden":
        return "is not a field of Customer"
    if kind.startswith("bool"):
        return "must be true or false"
    if kind == "literal_error":
        return f"must be {' or '.join(f'“{v}”' for v in NETWORK_TYPES)}"
    if kind == "string_too_long":
        return f"must be at most {problem['ctx']['max_length']} characters"
    if not isinstance(value, str):
        return "must be a string"
    if "\x00" in value or kind == "value_error":
        return "may not contain NUL characters or lone surrogates"
    if not value.strip():
        return "may not be empty"
    return "must be a single line, without control characters"


def _resolved(update: dict[str, Any], customer: Customer) -> dict[str, Any]:
    """Ids become the rows they name (a 404 naming the field when there is none)."""
    errors: dict[str, str] = {}
    changes: dict[str, Any] = {}
    for key, value in update.items():
        try:
            if key in CONTACT_FIELDS:
                changes[CONTACT_FIELDS[key]] = _contact(customer, value)
            elif key == "pricing_plan_id":
                changes["plan"] = _plan(customer, value)
            else:
                changes[key] = value
        except ValueError as error:
            errors[key] = str(error)
    if errors:
        _refuse(errors)
    return changes


def _refuse(errors: dict[str, str]) -> None:
    message = "; ".join(f"{k} {v}" for k, v in sorted(errors.items()))
    # Naming a user or plan that is not there is "not found"; anything else is invalid.
    missing = all(v.startswith(("is not the id", "is not one of")) for v in errors.values())
    raise HttpError(404 if missing else 422, message)


def _plan(customer: Customer, value: Any) -> Any:
    key = uuid_or_none(value)
    plan = key and plans_of(customer.organization_id).filter(pk=key).first()
    if not plan:
        raise ValueError("is not one of your organization's plans")
    return plan


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
