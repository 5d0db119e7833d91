"""The REST API's authentication and the Customer resource in the seed's shape (SPEC §6)."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Literal

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import HttpRequest, HttpResponse, QueryDict
from ninja import Field, Query, Router, Schema, Status
from ninja.errors import HttpError
from ninja.security import APIKeyHeader, HttpBearer
from pydantic import ConfigDict, StrictInt

from config.api_types import (
    INT_CURSOR,
    UUID_CURSOR,
    Email,
    IsoDateTime,
    cursor_time,
    is_clean_text,
    text,
    time_cursor,
)
from customers.models import (
    CONTROL_CHARACTERS,
    ApiToken,
    Connection,
    Customer,
    CustomerStatus,
    CustomerUser,
    Invitation,
)
from customers.net import client_ip, ip_allowed

# --- authentication ---------------------------------------------------------------------------


class RateLimited(Exception):
    def __init__(self, consumption: Any) -> None:
        super().__init__(consumption.as_error()["detail"])
        self.consumption = consumption


def _admit(request: HttpRequest, token: ApiToken | None) -> ApiToken | None:
    """A live token, and whether it may be used from here, now."""
    if token is None:
        return None
    customer = token.customer
    if customer is not None:
        if customer.status in (CustomerStatus.SUSPENDED, CustomerStatus.DELETED):
            deny(
                request,
                token,
                f"{customer.name} is {customer.get_status_display().lower()}: "
                "its API tokens are refused until it is reactivated.",
            )
        if not ip_allowed(client_ip(request), customer.ip_whitelist):
            deny(
                request,
                token,
                f"{customer.name} only allows API access from listed "
                f"addresses, and {client_ip(request)} is not one of them.",
            )
    from billing.services import consume, consume_pool

    # A customer token spends its customer's requests-per-minute quota; an organization token
    # spends the organization's pooled cap for that dimension, when one is set.
    consumption = (
        consume(customer, "api_requests_per_minute")
        if customer is not None
        else consume_pool(token.organization_id, "api_requests_per_minute")
    )
    if not consumption.allowed:
        raise RateLimited(consumption)
    return token


def deny(request: HttpRequest, token: ApiToken, message: str) -> None:
    """Refuse with 403, audited as denied (as the portal and the console do)."""
    from audit.services import Outcome, record

    record(
        action="api.denied",
        organization=token.organization,
        actor=token,
        resource=token.customer,
        resource_type="" if token.customer_id else "url",
        resource_id="" if token.customer_id else request.path[:64],
        resource_label=f"{request.method} {request.path}"[:254],
        outcome=Outcome.DENIED,
        message=message,
        request=request,
    )
    raise HttpError(403, message)


class BearerToken(HttpBearer):
    """``Authorization: Bearer <token>``."""

    def authenticate(self, request: HttpRequest, token: str) -> ApiToken | None:
        return _admit(request, ApiToken.authenticate(token))


class FastlyKey(APIKeyHeader):
    """``Fastly-Key: <token>``, so clients written for the seed's API work unchanged."""

    param_name = "Fastly-Key"

    def authenticate(self, request: HttpRequest, key: str | None) -> ApiToken | None:
        return _admit(request, ApiToken.authenticate(key or ""))


token_auth = [BearerToken(), FastlyKey()]

router = Router(tags=["Organization"])
customers_router = Router(tags=["Customer"])


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
    "/organization", response={200: OrganizationOut, **ERRORS}, summary="The token's organization"
)
def organization_detail(request: HttpRequest) -> OrganizationOut:
    organization = request.auth.organization
    return OrganizationOut(
        id=str(organization.id),
        name=organization.name,
        slug=organization.slug,
        created_at=organization.created_at.isoformat(),
    )


@router.get("/token", response={200: TokenOut, **ERRORS}, summary="The token making this request")
def token_detail(request: HttpRequest) -> TokenOut:
    token = request.auth
    return TokenOut(
        name=token.name,
        prefix=token.prefix,
        organization_id=str(token.organization_id),
        customer_id=str(token.customer_id) if token.customer_id else None,
    )


