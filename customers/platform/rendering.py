"""One rule for what a page answers an HTMX request with: the named partial its HX-Target asks
for (``{% partialdef results %}`` in the page's template), the whole page otherwise."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from django.shortcuts import render

from customers.platform.requests import TenantRequest


def render_page(
    request: TenantRequest,
    template: str,
    context: dict[str, Any],
    *,
    partials: tuple[str, ...] = ("results",),
    status: int = 200,
) -> HttpResponse:
    target = request.htmx.target if request.htmx else None
    if target in partials:
        template = f"{template}#{target}"
    return render(request, template, context, status=status)
