"""The request being served, so audit entries can say where a change came from without every
service taking a ``request`` argument."""

from __future__ import annotations

from contextvars import ContextVar

from django.http import HttpRequest

current_request: ContextVar[HttpRequest | None] = ContextVar("current_request", default=None)
