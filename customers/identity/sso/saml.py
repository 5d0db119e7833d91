"""Tenantry as a SAML 2.0 service provider for one connection: pysaml2 configured at run time
from the connection (signed responses and signed assertions both required, unsolicited
responses refused unless the connection allows IdP-initiated sign-in, 60 s of clock skew),
the AuthnRequest sent by HTTP-Redirect, and a response's checks. Debian's xmlsec1 checks the
signatures; before it, Tenantry refuses oversized responses, any algorithm but SHA-2 and any
layout but one (saml_shape), and hands pysaml2 exactly the bytes it checked; after it, it
checks again on the verified assertion what the person's sign-in rests on (issuer,
destination, recipient, audience). A failure names the check."""

from __future__ import annotations

import base64
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote
from xml.etree.ElementTree import Element

from django.conf import settings
from django.urls import reverse
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.client import Saml2Client
from saml2.config import SPConfig
from saml2.response import StatusError, UnsolicitedResponse
from saml2.sigver import SignatureError
from saml2.validate import ResponseLifetimeExceed, ToEarly

from customers.identity.sso import saml_metadata
from customers.identity.sso import saml_shape as shape
from customers.identity.sso.idtoken import SsoCheckFailed
from customers.identity.sso.models import SsoConnection

logger = logging.getLogger(__name__)

SKEW_SECONDS = 60

# The names Entra ID (and LDAP-minded IdPs) give what the default claim names mean: read as
# those when the response has no attribute by the default name.
ENTRA = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/"
ALIASES = {
    "email": (f"{ENTRA}emailaddress", "urn:oid:0.9.2342.19200300.100.1.3", "mail"),
    "given_name": (f"{ENTRA}givenname", "urn:oid:2.5.4.42", "givenName", "firstName"),
    "family_name": (f"{ENTRA}surname", "urn:oid:2.5.4.4", "sn", "surname", "lastName"),
    "groups": ("http://schemas.microsoft.com/ws/2008/06/identity/claims/groups", "memberOf"),
}


@dataclass(frozen=True)
class Assertion:
    """What a checked response says about the person, and the assertion's id and expiry."""

    claims: dict[str, Any]
    decoded: dict[str, Any]
    assertion_id: str
    expires_at: datetime
    in_response_to: str | None


def _site(path: str) -> str:
    return str(settings.SITE_URL).rstrip("/") + path


def entity_id(connection: SsoConnection) -> str:
    """Tenantry's entity id for this connection: its metadata URL, as is customary."""
    return _site(reverse("sso_saml_metadata", args=[connection.pk]))


def acs_url(connection: SsoConnection) -> str:
    return _site(reverse("sso_saml_acs", args=[connection.pk]))


def sp_metadata(connection: SsoConnection) -> str:
    return saml_metadata.sp_metadata(
        entity_id(connection), acs_url(connection), connection.customer.organization.name
    )


class _Client(Saml2Client):  # type: ignore[misc]  # pysaml2 ships no type hints
    """pysaml2's client, reading an HTTP-POST response as SAML's binding sends it: base64 of
    the XML, never deflated. pysaml2 itself tries to inflate it first, so bytes that are XML
    one way and DEFLATE the other would be checked as one document and parsed as another."""

    @staticmethod
    def unravel(txt: Any, binding: Any, msgtype: str = "response") -> Any:
        if binding == BINDING_HTTP_POST:
            return base64.b64decode(txt)
        return Saml2Client.unravel(txt, binding, msgtype)


def _client(connection: SsoConnection) -> Saml2Client:
    config = SPConfig()
    config.load(
        {
            "entityid": entity_id(connection),
            "xmlsec_binary": settings.SAML_XMLSEC_BINARY,
            "accepted_time_diff": SKEW_SECONDS,
            "allow_unknown_attributes": True,
            "service": {
                "sp": {
                    "endpoints": {
                        "assertion_consumer_service": [(acs_url(connection), BINDING_HTTP_POST)]
                    },
                    # Both signatures, always: a signed assertion inside an unsigned response
                    # (or the other way round) is how signature-wrapping attacks begin.
                    "want_response_signed": True,
                    "want_assertions_signed": True,
                    "want_assertions_or_response_signed": True,
                    "authn_requests_signed": False,
                    "allow_unsolicited": connection.allow_idp_initiated,
                    "name_id_format_allow_create": True,
                }
            },
            "metadata": {
                "inline": [
                    saml_metadata.idp_metadata(
                        connection.idp_entity_id, connection.idp_sso_url, connection.idp_certificate
                    )
                ]
            },
        }
    )
    return _Client(config=config)


