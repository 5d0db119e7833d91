"""SAML metadata both ways: the IdP's (read from XML pasted or fetched from its URL, or made
from an entity id, SSO URL and certificate typed in) and Tenantry's own SP metadata for the
IdP. Certificates are read with cryptography, so their expiry can be shown and warned about."""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from xml.etree.ElementTree import Element
from xml.sax.saxutils import escape, quoteattr

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException
from django.conf import settings

from customers.identity.sso.idtoken import SsoCheckFailed
from customers.platform.outbound.safety import UnsafeDestination
from customers.platform.outbound.transport import send

MD = "urn:oasis:names:tc:SAML:2.0:metadata"
DS = "http://www.w3.org/2000/09/xmldsig#"
REDIRECT = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
POST = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
EMAIL_FORMAT = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
METADATA_BYTES = 512 * 1024
TIMEOUT_SECONDS = 5.0
PEM = re.compile(r"-----BEGIN CERTIFICATE-----(.+?)-----END CERTIFICATE-----", re.S)


@dataclass(frozen=True)
class IdpSettings:
    """What Tenantry needs to know of an IdP: who it is, where to send people, its keys."""

    entity_id: str
    sso_url: str
    certificate: str  # PEM, one or more
    expires_at: datetime | None

    def fields(self) -> dict[str, str]:
        """The connection's fields these settings fill."""
        return {
            "idp_entity_id": self.entity_id,
            "idp_sso_url": self.sso_url,
            "idp_certificate": self.certificate,
        }


def _pem(body: str) -> str:
    text = "".join(body.split())
    lines = [text[i : i + 64] for i in range(0, len(text), 64)]
    return "-----BEGIN CERTIFICATE-----\n" + "\n".join(lines) + "\n-----END CERTIFICATE-----\n"


def certificates(text: str) -> list[x509.Certificate]:
    """The certificates in PEM text (or a bare base64 body, as metadata holds them); raises
    ValueError with the reason in words."""
    bodies = PEM.findall(text) or ([text] if text.strip() else [])
    if not bodies:
        raise ValueError("No certificate was given.")
    found = []
    for body in bodies:
        try:
            found.append(x509.load_der_x509_certificate(base64.b64decode("".join(body.split()))))
        except ValueError:
            raise ValueError("That is not an X.509 certificate in PEM form.") from None
    return found


def certificate_summary(text: str) -> tuple[str, datetime | None]:
    """The certificates in PEM form, and when the last of them expires."""
    found = certificates(text)
    pem = "".join(_pem(base64.b64encode(c.public_bytes(Encoding.DER)).decode()) for c in found)
    return pem, max(c.not_valid_after_utc for c in found)


def _idp_descriptor(root: Element) -> tuple[Element, str]:
    entities = [root] if root.tag == f"{{{MD}}}EntityDescriptor" else []
    entities += list(root.iter(f"{{{MD}}}EntityDescriptor")) if not entities else []
    for entity in entities:
        descriptor = entity.find(f"{{{MD}}}IDPSSODescriptor")
        if descriptor is not None:
            return descriptor, entity.get("entityID", "")
    raise SsoCheckFailed(
        "metadata", "The metadata describes no identity provider (IDPSSODescriptor)."
    )


def _sso_url(descriptor: Element) -> str:
    services = descriptor.findall(f"{{{MD}}}SingleSignOnService")
    url = next((s.get("Location", "") for s in services if s.get("Binding") == REDIRECT), "")
    if not url:
        raise SsoCheckFailed(
            "metadata", "The metadata offers no single sign-on URL with the HTTP-Redirect binding."
        )
    return url


def _signing_certificate(descriptor: Element) -> tuple[str, datetime | None]:
    bodies = [
        cert.text or ""
        for key in descriptor.findall(f"{{{MD}}}KeyDescriptor")
        if key.get("use", "signing") == "signing"
        for cert in key.iter(f"{{{DS}}}X509Certificate")
    ]
    if not bodies:
        raise SsoCheckFailed("metadata", "The metadata holds no signing certificate.")
    try:
        return certificate_summary("".join(_pem(b) for b in bodies))
    except ValueError as error:
        raise SsoCheckFailed("certificate", str(error)) from None


