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
    if link is None or link.customer.is_closed:  # a suspended or deleted customer: no setup
        return None
    return link


def link_by_id(link_id: str) -> SsoSetupLink | None:
    """A setup link a flow began with (the session kept its id), to name it in the audit."""
    link: SsoSetupLink | None = (
        SsoSetupLink.objects.by_secret()
        .select_related("customer__organization")
        .filter(pk=link_id)
        .first()
    )
    return link


# Set by the setup pages on their request: what they do is the link's holder's doing, even in
# a browser where someone is also signed in.
ACTING_LINK = "sso_acting_link"


def actor_of(request: HttpRequest) -> User | SsoSetupLink | None:
    """Who is changing the connection: a setup link's holder on the setup pages, else the
    signed-in person."""
    link: SsoSetupLink | None = request.__dict__.get(ACTING_LINK)
    if link is not None:
        return link
    if request.user.is_authenticated:
        return request.user
    return None
