"""The REST API: one NinjaAPI that mounts each app's router, and the one place where errors
become status codes."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as ModelValidationError
from django.http import Http404, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from audit.activity import hot_path
from audit.api import router as audit_router
from billing.api import router as billing_router
from billing.services import QuotaExceeded
from config.api_docs import Reference
from customers.api_router import router as customers_router
from customers.identity.api.auth import token_auth
from customers.platform.errors import (
    Conflict,
    Denied,
    Invalid,
    ServiceError,
    StaleEdit,
    UniqueTaken,
)
from customers.platform.requests import AuthedRequest
from customers.records.api.updates import TOO_DEEP, field_messages


class TenantryAPI(NinjaAPI):
    def get_openapi_operation_id(self, operation: Any) -> str:
        # "<app>_api_<view>", whichever module of the app holds the view: operation ids stay
        # stable for generated clients when a module is split.
        view = operation.view_func
        return f"{view.__module__.split('.')[0]}_api_{view.__name__}"


api = TenantryAPI(
    title="Tenantry API",
    version="1",
    description=(
        "Customers of your organization, in the shape of the seed Customer API. "
        "Authenticate with `Authorization: Bearer <token>` or `Fastly-Key: <token>`; "
        "keys are created under Settings → API keys."
    ),
    auth=token_auth,
    urls_namespace="api",
    docs_url="/docs",
    docs=Reference(),
)
api.add_router("/", customers_router)
api.add_router("/", billing_router)
api.add_router("/", audit_router)

# A refused service, by the most specific class first (the exception's MRO is walked).
STATUS_OF_REFUSAL: dict[type[Exception], int] = {
    Denied: 403,
    StaleEdit: 412,
    Conflict: 409,
    Invalid: 422,
    ServiceError: 409,
    UniqueTaken: 409,
    ModelValidationError: 422,
}
STALE = "The customer changed since you read it: GET it again, then retry your update."


def _status_of(error: Exception) -> int:
    return next(STATUS_OF_REFUSAL[k] for k in type(error).__mro__ if k in STATUS_OF_REFUSAL)


@api.exception_handler(ServiceError)
def refused(request: AuthedRequest, exc: ServiceError) -> HttpResponse:
    detail = STALE if isinstance(exc, StaleEdit) else str(exc)
    return api.create_response(request, {"detail": detail}, status=_status_of(exc))


@api.exception_handler(ModelValidationError)
def invalid_values(request: AuthedRequest, exc: ModelValidationError) -> HttpResponse:
    return api.create_response(request, {"detail": field_messages(exc)}, status=_status_of(exc))


@api.exception_handler(QuotaExceeded)
def over_quota(request: AuthedRequest, exc: QuotaExceeded) -> HttpResponse:
    response = api.create_response(request, exc.consumption.as_error(), status=429)
    response["Retry-After"] = str(exc.consumption.retry_after)
    return response


def _past_rate(request: AuthedRequest) -> HttpResponse | None:
    """A body refused on ingestion's hot path still spends the rate limit, as every other
    request does while authenticating; past the limit the answer is 429, not the 400/422."""
    try:
        hot_path.body_refused(request)
    except QuotaExceeded as exc:
        return over_quota(request, exc)
    return None


@api.exception_handler(RecursionError)
def too_deep(request: AuthedRequest, exc: RecursionError) -> HttpResponse:
    # JSON nested thousands deep exhausts the parser's recursion: bad input, not a crash.
    return _past_rate(request) or api.create_response(request, {"detail": TOO_DEEP}, status=400)


@api.exception_handler(AuthenticationError)
def unauthenticated(request: AuthedRequest, exc: AuthenticationError) -> HttpResponse:
    return api.create_response(
        request,
        {
            "detail": "A valid API key is required: send 'Authorization: Bearer <token>' "
            "or 'Fastly-Key: <token>'."
        },
        status=401,
    )


@api.exception_handler(Http404)
def not_found(request: AuthedRequest, exc: Http404) -> HttpResponse:
    return api.create_response(request, {"detail": str(exc) or "Not found."}, status=404)


@api.exception_handler(HttpError)
def http_error(request: AuthedRequest, exc: HttpError) -> HttpResponse:
    refused = _past_rate(request) if exc.status_code == 400 else None  # a body not parsed
    return refused or api.create_response(request, {"detail": exc.message}, status=exc.status_code)


@api.exception_handler(ValidationError)
def invalid(request: AuthedRequest, exc: ValidationError) -> HttpResponse:
    return _past_rate(request) or api.create_response(request, {"detail": exc.errors}, status=422)