def read_metadata(xml: str | bytes) -> IdpSettings:
    """The IdP's entity id, HTTP-Redirect SSO URL and signing certificates from its metadata."""
    try:
        root = ElementTree.fromstring(xml, forbid_dtd=True)
    except (ElementTree.ParseError, DefusedXmlException, ValueError):
        raise SsoCheckFailed("metadata", "The metadata is not well-formed XML.") from None
    descriptor, entity_id = _idp_descriptor(root)
    if not entity_id:
        raise SsoCheckFailed("metadata", "The metadata names no entityID.")
    pem, expires = _signing_certificate(descriptor)
    return IdpSettings(
        entity_id=entity_id, sso_url=_sso_url(descriptor), certificate=pem, expires_at=expires
    )


def fetch_metadata(url: str) -> IdpSettings:
    """The IdP's metadata from its URL, through the platform's checked transport."""
    allow_private = bool(settings.SSO_ALLOW_PRIVATE)
    if not url.startswith("https://") and not allow_private:
        raise SsoCheckFailed("metadata", f"The metadata URL must be https://: {url[:200]}")
    try:
        status, body = send(
            "GET",
            url,
            None,
            {"Accept": "application/samlmetadata+xml, application/xml"},
            allow_private=allow_private,
            limit=METADATA_BYTES,
            timeout=TIMEOUT_SECONDS,
        )
    except UnsafeDestination as refusal:
        raise SsoCheckFailed("metadata", f"Tenantry cannot reach {url}: {refusal}") from None
    except OSError as error:
        raise SsoCheckFailed(
            "metadata", f"Could not fetch the metadata from {url}: {error.strerror or error}."
        ) from None
    if status != 200:
        raise SsoCheckFailed("metadata", f"{url} answered HTTP {status} instead of metadata.")
    return read_metadata(body)


def _certificate_bodies(pem: str) -> list[str]:
    return ["".join(body.split()) for body in PEM.findall(pem)]


def idp_metadata(entity_id: str, sso_url: str, certificate: str) -> str:
    """IdP metadata made from the settings, for pysaml2, which reads IdPs from metadata."""
    keys = "".join(
        f'<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{body}'
        "</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"
        for body in _certificate_bodies(certificate)
    )
    return (
        f'<md:EntityDescriptor xmlns:md="{MD}" xmlns:ds="{DS}" entityID={quoteattr(entity_id)}>'
        '<md:IDPSSODescriptor WantAuthnRequestsSigned="false" '
        'protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">'
        f"{keys}<md:NameIDFormat>{EMAIL_FORMAT}</md:NameIDFormat>"
        f'<md:SingleSignOnService Binding="{REDIRECT}" Location={quoteattr(sso_url)}/>'
        "</md:IDPSSODescriptor></md:EntityDescriptor>"
    )


def sp_metadata(entity_id: str, acs_url: str, organization: str) -> str:
    """Tenantry's SP metadata for one connection: signed assertions wanted, one ACS (POST)."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<md:EntityDescriptor xmlns:md="{MD}" entityID={quoteattr(entity_id)}>'
        '<md:SPSSODescriptor AuthnRequestsSigned="false" WantAssertionsSigned="true" '
        'protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">'
        f"<md:NameIDFormat>{EMAIL_FORMAT}</md:NameIDFormat>"
        f'<md:AssertionConsumerService Binding="{POST}" Location={quoteattr(acs_url)} '
        'index="0" isDefault="true"/>'
        "</md:SPSSODescriptor>"
        f'<md:Organization><md:OrganizationName xml:lang="en">{escape(organization)}'
        f'</md:OrganizationName><md:OrganizationDisplayName xml:lang="en">{escape(organization)}'
        '</md:OrganizationDisplayName><md:OrganizationURL xml:lang="en">'
        f"{escape(str(settings.SITE_URL))}</md:OrganizationURL></md:Organization>"
        "</md:EntityDescriptor>\n"
    )


def expiry_words(expires: datetime | None) -> str:
    if expires is None:
        return ""
    days = (expires - datetime.now(UTC)).days
    date = expires.strftime("%-d %b %Y")
    if days < 0:
        return f"expired on {date}"
    return f"expires on {date} (in {days} day{'s' if days != 1 else ''})"
