"""Sign-in outcomes go to the audit trail of the organization the person works in."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver
from django.http import HttpRequest

from audit.trail.actions import Action
from audit.trail.services import Outcome, record


@receiver(user_logged_in)
def record_login(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    organization = getattr(request, "organization", None) or user.home_organization()
    record(
        action=Action.LOGIN_SUCCEEDED,
        organization=organization,
        actor=user,
        resource=user,
        resource_type="user",
        request=request,
    )


@receiver(user_logged_out)
def record_logout(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    if user is None:
        return
    record(
        action=Action.LOGOUT,
        organization=getattr(request, "organization", None) or user.home_organization(),
        actor=user,
        resource=user,
        resource_type="user",
        request=request,
    )


@receiver(user_login_failed)
def record_login_failure(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    email = str(credentials.get("username") or credentials.get("email") or "")[:254]
    user = get_user_model().objects.filter(email__iexact=email).first() if email else None
    record(
        action=Action.LOGIN_FAILED,
        organization=user.home_organization() if user else None,
        actor=None,
        actor_label=email or "anonymous",
        resource=user,
        resource_type="user",
        resource_label=email,
        outcome=Outcome.FAILURE,
        request=request,
    )
