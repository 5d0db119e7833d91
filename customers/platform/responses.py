"""How a refused service reaches the person: a message for a button press, errors on the form they
sent; and a new secret shown once, after a redirect, on a page no cache keeps."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from customers.platform.errors import SERVICE_ERRORS, refusal_text
from customers.platform.requests import AuthedRequest


def attempt(
    request: HttpRequest,
    success: str,
    service: Callable[..., Any],
    *,
    warning: Callable[[Any], str | None] | None = None,
    **kwargs: Any,
) -> bool:
    """Run a service for a button press: its refusal becomes an error message, its success the
    ``success`` message, unless ``warning`` finds something to say about the result instead
    (an invitation saved whose email could not be sent). True when it went through."""

    try:
        result = service(**kwargs)
    except SERVICE_ERRORS as error:
        messages.error(request, refusal_text(error))
        return False
    if said := warning(result) if warning else None:
        messages.warning(request, said)
    else:
        messages.success(request, success)
    return True


def refusal_onto_form(form: Any, error: Exception, *, field: str | None = None) -> None:
    """The one place views turn a refused service into what a form shows: a validation error
    next to its field, any other refusal next to ``field`` (or above the form)."""
    if isinstance(error, ValidationError) and hasattr(error, "error_dict"):
        for name, messages in error.message_dict.items():
            for message in messages:
                form.add_error(name if name in form.fields else field, message)
    elif isinstance(error, ValidationError):
        form.add_error(field, " ".join(error.messages))
    else:
        form.add_error(field, str(error))


NEW_SECRET = "new_secret"


def show_secret_once(request: AuthedRequest, secret: str, page: str) -> HttpResponse:
    """After creating a key: redirect (so a reload cannot create a second one) to ``page``,
    which shows the secret once, from the session."""
    request.session[NEW_SECRET] = secret
    return redirect(page)


def secret_to_show(request: AuthedRequest) -> str | None:
    """The secret a creation just stored, taken out of the session: it shows once."""
    return cast("str | None", request.session.pop(NEW_SECRET, None))


def private_page(response: HttpResponse, secret: str | None) -> HttpResponse:
    if secret:
        # The secret is on this page only: keep it out of every cache.
        response["Cache-Control"] = "no-store"
    return response
