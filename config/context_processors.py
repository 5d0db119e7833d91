"""The Content Security Policy nonce, for the few inline scripts the templates carry."""

from __future__ import annotations

from django.http import HttpRequest


def csp_nonce(request: HttpRequest) -> dict[str, str]:
    # django-htmx's {% htmx_script %} reads "csp_nonce"; django-csp 4 sets it on the request.
    return {"csp_nonce": str(getattr(request, "csp_nonce", ""))}
