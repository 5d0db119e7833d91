"""What a request for something that is not there (or that broke) gets: JSON under /api/,
which clients parse and which needs no page's headers, and the site's own page elsewhere."""

from __future__ import annotations

from django.http import HttpResponse, JsonResponse
from django.views import defaults

from config.browser_middleware import answers_api
from customers.platform.requests import AuthedRequest


def not_found(request: AuthedRequest, exception: Exception) -> HttpResponse:
    if answers_api(request):
        return JsonResponse({"detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)


def server_error(request: AuthedRequest) -> HttpResponse:
    if answers_api(request):
        return JsonResponse({"detail": "Server error."}, status=500)
    return defaults.server_error(request)
