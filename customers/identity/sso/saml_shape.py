"""What a SAML response's XML must be before any signature is checked: at most 200 kB, no
DTD, SHA-2 algorithms only, SAML's transforms only, and one layout (one assertion, one
signature on the response and one on the assertion, each over its own element, no ID twice,
one subject, each attribute named once). pysaml2 reads the last Signature of an element
while xmlsec1 verifies the first, so anything else is how a forgery made of genuine
signatures (or an expensive transform xmlsec1 would run before checking a key) gets in."""

from __future__ import annotations

import base64
import binascii
import zlib
from xml.etree.ElementTree import Element

from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException

from customers.identity.sso.idtoken import SsoCheckFailed

# A real response is a few kilobytes; more is refused before anything parses it.
MAX_RESPONSE_CHARS = 200_000
SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"
SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
DS = "http://www.w3.org/2000/09/xmldsig#"
SIGNATURES = {
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384",
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512",
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256",
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384",
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512",
}
# The canonicalizations and transforms a SAML signature uses; anything else (XPath, XSLT) is
# work xmlsec1 would do, on an attacker's say, before it checks a key.
TRANSFORMS = {
    "http://www.w3.org/2000/09/xmldsig#enveloped-signature",
    "http://www.w3.org/2001/10/xml-exc-c14n#",
    "http://www.w3.org/2001/10/xml-exc-c14n#WithComments",
}
DIGESTS = {
    "http://www.w3.org/2001/04/xmlenc#sha256",
    "http://www.w3.org/2001/04/xmldsig-more#sha384",
    "http://www.w3.org/2001/04/xmlenc#sha512",
}


def decode(encoded: str) -> tuple[bytes, Element]:
    """The response's XML, parsed without DTDs, or SsoCheckFailed."""
    if len(encoded) > MAX_RESPONSE_CHARS:
        raise SsoCheckFailed(
            "size",
            f"The response is over {MAX_RESPONSE_CHARS // 1000} kB, far more than a sign-in needs.",
        )
    try:
        xml = base64.b64decode(encoded, validate=False)
        root = ElementTree.fromstring(xml, forbid_dtd=True)
    except (binascii.Error, ValueError, ElementTree.ParseError, DefusedXmlException):
        raise SsoCheckFailed(
            "format", "The response is not a base64-encoded SAML response."
        ) from None
    if root.tag != f"{{{SAMLP}}}Response":
        raise SsoCheckFailed("format", "The message is not a SAML Response.")
    if _inflates(xml):
        raise SsoCheckFailed("format", "The response is also a compressed stream: refused.")
    return xml, root


def _inflates(xml: bytes) -> bool:
    """Whether the bytes are also a DEFLATE stream (the first kilobyte of it, so a bomb does
    not go off): XML that is one is made to be read two ways."""
    try:
        zlib.decompressobj(-15).decompress(xml, 1024)
    except zlib.error:
        return False
    return True


def algorithms(root: Element) -> None:
    """Only SHA-2 signatures and digests: SHA-1 can be forged, and an unknown one is refused."""
    for method, allowed in (("SignatureMethod", SIGNATURES), ("DigestMethod", DIGESTS)):
        for element in root.iter(f"{{{DS}}}{method}"):
            algorithm = element.get("Algorithm", "")
            if algorithm not in allowed:
                weak = "sha1" in algorithm.lower()
                raise SsoCheckFailed(
                    "algorithm",
                    f"The response is signed with {algorithm or 'no algorithm'}: "
                    + ("SHA-1 is refused (it can be forged); " if weak else "")
                    + "set the provider to sign with RSA-SHA256 and a SHA-256 digest.",
                )


WRAPPED = (
    "The response is not laid out as a signed SAML response is (one assertion, one signature "
    "on the response and one on the assertion, each over its own element): it may have been "
    "tampered with."
)


