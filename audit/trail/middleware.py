"""Gives every request an id and makes it visible to the audit recorder."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from audit.trail.context import current_request
from customers.platform.requests import TenantRequest

_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")


class RequestContextMiddleware:
    """Gives each request an id (kept from a well-formed X-Request-ID header from our proxy,
    otherwise new), echoes it back, and makes the request visible to the audit recorder."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: TenantRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        request.request_id = incoming if _SAFE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        token = current_request.set(request)
        try:
            response = self.get_response(request)
        finally:
            current_request.reset(token)
        response["X-Request-ID"] = request.request_id
        return response