def authn_request(connection: SsoConnection, *, login_hint: str = "") -> tuple[str, str]:
    """The AuthnRequest's id (the response must answer it) and the URL that sends it. The
    email typed goes along as ``login_hint``, which Entra ID and Okta read from the URL."""
    request_id, info = _client(connection).prepare_for_authenticate(
        entityid=connection.idp_entity_id, binding=BINDING_HTTP_REDIRECT, relay_state=""
    )
    url = dict(info["headers"])["Location"]
    if login_hint:
        url += "&login_hint=" + quote(login_hint, safe="")
    return str(request_id), str(url)


def answers(encoded: str) -> str | None:
    """The request id a response says it answers, read before any check: only to find this
    browser's flow, which check_response then holds the signed response to."""
    _xml, root = shape.decode(encoded)
    return root.get("InResponseTo") or None


def _unverified(root: Element) -> dict[str, Any]:
    """What the response says, read before any check: shown with a failed test only."""
    issuer = root.find(f"{{{shape.SAML}}}Issuer")
    status = root.find(f"{{{shape.SAMLP}}}Status/{{{shape.SAMLP}}}StatusCode")
    name_id = root.find(f".//{{{shape.SAML}}}Subject/{{{shape.SAML}}}NameID")
    audiences = [a.text for a in root.iter(f"{{{shape.SAML}}}Audience")]
    return {
        "unverified": True,
        "destination": root.get("Destination"),
        "in_response_to": root.get("InResponseTo"),
        "issuer": issuer.text if issuer is not None else None,
        "status": status.get("Value") if status is not None else None,
        "name_id": name_id.text if name_id is not None else None,
        "audiences": audiences,
    }


def _parse(connection: SsoConnection, encoded: str, checked: bytes, request_id: str | None) -> Any:
    outstanding = {request_id: "/"} if request_id else {}
    try:
        response = _client(connection).parse_authn_request_response(
            encoded, BINDING_HTTP_POST, outstanding=outstanding
        )
    except Exception as error:  # pysaml2 raises many kinds (schema, parsing, conditions)
        raise _in_words(error, request_id) from None
    if response is None:  # pysaml2's word for a wrong Destination (or SAML version)
        raise SsoCheckFailed("destination", WRONG_DESTINATION)
    parsed = response.xmlstr.encode() if isinstance(response.xmlstr, str) else response.xmlstr
    if parsed != checked:  # what was checked is what pysaml2 read, or nothing is believed
        raise SsoCheckFailed("format", MALFORMED)
    return response


def _in_words(error: Exception, request_id: str | None) -> SsoCheckFailed:
    """What pysaml2's refusal means, as the check that failed."""
    if isinstance(error, SignatureError):
        missing = "missing" in str(error).lower()
        return SsoCheckFailed("signature", MISSING_SIGNATURE if missing else BAD_SIGNATURE)
    if isinstance(error, UnsolicitedResponse):
        return SsoCheckFailed("InResponseTo", OTHER_REQUEST if request_id else UNSOLICITED)
    if isinstance(error, ResponseLifetimeExceed):
        return SsoCheckFailed("clock skew", EXPIRED)
    if isinstance(error, ToEarly):
        return SsoCheckFailed("clock skew", NOT_YET)
    if isinstance(error, StatusError):
        return SsoCheckFailed(
            "status", f"The provider refused the sign-in ({type(error).__name__})."
        )
    if "AudienceRestrictions" in str(error):
        return SsoCheckFailed("audience", WRONG_AUDIENCE)
    logger.info("SAML response refused by pysaml2", exc_info=error)
    return SsoCheckFailed("format", MALFORMED)


MISSING_SIGNATURE = (
    "The response or its assertion is not signed: set the provider to sign both the response "
    "and the assertion."
)
BAD_SIGNATURE = (
    "The signature does not match the connection's certificate: the provider signs with "
    "another key (update the certificate), or the response was changed on its way."
)
OTHER_REQUEST = "The response answers another request than the one this browser made."
UNSOLICITED = (
    "The provider sent a response Tenantry did not ask for (IdP-initiated sign-in), and this "
    "connection accepts only sign-ins that start at Tenantry."
)
EXPIRED = "The response has expired: check the provider's clock (60 s of skew are allowed)."
NOT_YET = "The response is not valid yet: the provider's clock is ahead of Tenantry's."
WRONG_AUDIENCE = (
    "The assertion is meant for another service provider (Audience) than this connection: "
    "check the SP entity ID set at the IdP."
)
MALFORMED = "The response is not a valid SAML 2.0 response."
WRONG_DESTINATION = (
    "The response is addressed to another URL (Destination) than this connection's ACS URL."
)


