"""A round trip to the identity provider, kept in the browser's session: begun by a sign-in or
a connection test, finished once by the callback (OIDC) or the ACS (SAML). A flow is single
use and lasts ten minutes; one that began in another browser is not found here (login
CSRF)."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any
from uuid import UUID

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse

from customers.identity.sso import oidc, saml
from customers.identity.sso.idtoken import Identity, SsoCheckFailed
from customers.identity.sso.models import SsoConnection
from customers.identity.sso.services import client_secret

FLOWS = "sso_flows"
# The last test's decoded answer, shown once on the connection's page.
TEST_SHOWN = "sso_test_shown"
LIFETIME_SECONDS = 600
AT_ONCE = 5

SIGN_IN = "sign_in"
TEST = "test"


class FlowUnusable(Exception):
    """The callback matches no flow of this browser: used, expired or begun elsewhere."""


@dataclass(frozen=True)
class Pending:
    connection_id: str
    mode: str
    # Where to go afterwards: the page asked for (a sign-in) or the connection's page (a test).
    then: str
    flow: oidc.Flow
    # A test begun on a setup link's pages: the link's id, for the audit to name its holder.
    by_link: str = ""


def redirect_uri(connection: SsoConnection) -> str:
    """The connection's own redirect URI, registered at its provider. One per connection, so
    an answer can only come back to the connection whose provider sent it (an IdP mix-up
    cannot hand one provider's code to another's token endpoint)."""
    path = reverse("sso_oidc_callback", args=[connection.pk])
    return str(settings.SITE_URL).rstrip("/") + path


def begin(
    request: HttpRequest,
    connection: SsoConnection,
    *,
    mode: str,
    then: str,
    login_hint: str = "",
    by_link: str = "",
) -> str:
    """The provider's authorization URL (OIDC) or SSO URL with the AuthnRequest (SAML, whose
    request id stands for the state); raises SsoCheckFailed when it cannot be reached."""
    if connection.is_saml:
        request_id, url = saml.authn_request(connection, login_hint=login_hint)
        flow = oidc.Flow(state=request_id, nonce="", verifier="")
    else:
        provider = oidc.discover(connection.issuer)
        url, flow = oidc.authorization_url(
            provider, connection.client_id, redirect_uri(connection), login_hint=login_hint
        )
    flows: dict[str, Any] = {
        state: pending
        for state, pending in request.session.get(FLOWS, {}).items()
        if time.time() - pending["flow"]["started"] < LIFETIME_SECONDS
    }
    # A few at once (two tabs), the oldest dropped.
    while len(flows) >= AT_ONCE:
        flows.pop(next(iter(flows)))
    flows[flow.state] = asdict(Pending(str(connection.pk), mode, then, flow, by_link))
    request.session[FLOWS] = flows
    return url


def take(request: HttpRequest, state: str) -> Pending:
    """The flow this callback finishes, removed from the session so it cannot finish twice."""
    flows = dict(request.session.get(FLOWS, {}))
    saved = flows.pop(state, None) if state else None
    request.session[FLOWS] = flows
    if not saved:
        raise FlowUnusable
    pending = Pending(
        connection_id=saved["connection_id"],
        mode=saved["mode"],
        then=saved["then"],
        flow=oidc.Flow(**saved["flow"]),
        by_link=saved.get("by_link", ""),
    )
    if time.time() - pending.flow.started >= LIFETIME_SECONDS:
        raise FlowUnusable
    return pending


def connection_of(pending: Pending) -> SsoConnection | None:
    connection: SsoConnection | None = (
        SsoConnection.objects.for_sign_in()
        .select_related("customer__organization")
        .filter(pk=UUID(pending.connection_id))
        .first()
    )
    return connection


def complete(connection: SsoConnection, pending: Pending, code: str, iss: str | None) -> Identity:
    """Check who answered (RFC 9207's iss, when sent or promised), then exchange the code."""
    provider = oidc.discover(connection.issuer)
    if iss is not None and iss != provider.issuer:
        # Not echoed: anyone can put text in the URL, and this message is recorded.
        raise SsoCheckFailed("issuer", "The answer names another issuer than this connection's.")
    if iss is None and provider.sends_iss:
        raise SsoCheckFailed("issuer", "The provider promises an iss parameter; none came.")
    return oidc.complete(
        provider,
        client_id=connection.client_id,
        client_secret=client_secret(connection),
        redirect_uri=redirect_uri(connection),
        code=code,
        flow=pending.flow,
    )
