"""Who is calling: API tokens (Bearer or Fastly-Key), where they may be used from, and refusals."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.errors import HttpError
from ninja.security import APIKeyHeader, HttpBearer

from audit.trail.actions import Action
from audit.trail.services import Outcome, record
from billing.services import QuotaExceeded, announce_exceeded, consume, consume_pool
from customers.identity.models import ApiToken
from customers.platform.net import client_ip, ip_allowed
from customers.platform.requests import AuthedRequest


def _admit(request: HttpRequest, token: ApiToken | None) -> ApiToken | None:
    """A live token, and whether it may be used from here, now."""
    if token is None:
        return None
    customer = token.customer
    if customer is not None:
        if customer.is_closed:
            deny(
                request,
                token,
                f"{customer.name} is {customer.get_status_display().lower()}: "
                f"its API keys are refused until it is {customer.reopened_by}.",
            )
        if not ip_allowed(client_ip(request), customer.ip_whitelist):
            deny(
                request,
                token,
                f"{customer.name} only allows API access from listed "
                f"addresses, and {client_ip(request)} is not one of them.",
            )
    spend_request(customer, token.organization_id)
    return token


def spend_request(customer: Any, organization_id: Any) -> None:
    """Count one request against the requests-per-minute limit, or raise QuotaExceeded. A
    customer token spends its customer's quota (and the pooled cap, when one is set); an
    organization token spends the organization's pooled cap for that dimension, when one is
    set. Ingestion's hot path (audit/activity/hot_path.py) calls it for a body the API refused."""
    consumption = (
        consume(customer, "api_requests_per_minute")
        if customer is not None
        else consume_pool(organization_id, "api_requests_per_minute")
    )
    if not consumption.allowed:
        if customer is not None:
            announce_exceeded(customer, consumption)  # quota.exceeded, once per window
        raise QuotaExceeded(consumption)


def deny(request: HttpRequest, token: ApiToken, message: str) -> None:
    """Refuse with 403, audited as denied (as the portal and the console do)."""
    record(
        action=Action.API_DENIED,
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


def organization_token(request: AuthedRequest) -> ApiToken:
    token: ApiToken = request.auth
    if token.customer_id:
        deny(
            request,
            token,
            "This needs an organization API key (Settings → API keys); a "
            "customer's API key only sees its own customer.",
        )
    return token