def _verified_checks(connection: SsoConnection, response: Any, request_id: str | None) -> Any:
    """Checks on what the signature covers, in Tenantry's own words: pysaml2 makes most of
    them too, and a sign-in rests on each."""
    assertion = response.assertion
    _addressed_here(connection, response.response, assertion)
    _issued_for_us(connection, assertion)
    if request_id is None and response.response.in_response_to:
        raise SsoCheckFailed("InResponseTo", OTHER_REQUEST)
    return assertion


def _addressed_here(connection: SsoConnection, message: Any, assertion: Any) -> None:
    if message.destination != acs_url(connection):
        raise SsoCheckFailed("destination", WRONG_DESTINATION)
    recipients = {
        c.subject_confirmation_data.recipient
        for c in assertion.subject.subject_confirmation
        if c.subject_confirmation_data is not None
    }
    if recipients != {acs_url(connection)}:
        raise SsoCheckFailed(
            "recipient", "The assertion's Recipient is not this connection's ACS URL."
        )


def _issued_for_us(connection: SsoConnection, assertion: Any) -> None:
    issuer = assertion.issuer.text if assertion.issuer is not None else None
    if issuer != connection.idp_entity_id:
        raise SsoCheckFailed(
            "issuer", "The assertion was issued by another entity than this connection's IdP."
        )
    restrictions = assertion.conditions.audience_restriction if assertion.conditions else []
    audiences = [audience.text for r in restrictions for audience in r.audience]
    if entity_id(connection) not in audiences:
        raise SsoCheckFailed("audience", WRONG_AUDIENCE)


def _attributes(assertion: Any) -> dict[str, Any]:
    """Each attribute under its Name, and under its friendly name where no attribute has that
    Name; one value as a string, several as a list."""
    attributes = [a for statement in assertion.attribute_statement for a in statement.attribute]
    claims: dict[str, Any] = {}
    # By Name first: a friendly name never stands in for another attribute's Name.
    for key in ("name", "friendly_name"):
        for attribute in attributes:
            values = [v.text for v in attribute.attribute_value if v.text is not None]
            if getattr(attribute, key):
                claims.setdefault(
                    getattr(attribute, key), values[0] if len(values) == 1 else values
                )
    return claims


def _claims(connection: SsoConnection, assertion: Any) -> dict[str, Any]:
    """The attributes, and the NameID, which stands for a missing email attribute when its
    format is emailAddress."""
    claims = _attributes(assertion)
    for name, aliases in ALIASES.items():
        found = next((claims[alias] for alias in aliases if alias in claims), None)
        if name not in claims and found is not None:
            claims[name] = found
    name_id = assertion.subject.name_id
    if name_id is not None and name_id.text:
        claims["NameID"] = name_id.text
        if name_id.format == saml_metadata.EMAIL_FORMAT:
            claims.setdefault(connection.email_claim, name_id.text)
    return claims


def _expiry(assertion: Any) -> datetime:
    try:
        text = assertion.conditions.not_on_or_after
        return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
    except (AttributeError, ValueError):
        raise SsoCheckFailed("clock skew", "The assertion has no NotOnOrAfter.") from None


def _certificate_current(connection: SsoConnection) -> None:
    expires = connection.certificate_expires_at
    if expires is not None and expires <= datetime.now(UTC):
        raise SsoCheckFailed(
            "certificate",
            f"The connection's signing certificate {saml_metadata.expiry_words(expires)}: "
            "add the provider's new certificate.",
        )


def check_response(connection: SsoConnection, encoded: str, request_id: str | None) -> Assertion:
    """The person a SAMLResponse vouches for, or SsoCheckFailed naming the check that failed
    (with what the response says, unverified, in ``details``). ``request_id`` is the
    AuthnRequest this browser sent, or None for an IdP-initiated response."""
    xml, root = shape.decode(encoded)
    unverified = _unverified(root)
    try:
        _certificate_current(connection)
        shape.algorithms(root)
        shape.structure(root)
        response = _parse(connection, encoded, xml, request_id)
    except SsoCheckFailed as failure:
        failure.details = unverified
        raise
    try:
        assertion = _verified_checks(connection, response, request_id)
    except SsoCheckFailed as failure:
        failure.details, failure.signed = unverified, True
        raise
    claims = _claims(connection, assertion)
    decoded = {
        "issuer": assertion.issuer.text,
        "destination": acs_url(connection),
        "in_response_to": request_id,
        "assertion_id": assertion.id,
        "name_id": claims.get("NameID"),
        "not_on_or_after": assertion.conditions.not_on_or_after,
        "attributes": {k: v for k, v in claims.items() if k != "NameID"},
    }
    return Assertion(
        claims=claims,
        decoded=decoded,
        assertion_id=str(assertion.id),
        expires_at=_expiry(assertion),
        in_response_to=request_id,
    )
