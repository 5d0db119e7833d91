"""Password resets: who may ask for a link, how often, and the audit entries of asking."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings

from audit.trail.actions import Action
from audit.trail.services import Outcome, record
from customers.identity.models import Organization, User
from customers.platform.errors import ServiceError
from customers.platform.throttle import throttle_hit

PASSWORD_RESET_THROTTLED = (
    "Too many password reset requests from your address or for this email. Wait {minutes} "
    "minutes, then try again; a link that was already sent still works."
)


class ResetThrottled(ServiceError):
    """Past the sign-in throttle's limit for resets (429): no email is sent."""


def _record(action: Action, email: str, user: User | None, **details: Any) -> None:
    record(
        action=action,
        organization=user.home_organization() if user else None,
        actor=None,
        actor_label=email,
        resource=user,
        resource_type="user",
        resource_label=email,
        **details,
    )


def password_reset_request(*, email: str, client_address: str | None) -> User | None:
    """May a reset link be sent for ``email`` now? The sign-in throttle's rule
    (AXES_FAILURE_LIMIT per cool-off window), per client address and per email. Only the
    first refusal in a window is audited, so a flood cannot flood the audit log either.
    Returns the account the email names (None for an unknown email, which gets no mail)."""
    user = User.objects.filter(email__iexact=email).first()
    window = timedelta(hours=settings.AXES_COOLOFF_TIME)
    limit = settings.AXES_FAILURE_LIMIT
    hits = max(
        throttle_hit("password_reset.ip", client_address or "unknown", window=window),
        throttle_hit("password_reset.email", email, window=window),
    )
    minutes = round(window.total_seconds() / 60)
    if hits > limit:
        if hits == limit + 1:
            _record(
                Action.PASSWORD_RESET_THROTTLED,
                email,
                user,
                outcome=Outcome.DENIED,
                message=f"More than {limit} reset requests in {minutes} minutes.",
            )
        raise ResetThrottled(PASSWORD_RESET_THROTTLED.format(minutes=minutes))
    _record(Action.PASSWORD_RESET_REQUESTED, email, user)
    return user


def password_set_recorded(
    *, user: User, action: Action, organization: Organization | None = None
) -> None:
    """The audit entry of a password Django's own form set ("password.reset" through a link,
    "password.changed" while signed in), in the organization worked in or the person's home
    one; the caller holds the form's save and this in one transaction."""
    record(
        action=action,
        organization=organization or user.home_organization(),
        actor=user,
        resource=user,
        resource_type="user",
    )
