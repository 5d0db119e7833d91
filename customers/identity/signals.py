"""Sign-in bookkeeping: when this session signed in (forced 2FA ends older sessions), and
through which customer's SSO, if it did."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest
from django.utils import timezone

SESSION_SIGNED_IN_AT = "signed_in_at"
# The customer whose SSO connection signed this session in (set by the SSO callback): its
# forced SSO is satisfied, and its identity provider stands for the second factor.
SESSION_SSO_CUSTOMER = "sso_customer"
# And the connection: once it is no longer active, the session counts as a password one.
SESSION_SSO_CONNECTION = "sso_connection"


@receiver(user_logged_in)
def remember_sign_in_time(
    sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any
) -> None:
    # Forced 2FA ends portal sessions that began before it was switched on
    # (customers/portal/access.py).
    if request is not None and hasattr(request, "session"):
        request.session[SESSION_SIGNED_IN_AT] = timezone.now().isoformat()
