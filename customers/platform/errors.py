"""What a refused service raises: one small hierarchy. The API translates it to status codes in
one table (config/api.py); views show its message (customers.platform.responses.attempt)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError

if TYPE_CHECKING:
    from customers.records.models import Customer


class ServiceError(Exception):
    """A business rule refused the action; the message is meant for the person who asked."""


def refusal_text(error: Exception) -> str:
    """What a person reads about a refusal: a model's ValidationError lists its messages."""
    if isinstance(error, ValidationError):
        return " ".join(error.messages)
    return str(error)


class Conflict(ServiceError):
    """The current state refuses it (a lifecycle step from the wrong status, a full quota of
    seats, something already done)."""


class Invalid(ServiceError):
    """The values asked for are not acceptable, whatever the state."""


class Denied(ServiceError):
    """The actor may not do this (audited as denied rather than failed)."""


class TransitionRefused(Conflict):
    """A lifecycle step the customer's status does not allow."""


class InvitationUnusable(Conflict):
    """The invitation was used, revoked or expired (perhaps a moment ago, by a concurrent
    acceptance)."""


class StaleEdit(Conflict):
    """The record changed since the form (or ETag) was read."""

    def __init__(self, message: str, *, current: Customer, changes: dict[str, list[Any]]) -> None:
        super().__init__(message)
        self.current = current
        self.changes = changes


class UniqueTaken(ValidationError):
    """A field's value is another record's (a slug, an external ID): a conflict, not bad input,
    though a form shows it next to the field like any validation error."""


# Everything a service refuses with: its own errors, and a model's ValidationError from
# full_clean(). Views, forms and the admin catch this, so a refusal is never a 500.
SERVICE_ERRORS = (ServiceError, ValidationError)
