"""The REST API: one NinjaAPI that mounts each app's router."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from audit.api import router as ingestion_router
from customers.api import TOO_DEEP, RateLimited, customers_router, token_auth
from customers.api import router as organization_router

api = NinjaAPI(
    title="Tenantry API",
    version="1",
    description=(
        "Customers of your organization, in the shape of the seed Customer API. "
        "Authenticate with `Authorization: Bearer <token>` or `Fastly-Key: <token>`; "
        "tokens are created under Settings → API keys."
    ),
    auth=token_auth,
    urls_namespace="api",
    docs_url="/docs",
)
api.add_router("/", organization_router)
api.add_router("/", customers_router)
api.add_router("/", ingestion_router)


@api.exception_handler(RateLimited)
def rate_limited(request: HttpRequest, exc: RateLimited) -> HttpResponse:
    response = api.create_response(request, exc.consumption.as_error(), status=429)
    response["Retry-After"] = str(exc.consumption.retry_after)
    return response


@api.exception_handler(RecursionError)
def too_deep(request: HttpRequest, exc: RecursionError) -> HttpResponse:
    # JSON nested thousands deep exhausts the parser's recursion: bad input, not a crash.
    return api.create_response(request, {"detail": TOO_DEEP}, status=400)


@api.exception_handler(AuthenticationError)
def unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return api.create_response(
        request,
        {
            "detail": "A valid API token is required: send 'Authorization: Bearer <token>' "
            "or 'Fastly-Key: <token>'."
        },
        status=401,
    )


@api.exception_handler(Http404)
def not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return api.create_response(request, {"detail": str(exc) or "Not found."}, status=404)


@api.exception_handler(HttpError)
def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return api.create_response(request, {"detail": exc.message}, status=exc.status_code)


@api.exception_handler(ValidationError)
def invalid(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    return api.create_response(request, {"detail": exc.errors}, status=422)
