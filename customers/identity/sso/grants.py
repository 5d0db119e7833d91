"""Who is acting on a customer's SSO in this request: the signed-in person, or the holder of
a setup link this browser opened (the session keeps the link's id for an hour)."""

from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest
from django.utils import timezone

from customers.identity.models import User
from customers.identity.sso.models import SsoSetupLink

SETUP_GRANT = "sso_setup"


def setup_link_of(request: HttpRequest) -> SsoSetupLink | None:
    """The setup link this browser opened, while its hour lasts (the session holds its id,
    put there when the link's secret was presented)."""
    grant = request.session.get(SETUP_GRANT)
    if not grant or datetime.fromisoformat(grant["until"]) <= timezone.now():
        return None
    link: SsoSetupLink | None = (
        SsoSetupLink.objects.by_secret()
        .select_related("customer__organization")
        .filter(pk=grant["link"], revoked_at__isnull=True)
        .first()
    )
    return link


def actor_of(request: HttpRequest) -> User | SsoSetupLink | None:
    """Who is changing the connection: the signed-in person, or a setup link's holder."""
    if request.user.is_authenticated:
        return request.user
    return setup_link_of(request)
