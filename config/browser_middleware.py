"""The browser's middleware, skipped by JSON API requests: sessions, sign-in, OTP, messages,
CSP, HTMX and the organization switcher do nothing for a request that carries a Bearer token.

Each class here is the library's own, subclassed so that Django's checks still find it, and
answering an API request by passing it straight on. CSRF and axes stay as they are: the API's
views are CSRF-exempt (django-ninja checks CSRF itself only for cookie auth), so the middleware
already returns at once, and axes only acts where someone signs in."""

from __future__ import annotations

from typing import Any

from csp.middleware import CSPMiddleware as _CSP
from django.contrib.auth.middleware import AuthenticationMiddleware as _Authentication
from django.contrib.messages.middleware import MessageMiddleware as _Messages
from django.contrib.sessions.middleware import SessionMiddleware as _Sessions
from django.http import HttpResponse
from django_htmx.middleware import HtmxMiddleware as _Htmx
from django_otp.middleware import OTPMiddleware as _OTP

from config.middleware import HtmxMessagesMiddleware as _HtmxMessages
from config.middleware import HtmxRedirectMiddleware as _HtmxRedirect
from config.middleware import VaryOnHtmxMiddleware as _VaryOnHtmx
from customers.identity.middleware import CurrentOrganizationMiddleware as _Organization
from customers.platform.requests import AuthedRequest

API_PREFIX = "/api/"


def answers_api(request: AuthedRequest) -> bool:
    """A JSON API request; the API's HTML docs page is a browser page like any other."""
    path = request.path_info
    return path.startswith(API_PREFIX) and not path.rstrip("/").endswith("/docs")


def browser_only(middleware: type) -> type:
    """``middleware``, except that API requests go straight to the next handler (and its
    per-view hooks do nothing for them)."""

    def __call__(self: Any, request: AuthedRequest) -> HttpResponse:
        if answers_api(request):
            return self.get_response(request)
        return middleware.__call__(self, request)

    namespace: dict[str, Any] = {"__call__": __call__, "__module__": __name__}
    for hook in ("process_view", "process_exception", "process_template_response"):
        if hasattr(middleware, hook):
            namespace[hook] = _skipping(hook, getattr(middleware, hook))
    return type(middleware.__name__, (middleware,), namespace)


def _skipping(name: str, hook: Any) -> Any:
    def skip(self: Any, request: AuthedRequest, *args: Any) -> Any:
        # process_template_response must hand back the response; the others answer None.
        if answers_api(request):
            return args[0] if name == "process_template_response" else None
        return hook(self, request, *args)

    skip.__name__ = name
    return skip


SessionMiddleware = browser_only(_Sessions)
AuthenticationMiddleware = browser_only(_Authentication)
OTPMiddleware = browser_only(_OTP)
MessageMiddleware = browser_only(_Messages)
CSPMiddleware = browser_only(_CSP)
HtmxMiddleware = browser_only(_Htmx)
CurrentOrganizationMiddleware = browser_only(_Organization)
HtmxMessagesMiddleware = browser_only(_HtmxMessages)
HtmxRedirectMiddleware = browser_only(_HtmxRedirect)
VaryOnHtmxMiddleware = browser_only(_VaryOnHtmx)
