"""The Content Security Policy nonce, for the few inline scripts the templates carry."""

from __future__ import annotations

from customers.platform.requests import AuthedRequest


def csp_nonce(request: AuthedRequest) -> dict[str, str]:
    # django-htmx's {% htmx_script %} reads "csp_nonce"; django-csp 4 sets it on the request.
    return {"csp_nonce": str(getattr(request, "csp_nonce", ""))}
