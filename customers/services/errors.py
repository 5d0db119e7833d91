"""What a refused service raises: one small hierarchy, translated to status codes in one place."""

from __future__ import annotations

from customers.models import (
    Customer,
)


class ServiceError(Exception):
    """A business rule refused the action; the message is meant for the person who asked."""


class TransitionRefused(ServiceError):
    pass


class Denied(ServiceError):
    """The actor may not do this (audited as denied rather than failed)."""


class InvitationUnusable(ServiceError):
    """The invitation was used, revoked or expired (perhaps a moment ago, by a concurrent
    acceptance)."""


class StaleEdit(ServiceError):
    """The record changed since the form (or ETag) was read."""

    def __init__(self, message: str, *, current: Customer, changes: dict[str, list]) -> None:
        super().__init__(message)
        self.current = current
        self.changes = changes
