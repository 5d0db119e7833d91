"""One gate for query strings: a parameter no page could use (a NUL, which PostgreSQL cannot
store or compare, or a value longer than any field) is refused with 400 naming it, before any
view, filter or admin changelist turns it into a database error."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from customers.platform.requests import AuthedRequest

# Longer than any field or search box accepts (the longest, an allow-list, is 4,000), and far
# below SQLite's LIKE pattern limit.
MAX_PARAMETER_LENGTH = 4000
# Every search box (the console's, the limits grid's, the admin's) is "q": search terms are
# capped once, here.
SEARCH_PARAMETER = "q"
MAX_SEARCH_LENGTH = 200


def refusal(request: AuthedRequest) -> str | None:
    for name, values in request.GET.lists():
        shown = name[:40].replace("\x00", "\\0")
        if "\x00" in name:
            return f"The query parameter “{shown}” has a NUL character in its name."
        for value in values:
            if "\x00" in value:
                return f"“{shown}” contains a NUL character, which is never valid: remove it."
            if name == SEARCH_PARAMETER and len(value) > MAX_SEARCH_LENGTH:
                return (
                    f"Search terms (“{shown}”) are at most {MAX_SEARCH_LENGTH} characters; "
                    f"this one has {len(value):,}."
                )
            if len(value) > MAX_PARAMETER_LENGTH:
                return (
                    f"“{shown}” is {len(value):,} characters long; at most "
                    f"{MAX_PARAMETER_LENGTH:,} are accepted."
                )
    return None


class QueryStringGuardMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: AuthedRequest) -> HttpResponse:
        problem = refusal(request)
        if problem is None:
            return self.get_response(request)
        if request.path.startswith("/api/"):
            return JsonResponse({"detail": problem}, status=400)
        return render(request, "400.html", {"problem": problem}, status=400)
