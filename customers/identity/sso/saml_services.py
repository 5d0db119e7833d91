"""SAML's rules over a connection: the settings each protocol needs, the IdP's metadata
(pasted or fetched from its URL) read into the connection's settings, and an assertion
accepted once only (a replay is refused, even when two requests race)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from customers.identity.sso import saml_metadata
from customers.identity.sso.idtoken import SsoCheckFailed
from customers.identity.sso.models import SamlAssertionSeen, SsoConnection
from customers.identity.sso.saml import Assertion
from customers.platform.errors import Invalid

logger = logging.getLogger(__name__)

# What each protocol cannot do without, in words for the form and the API.
NEEDS = {
    SsoConnection.Protocol.OIDC: {
        "issuer": "the issuer URL",
        "client_id": "the client ID",
    },
    SsoConnection.Protocol.SAML: {
        "idp_entity_id": "the IdP's entity ID",
        "idp_sso_url": "the IdP's single sign-on URL",
        "idp_certificate": "the IdP's signing certificate",
    },
}
REPLAY = (
    "This assertion was already used to sign in: a response counts once (it may have been "
    "captured and sent again)."
)


def _from_metadata(changes: dict[str, Any]) -> dict[str, Any]:
    """Settings read from pasted metadata or fetched from the metadata URL."""
    pasted = changes.pop("idp_metadata_xml", "") or ""
    url = changes.get("idp_metadata_url") or ""
    if not pasted and not url:
        return changes
    try:
        idp = saml_metadata.read_metadata(pasted) if pasted else saml_metadata.fetch_metadata(url)
    except SsoCheckFailed as failure:
        raise Invalid(str(failure)) from None
    changes.update(idp.fields())
    if url and not pasted:
        changes["idp_metadata_fetched_at"] = timezone.now()
    return changes


def resolved(changes: dict[str, Any], protocol: str) -> dict[str, Any]:
    """A create's or change's settings with SAML metadata read into them and the certificate
    normalised, its expiry noted. Runs before the service's transaction: it may fetch."""
    changes = dict(changes)
    if protocol != SsoConnection.Protocol.SAML:
        changes.pop("idp_metadata_xml", None)
        return changes
    changes = _from_metadata(changes)
    if changes.get("idp_certificate"):
        try:
            pem, expires = saml_metadata.certificate_summary(changes["idp_certificate"])
        except ValueError as error:
            raise Invalid(f"The IdP's signing certificate: {error}") from None
        changes.update(idp_certificate=pem, certificate_expires_at=expires)
    return changes


def missing(connection: SsoConnection) -> list[str]:
    """What the connection's protocol still needs, in words."""
    return [
        words
        for field, words in NEEDS[SsoConnection.Protocol(connection.protocol)].items()
        if not getattr(connection, field)
    ]


def check_complete(connection: SsoConnection) -> None:
    """Refuse an OpenID Connect connection missing its issuer or client. A SAML one may be a
    draft with a name only (an IdP's wizard asks for Tenantry's values first); its test
    needs the rest (see missing)."""
    if connection.is_saml:
        return
    if gaps := missing(connection):
        raise Invalid(f"A {connection.get_protocol_display()} connection needs {', '.join(gaps)}.")


def saml_assertion_accepted(connection: SsoConnection, assertion: Assertion) -> None:
    """Note the assertion as used; the same id again (a replay) raises SsoCheckFailed."""
    try:
        with transaction.atomic():
            SamlAssertionSeen.objects.create(
                organization_id=connection.organization_id,
                connection=connection,
                assertion_id=assertion.assertion_id[:256],
                expires_at=assertion.expires_at,
            )
    except IntegrityError:
        replay = SsoCheckFailed("replay", REPLAY)
        replay.signed = True  # only a response whose signatures held gets this far
        raise replay from None


def saml_assertions_forget(now: datetime | None = None) -> int:
    """Drop assertions expired a day ago: past NotOnOrAfter they are refused anyway."""
    cutoff = (now or timezone.now()) - timedelta(days=1)
    deleted, _ = SamlAssertionSeen.objects.for_worker().filter(expires_at__lt=cutoff).delete()
    return int(deleted)