def _organization_token(request: HttpRequest) -> ApiToken:
    token = request.auth
    if token.customer_id:
        deny(
            request,
            token,
            "This needs an organization token (Settings → API keys); a "
            "customer token only sees its own customer.",
        )
    return token


def customer_in_scope(request: HttpRequest, customer_id: str, *, include_deleted: bool = False):
    """The customer ``customer_id`` names, if the token may see it; else a 404 that says what to
    use instead when the caller passed a slug or external ID (the seed's API answers a bare
    404 there)."""
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
    named = (
        scoped.filter(Q(slug=customer_id) | Q(external_id=customer_id)).first()
        if is_clean_text(customer_id) and len(customer_id) <= 100
        else None
    )
    if named is not None:
        kind = "slug" if named.slug == customer_id else "external ID"
        raise HttpError(
            404,
            f"“{customer_id}” is the {kind} of customer {named.name}; the API identifies "
            f"customers by UUID: use /customer/{named.pk}.",
        )
    raise HttpError(404, "No customer with this ID is visible to your token.")


# --- the seed's Customer ----------------------------------------------------------------------


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


def _iso(value: datetime | None) -> str | None:
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
        "deleted_at": _iso(customer.deleted_at),
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


def etag(customer: Customer) -> str:
    return f'"{customer.pk}-v{customer.version}"'


def _with_etag(request: HttpRequest, customer: Customer, status: int = 200) -> HttpResponse:
    from config.api import api

    response = api.create_response(request, customer_out(customer), status=status)
    response["ETag"] = etag(customer)
    return response


@customers_router.get(
    "/customer/{customer_id}",
    response={200: CustomerOut, **ERRORS},
    summary="Get a customer",
    description="The customer's record in the seed's shape. The `ETag` header lets a later "
    "`PUT` refuse to overwrite someone else's change (`If-Match`).",
)
def customer_get(request: HttpRequest, customer_id: str) -> HttpResponse:
    return _with_etag(request, customer_in_scope(request, customer_id))


@customers_router.get(
    "/current_customer",
    response={200: CustomerOut, **ERRORS},
    summary="Get the logged in customer",
    description="The customer of a customer token (created in the customer portal). "
    "Organization tokens have no customer of their own: they get 403.",
)
def current_customer(request: HttpRequest) -> HttpResponse:
    token = request.auth
    if not token.customer_id:
        raise HttpError(
            403,
            "/current_customer answers for a customer token: this is an "
            "organization token, which sees many customers. Use "
            "/customer/{customer_id} or /customers instead.",
        )
    return _with_etag(request, customer_in_scope(request, str(token.customer_id)))


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


def _body(request: HttpRequest) -> dict[str, Any]:
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


def _changes(request: HttpRequest, customer: Customer, data: dict[str, Any]) -> dict[str, Any]:
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
                    _uuid_or_none(value)
                    and Plan.objects.for_organization(customer.organization_id)
                    .filter(pk=_uuid_or_none(value))
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


