"""Small middlewares that let views stay plain Django while HTMX gets what it needs."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.messages import get_messages
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.utils.cache import patch_vary_headers

from customers.platform.requests import AuthedRequest

Handler = Callable[[HttpRequest], HttpResponse]


class VaryOnHtmxMiddleware:
    """Pages answer HTMX with a fragment and other requests with the page: caches must
    tell them apart."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: AuthedRequest) -> HttpResponse:
        response = self.get_response(request)
        patch_vary_headers(response, ("HX-Request",))
        return response


class HtmxRedirectMiddleware:
    """A redirect answering an HTMX request becomes HX-Redirect, so the browser loads the new page
    whole instead of swapping it into the fragment's target."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: AuthedRequest) -> HttpResponse:
        response = self.get_response(request)
        if getattr(request, "htmx", False) and response.status_code in (301, 302, 303):
            location = response["Location"]
            response = HttpResponse(status=204)
            response["HX-Redirect"] = location
        return response


class HtmxMessagesMiddleware:
    """Flash messages queued while answering an HTMX request travel out-of-band with the
    fragment."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: AuthedRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            not getattr(request, "htmx", False)
            or response.status_code in (204, 301, 302, 303)
            or "HX-Redirect" in response
            or response.streaming
            or not response.get("Content-Type", "").startswith("text/html")
        ):
            return response
        storage = get_messages(request)
        if not list(storage):
            return response
        response.write(
            render_to_string("includes/messages.html", {"messages": storage, "oob": True})
        )
        return response