def structure(root: Element) -> None:
    """The one layout Tenantry accepts, checked before pysaml2 and xmlsec1 see the document:
    pysaml2 reads the last Signature of an element while xmlsec1 verifies the first, so a
    second Signature (or a second Assertion, or a repeated ID) is how a forgery made of
    genuine signatures gets through."""
    assertion = _single_assertion(root)
    on_response, on_assertion = _signatures(root, assertion)
    # Where the schema puts them, right after the Issuer: xmlsec1 verifies the first
    # Signature in document order under the node it is given.
    if not (_after_issuer(root, on_response) and _after_issuer(assertion, on_assertion)):
        raise SsoCheckFailed("signature", WRAPPED)
    _signature_over(on_response, root)
    _signature_over(on_assertion, assertion)
    _one_subject(assertion)


def _single_assertion(root: Element) -> Element:
    assertions = list(root.iter(f"{{{SAML}}}Assertion"))
    hidden = any(root.iter(f"{{{SAML}}}EncryptedAssertion")) or any(root.iter(f"{{{DS}}}Object"))
    if len(assertions) != 1 or assertions[0] not in list(root) or hidden:
        raise SsoCheckFailed("signature", WRAPPED)
    return assertions[0]


def _signatures(root: Element, assertion: Element) -> tuple[Element, Element]:
    """The response's Signature and the assertion's: one each, none elsewhere, no ID twice."""
    tag = f"{{{DS}}}Signature"
    on_response = [child for child in root if child.tag == tag]
    on_assertion = [child for child in assertion if child.tag == tag]
    ids = [e.get("ID") for e in root.iter() if e.get("ID") is not None]
    counts = (len(on_response), len(on_assertion), len(list(root.iter(tag))))
    if counts != (1, 1, 2) or len(ids) != len(set(ids)):
        raise SsoCheckFailed("signature", WRAPPED)
    return on_response[0], on_assertion[0]


def _after_issuer(element: Element, signature: Element) -> bool:
    children = list(element)
    return len(children) > 1 and children[0].tag == f"{{{SAML}}}Issuer" and children[1] is signature


def _signature_over(signature: Element, signed: Element) -> None:
    """One reference, to the element the signature sits in, with SAML's transforms only."""
    references = list(signature.iter(f"{{{DS}}}Reference"))
    if len(references) != 1 or references[0].get("URI") != "#" + (signed.get("ID") or "-"):
        raise SsoCheckFailed("signature", WRAPPED)
    methods = list(signature.iter(f"{{{DS}}}Transform")) + list(
        signature.iter(f"{{{DS}}}CanonicalizationMethod")
    )
    if any(m.get("Algorithm") not in TRANSFORMS for m in methods):
        raise SsoCheckFailed(
            "signature", "The response's signature uses a transform SAML does not."
        )


def _one_subject(assertion: Element) -> None:
    """One NameID, attributes named once each, values that are text: never two answers to
    "who is this"."""
    if len(list(assertion.iter(f"{{{SAML}}}NameID"))) > 1:
        raise SsoCheckFailed("format", "The assertion names more than one subject (NameID).")
    if _ambiguous(list(assertion.iter(f"{{{SAML}}}Attribute"))):
        raise SsoCheckFailed("format", "The assertion names an attribute twice.")
    if any(len(value) for value in assertion.iter(f"{{{SAML}}}AttributeValue")):
        raise SsoCheckFailed("format", "An attribute's value holds XML instead of text.")


def _ambiguous(attributes: list[Element]) -> bool:
    """A Name twice, a friendly name twice, or one attribute's friendly name another's Name:
    which of them is "email" would be a guess."""
    names = [a.get("Name") for a in attributes]
    friendly = [a.get("FriendlyName") for a in attributes if a.get("FriendlyName")]
    borrowed = any(
        a.get("FriendlyName") in names and a.get("FriendlyName") != a.get("Name")
        for a in attributes
    )
    return len(names) != len(set(names)) or len(friendly) != len(set(friendly)) or borrowed