def _uuid_or_none(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def _contact(customer: Customer, value: Any) -> CustomerUser | None:
    if value in (None, ""):
        return None
    seat = (
        _uuid_or_none(value)
        and CustomerUser.objects.for_customer(customer).filter(pk=_uuid_or_none(value)).first()
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


@customers_router.put(
    "/customer/{customer_id}",
    response={200: CustomerOut, 400: Detail, 409: Detail, 412: Detail, 415: Detail, **ERRORS},
    summary="Update a customer",
    openapi_extra=PUT_BODY,
    description="Send the fields to change, as JSON or form-encoded. Read-only fields are "
    "refused with 422 if they differ from the current value.",
)
def customer_put(request: HttpRequest, customer_id: str) -> HttpResponse:
    from customers.services import ServiceError, StaleEdit, customer_update, portal_settings_update

    customer = customer_in_scope(request, customer_id)
    changes = _changes(request, customer, _body(request))
    expected = None
    if_match = request.headers.get("If-Match")
    if if_match:
        if if_match.strip() != etag(customer) and if_match.strip() != "*":
            raise HttpError(
                412,
                "The customer changed since you read it (ETag mismatch): "
                "GET it again, then retry your update.",
            )
        expected = customer.version
    try:
        if request.auth.customer_id:
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
    except StaleEdit:
        raise HttpError(
            412, "The customer changed since you read it: GET it again, then retry your update."
        ) from None
    except ValidationError as error:
        raise HttpError(422, field_messages(error)) from None
    except ServiceError as error:
        raise HttpError(409, str(error)) from None
    return _with_etag(request, updated)


class StatusOk(Schema):
    status: str


@customers_router.delete(
    "/customer/{customer_id}",
    response={200: StatusOk, 409: Detail, **ERRORS},
    summary="Delete a customer",
    description="A soft delete: the customer is hidden (404) and can be restored with "
    "POST /customer/{customer_id}/restore within the retention window.",
)
def customer_delete_api(request: HttpRequest, customer_id: str) -> dict[str, str]:
    from customers.services import ServiceError, customer_delete

    token = _organization_token(request)
    customer = customer_in_scope(request, customer_id)
    try:
        customer_delete(customer=customer, actor=token)
    except ServiceError as error:
        raise HttpError(409, str(error)) from None
    return {"status": "ok"}


def _lifecycle(request: HttpRequest, customer_id: str, service: Any, *, deleted: bool = False):
    from customers.services import ServiceError

    token = _organization_token(request)
    customer = customer_in_scope(request, customer_id, include_deleted=deleted)
    try:
        updated = service(customer=customer, actor=token)
    except ServiceError as error:
        raise HttpError(409, str(error)) from None
    return customer_list_item(updated)


LIFECYCLE_RESPONSES = {200: CustomerListItem, 409: Detail, **ERRORS}


@customers_router.post(
    "/customer/{customer_id}/suspend", response=LIFECYCLE_RESPONSES, summary="Suspend a customer"
)
def customer_suspend_api(request: HttpRequest, customer_id: str):
    from customers.services import customer_suspend

    return _lifecycle(request, customer_id, customer_suspend)


@customers_router.post(
    "/customer/{customer_id}/reactivate",
    response=LIFECYCLE_RESPONSES,
    summary="Reactivate a suspended customer",
)
def customer_reactivate_api(request: HttpRequest, customer_id: str):
    from customers.services import customer_reactivate

    return _lifecycle(request, customer_id, customer_reactivate)


@customers_router.post(
    "/customer/{customer_id}/restore",
    response=LIFECYCLE_RESPONSES,
    summary="Restore a deleted customer",
)
def customer_restore_api(request: HttpRequest, customer_id: str):
    from customers.services import customer_restore

    return _lifecycle(request, customer_id, customer_restore, deleted=True)


# --- users ------------------------------------------------------------------------------------


class CustomerUserOut(Schema):
    id: str
    login: str
    name: str
    role: Literal["user", "billing", "engineer", "superuser"]
    roles: list[str]
    locked: bool
    limit_services: bool
    require_new_password: bool
    two_factor_auth_enabled: bool
    two_factor_setup_required: bool
    email_hash: str
    customer_id: str
    created_at: str
    updated_at: str
    deleted_at: str | None


@customers_router.get(
    "/customer/{customer_id}/users",
    response={200: list[CustomerUserOut], **ERRORS},
    summary="List users",
)
def customer_users(request: HttpRequest, customer_id: str) -> list[dict[str, Any]]:
    customer = customer_in_scope(request, customer_id)
    seats = CustomerUser.objects.for_customer(customer).select_related("user")
    return [
        {
            "id": str(seat.pk),
            "login": seat.user.email,
            "name": seat.user.name,
            "role": seat.role,
            "roles": [seat.role],
            "locked": seat.locked,
            "limit_services": seat.limit_services,
            "require_new_password": seat.require_new_password,
            "two_factor_auth_enabled": seat.two_factor_enabled,
            "two_factor_setup_required": customer.force_2fa and not seat.two_factor_enabled,
            "email_hash": hashlib.sha256(seat.user.email.lower().encode()).hexdigest(),
            "customer_id": str(customer.pk),
            "created_at": seat.created_at.isoformat(),
            "updated_at": seat.updated_at.isoformat(),
            "deleted_at": None,
        }
        for seat in seats
    ]


# --- beyond the seed: list and create ----------------------------------------------------------


def encode_cursor(moment: datetime, key: Any) -> str:
    """ "<microseconds since the epoch>~<key>": the keyset of the last row of a page."""
    return f"{time_cursor(moment)}~{key.hex if isinstance(key, uuid.UUID) else key}"


def cursor_page(
    queryset: Any, cursor: str | None, limit: int, key: Callable[[str], Any]
) -> tuple[list[Any], str | None]:
    """One page, newest first by (created_at, pk), and the cursor of the next one."""
    if cursor:
        moment, raw = decode_cursor(cursor)
        # The redundant bound lets PostgreSQL use it as an index condition.
        queryset = queryset.filter(created_at__lte=moment).filter(
            Q(created_at__lt=moment) | Q(created_at=moment, pk__lt=key(raw))
        )
    rows = list(queryset.order_by("-created_at", "-pk")[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, encode_cursor(rows[-1].created_at, rows[-1].pk) if more else None


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    micros, key = cursor.split("~", 1)  # the schema's pattern guarantees the shape
    return cursor_time(micros), key


class CustomerPage(Schema):
    data: list[CustomerListItem]
    next_cursor: str | None


class CustomerFilters(Schema):
    status: Literal["pending_admin_activation", "active", "suspended", "deleted"] | None = None
    plan: text(80, description="Plan id or name") | None = None
    slug: text(80) | None = None
    external_id: text(100) | None = None
    created_after: IsoDateTime | None = None
    created_before: IsoDateTime | None = None
    cursor: UUID_CURSOR | None = None
    limit: int = Field(50, ge=1, le=200)


@customers_router.get(
    "/customers",
    response={200: CustomerPage, **ERRORS},
    summary="List customers (cursor pagination, newest first)",
)
def customers_list(request: HttpRequest, filters: Query[CustomerFilters]) -> dict[str, Any]:
    token = _organization_token(request)
    customers = Customer.objects.for_organization(token.organization_id).select_related("plan")
    if filters.status:
        customers = customers.filter(status=filters.status)
    else:
        customers = customers.exclude(status=CustomerStatus.DELETED)
    if filters.plan:
        plan_id = _uuid_or_none(filters.plan)
        customers = (
            customers.filter(plan_id=plan_id)
            if plan_id
            else customers.filter(plan__name__iexact=filters.plan)
        )
    if filters.slug:
        customers = customers.filter(slug=filters.slug)
    if filters.external_id:
        customers = customers.filter(external_id=filters.external_id)
    if filters.created_after:
        customers = customers.filter(created_at__gte=filters.created_after)
    if filters.created_before:
        customers = customers.filter(created_at__lt=filters.created_before)
    rows, next_cursor = cursor_page(customers, filters.cursor, filters.limit, uuid.UUID)
    return {"data": [customer_list_item(c) for c in rows], "next_cursor": next_cursor}


class CustomerCreate(Schema):
    name: text(200, min_length=1, one_line=True)
    slug: Annotated[str, Field(max_length=80, pattern=r"^[-a-zA-Z0-9_]*$")] | None = Field(
        None, description="Default: made from the name (unique in your organization)"
    )
    external_id: text(100, one_line=True) | None = None
    pricing_plan_id: text(64) | None = Field(None, description="Default: the first plan (Free)")
    admin_email: Email | None = Field(None, description="Invites this person as the admin")


IDEMPOTENCY_HEADER = {
    "parameters": [
        {
            "in": "header",
            "name": "Idempotency-Key",
            "required": False,
            "schema": {"type": "string", "maxLength": 200},
            "description": "Retrying with the same key within 24 hours replays the first "
            "response; the same key with a different body is refused (422).",
        }
    ],
}


@customers_router.post(
    "/customers",
    response={201: CustomerListItem, 409: Detail, **ERRORS},
    summary="Create a customer (optionally inviting its admin)",
    openapi_extra=IDEMPOTENCY_HEADER,
)
def customers_create(request: HttpRequest, payload: CustomerCreate) -> HttpResponse:
    from billing.models import Plan
    from config.api import api
    from customers.idempotency import replay_or_run
    from customers.services import ServiceError, customer_create

    token = _organization_token(request)

    def run() -> tuple[int, dict[str, Any]]:
        plans = Plan.objects.for_organization(token.organization_id)
        plan = (
            plans.filter(pk=_uuid_or_none(payload.pricing_plan_id)).first()
            if (payload.pricing_plan_id)
            else plans.first()
        )
        if plan is None:
            raise HttpError(404, "pricing_plan_id is not one of your organization's plans")
        try:
            customer = customer_create(
                organization=token.organization,
                actor=token,
                name=payload.name,
                slug=payload.slug or "",
                external_id=payload.external_id or "",
                plan=plan,
                admin_email=payload.admin_email or "",
            )
        except ValidationError as error:
            # A slug or external ID another customer already has is a conflict, not bad input.
            taken = all("Another customer" in " ".join(m) for m in error.message_dict.values())
            raise HttpError(409 if taken else 422, field_messages(error)) from None
        except ServiceError as error:
            raise HttpError(422, str(error)) from None
        customer = (
            Customer.objects.for_organization(token.organization_id)
            .select_related("plan")
            .get(pk=customer.pk)
        )
        return 201, customer_list_item(customer)

    status, body = replay_or_run(request, token, payload.model_dump(), run)
    return api.create_response(request, body, status=status)


# --- invitations, limits, connections ------------------------------------------------------------


class InvitationOut(Schema):
    id: str
    email: str
    role: str
    status: str
    is_admin_invite: bool
    created_at: str
    expires_at: str
    accepted_at: str | None


def invitation_out(invitation: Invitation) -> dict[str, Any]:
    return {
        "id": str(invitation.pk),
        "email": invitation.email,
        "role": invitation.role,
        "status": invitation.display_status,
        "is_admin_invite": invitation.is_admin_invite,
        "created_at": invitation.created_at.isoformat(),
        "expires_at": invitation.expires_at.isoformat(),
        "accepted_at": _iso(invitation.accepted_at),
    }


class InvitationCreate(Schema):
    email: Email
    role: Literal["user", "billing", "engineer", "superuser"] = "user"


def _service(call: Any, **kwargs: Any) -> Any:
    from customers.services import ServiceError

    try:
        return call(**kwargs)
    except ServiceError as error:
        raise HttpError(409, str(error)) from None


@customers_router.get(
    "/customer/{customer_id}/invitations",
    response={200: list[InvitationOut], **ERRORS},
    summary="List invitations",
)
def invitations_list(request: HttpRequest, customer_id: str):
    customer = customer_in_scope(request, customer_id)
    return [invitation_out(i) for i in Invitation.objects.for_customer(customer)]


@customers_router.post(
    "/customer/{customer_id}/invitations",
    response={201: InvitationOut, 409: Detail, **ERRORS},
    summary="Invite a user by email",
)
def invitations_create(request: HttpRequest, customer_id: str, payload: InvitationCreate):
    from customers.services import invite_send

    customer = customer_in_scope(request, customer_id)
    invitation = _service(
        invite_send, customer=customer, email=payload.email, role=payload.role, actor=request.auth
    )
    return Status(201, invitation_out(invitation))


def _invitation(request: HttpRequest, customer_id: str, invitation_id: str) -> Invitation:
    customer = customer_in_scope(request, customer_id)
    invitation = (
        Invitation.objects.for_customer(customer)
        .select_related("customer")
        .filter(pk=_uuid_or_none(invitation_id))
        .first()
        if _uuid_or_none(invitation_id)
        else None
    )
    if invitation is None:
        raise HttpError(404, "No such invitation for this customer.")
    return invitation


@customers_router.post(
    "/customer/{customer_id}/invitations/{invitation_id}/resend",
    response={200: InvitationOut, 409: Detail, **ERRORS},
    summary="Resend an invitation (new link, new expiry)",
)
def invitations_resend(request: HttpRequest, customer_id: str, invitation_id: str):
    from customers.services import invite_resend

    invitation = _invitation(request, customer_id, invitation_id)
    return invitation_out(_service(invite_resend, invitation=invitation, actor=request.auth))


@customers_router.post(
    "/customer/{customer_id}/invitations/{invitation_id}/revoke",
    response={200: InvitationOut, 409: Detail, **ERRORS},
    summary="Revoke an invitation",
)
def invitations_revoke(request: HttpRequest, customer_id: str, invitation_id: str):
    from customers.services import invite_revoke

    invitation = _invitation(request, customer_id, invitation_id)
    return invitation_out(_service(invite_revoke, invitation=invitation, actor=request.auth))


class LimitOut(Schema):
    dimension: str
    label: str
    window: str | None
    limit: int | None
    plan_default: int | None
    overridden: bool
    override_reason: str | None
    override_expires_at: str | None
    used: int


class LimitSet(Schema):
    value: Annotated[StrictInt, Field(ge=0, le=2**62)] | None = Field(
        ..., description="null = unlimited"
    )
    reason: text(300, min_length=1)
    expires_at: IsoDateTime | None = None


def _limits(customer: Customer) -> list[dict[str, Any]]:
    from billing.services import usage_rows

    return [
        {
            "dimension": row.dimension.key,
            "label": row.dimension.label,
            "window": row.dimension.window,
            "limit": row.limit.value,
            "plan_default": row.limit.plan_default,
            "overridden": row.limit.is_overridden,
            "override_reason": row.limit.override.reason if row.limit.override else None,
            "override_expires_at": _iso(row.limit.override.expires_at)
            if row.limit.override
            else None,
            "used": row.used,
        }
        for row in usage_rows(customer)
    ]


def _dimension(dimension: str) -> str:
    from billing.dimensions import DIMENSIONS

    if dimension not in DIMENSIONS:
        raise HttpError(
            404, f"No quota dimension “{dimension}”: use one of {', '.join(DIMENSIONS)}."
        )
    return dimension


@customers_router.get(
    "/customer/{customer_id}/limits",
    response={200: list[LimitOut], **ERRORS},
    summary="Effective limits and current usage",
)
def limits_list(request: HttpRequest, customer_id: str):
    return _limits(customer_in_scope(request, customer_id))


@customers_router.put(
    "/customer/{customer_id}/limits/{dimension}",
    response={200: list[LimitOut], **ERRORS},
    summary="Set a customer's own limit in one dimension",
)
def limits_set(request: HttpRequest, customer_id: str, dimension: str, payload: LimitSet):
    from billing.services import LimitError, override_set

    token = _organization_token(request)
    customer = customer_in_scope(request, customer_id)
    try:
        override_set(
            customer=customer,
            dimension=_dimension(dimension),
            value=payload.value,
            reason=payload.reason,
            expires_at=payload.expires_at,
            actor=token,
        )
    except LimitError as error:
        raise HttpError(422, str(error)) from None
    return _limits(customer)


@customers_router.delete(
    "/customer/{customer_id}/limits/{dimension}",
    response={200: list[LimitOut], 409: Detail, **ERRORS},
    summary="Back to the plan's default",
)
def limits_clear(request: HttpRequest, customer_id: str, dimension: str):
    from billing.services import LimitError, override_clear

    token = _organization_token(request)
    customer = customer_in_scope(request, customer_id)
    try:
        override_clear(customer=customer, dimension=_dimension(dimension), actor=token)
    except LimitError as error:
        raise HttpError(409, str(error)) from None
    return _limits(customer)


class ConnectionOut(Schema):
    id: str
    app: str
    account_label: str
    status: str
    scopes: str
    connected_by: str
    connected_at: str
    last_used_at: str | None


class ConnectionCreate(Schema):
    app: text(60, min_length=1, one_line=True)
    account_label: text(200, min_length=1, one_line=True)
    scopes: text(500) = ""
    credential_ref: text(200, description="Where the runtime keeps it, never the secret") = ""
    connected_by: text(254) = ""


def connection_out(connection: Connection) -> dict[str, Any]:
    return {
        "id": str(connection.pk),
        "app": connection.app,
        "account_label": connection.account_label,
        "status": connection.status,
        "scopes": connection.scopes,
        "connected_by": connection.connected_by,
        "connected_at": connection.connected_at.isoformat(),
        "last_used_at": _iso(connection.last_used_at),
    }


@customers_router.get(
    "/customer/{customer_id}/connections",
    response={200: list[ConnectionOut], **ERRORS},
    summary="List connected accounts",
)
def connections_list(request: HttpRequest, customer_id: str):
    customer = customer_in_scope(request, customer_id)
    return [connection_out(c) for c in Connection.objects.for_customer(customer)]


@customers_router.post(
    "/customer/{customer_id}/connections",
    response={201: ConnectionOut, 409: Detail, **ERRORS},
    summary="Record a connected account (from the integration runtime)",
)
def connections_create(request: HttpRequest, customer_id: str, payload: ConnectionCreate):
    from customers.services import connection_create

    token = _organization_token(request)
    customer = customer_in_scope(request, customer_id)
    connection = _service(connection_create, customer=customer, actor=token, **payload.model_dump())
    return Status(201, connection_out(connection))


@customers_router.post(
    "/customer/{customer_id}/connections/{connection_id}/revoke",
    response={200: ConnectionOut, 409: Detail, **ERRORS},
    summary="Revoke a connected account",
)
def connections_revoke(request: HttpRequest, customer_id: str, connection_id: str):
    from customers.services import connection_revoke

    customer = customer_in_scope(request, customer_id)
    key = _uuid_or_none(connection_id)
    connection = (
        Connection.objects.for_customer(customer).select_related("customer").filter(pk=key).first()
        if key
        else None
    )
    if connection is None:
        raise HttpError(404, "No such connected account for this customer.")
    return connection_out(_service(connection_revoke, connection=connection, actor=request.auth))


# --- the audit log ------------------------------------------------------------------------------


class AuditEntryOut(Schema):
    id: int
    timestamp: str
    actor_type: str
    actor: str
    action: str
    resource_type: str
    resource_id: str
    resource_label: str
    outcome: str
    changes: dict[str, Any]
    message: str
    ip_address: str | None
    request_id: str


class AuditPage(Schema):
    data: list[AuditEntryOut]
    next_cursor: str | None


class AuditFilters(Schema):
    actor: text(254, description="Actor email or token label (exact)") | None = None
    action: text(64) | None = None
    resource_type: text(64) | None = None
    resource_id: text(64) | None = None
    outcome: Literal["success", "failure", "denied"] | None = None
    since: IsoDateTime | None = None
    until: IsoDateTime | None = None
    cursor: INT_CURSOR | None = None
    limit: int = Field(50, ge=1, le=200)


@customers_router.get(
    "/audit-log",
    response={200: AuditPage, **ERRORS},
    tags=["Audit"],
    summary="The organization's audit log (cursor pagination, newest first)",
)
def audit_log(request: HttpRequest, filters: Query[AuditFilters]) -> dict[str, Any]:
    from audit.models import AuditEntry

    token = _organization_token(request)
    entries = AuditEntry.objects.for_organization(token.organization_id)
    for field in ("action", "resource_type", "resource_id", "outcome"):
        if getattr(filters, field):
            entries = entries.filter(**{field: getattr(filters, field)})
    if filters.actor:
        entries = entries.filter(actor_label=filters.actor)
    if filters.since:
        entries = entries.filter(created_at__gte=filters.since)
    if filters.until:
        entries = entries.filter(created_at__lt=filters.until)
    rows, next_cursor = cursor_page(entries, filters.cursor, filters.limit, int)
    return {
        "data": [
            {
                "id": e.pk,
                "timestamp": e.created_at.isoformat(),
                "actor_type": e.actor_type,
                "actor": e.actor_label,
                "action": e.action,
                "resource_type": e.resource_type,
                "resource_id": e.resource_id,
                "resource_label": e.resource_label,
                "outcome": e.outcome,
                "changes": e.changes,
                "message": e.message,
                "ip_address": e.ip_address,
                "request_id": e.request_id,
            }
            for e in rows
        ],
        "next_cursor": next_cursor,
    }
