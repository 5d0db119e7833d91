"""pysaml2's SAML 2.0 identity provider (saml2.server.Server) as the customer's IdP in the
SSO tests: in process, to answer a Tenantry AuthnRequest with a real signed response (and to
forge the responses an attacker would), and on loopback over HTTP, for Chromium to sign in
at a login page like a real IdP's."""

from __future__ import annotations

import base64
import datetime
import html
import re
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from saml2 import BINDING_HTTP_REDIRECT
from saml2.config import IdPConfig
from saml2.metadata import entity_descriptor
from saml2.saml import NAMEID_FORMAT_EMAILADDRESS, NameID
from saml2.server import Server

SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
DIGEST_SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
SHA1 = "http://www.w3.org/2000/09/xmldsig#rsa-sha1"
DIGEST_SHA1 = "http://www.w3.org/2000/09/xmldsig#sha1"
PASSWORD = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"


def require() -> None:
    if not shutil.which("xmlsec1"):
        pytest.fail(
            "xmlsec1 is not installed (make install installs it as root; apt-get install xmlsec1)"
        )


def key_pair(days: int = 365, name: str = "Test IdP") -> tuple[str, str]:
    """A private key and a self-signed certificate (PEM) valid for ``days``."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=days))
        .sign(key, hashes.SHA256())
    )
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return private, certificate.public_bytes(serialization.Encoding.PEM).decode()


@dataclass
class Idp:
    """One IdP: its entity id, SSO URL and signing key, and the SPs it trusts."""

    entity_id: str = "https://idp.example.test/saml"
    sso_url: str = "https://idp.example.test/saml/sso"
    days: int = 365
    certificate: str = ""
    _folder: str = field(default_factory=tempfile.mkdtemp)
    _trusted: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        private, self.certificate = key_pair(self.days)
        Path(self._folder, "key.pem").write_text(private)
        Path(self._folder, "cert.pem").write_text(self.certificate)

    def _config(self) -> IdPConfig:
        config = IdPConfig()
        config.load(
            {
                "entityid": self.entity_id,
                "xmlsec_binary": shutil.which("xmlsec1") or "/usr/bin/xmlsec1",
                "service": {
                    "idp": {
                        "endpoints": {
                            "single_sign_on_service": [(self.sso_url, BINDING_HTTP_REDIRECT)]
                        },
                        "name_id_format": [NAMEID_FORMAT_EMAILADDRESS],
                        "policy": {
                            "default": {"lifetime": {"minutes": 5}, "attribute_restrictions": None}
                        },
                    }
                },
                "key_file": str(Path(self._folder, "key.pem")),
                "cert_file": str(Path(self._folder, "cert.pem")),
                "metadata": {"inline": list(self._trusted)},
            }
        )
        return config

    def metadata(self) -> str:
        return str(entity_descriptor(self._config()))

    def trust(self, sp_metadata: str | bytes) -> None:
        """Let the IdP answer the SP this metadata describes (Tenantry's, for a connection)."""
        text = sp_metadata.decode() if isinstance(sp_metadata, bytes) else sp_metadata
        if text not in self._trusted:
            self._trusted.append(text.replace('<?xml version="1.0" encoding="UTF-8"?>', "").strip())

    def read_request(self, redirect_url: str) -> dict[str, str]:
        """The AuthnRequest a Tenantry redirect carries: its id, ACS URL and issuer."""
        query = parse_qs(urlsplit(redirect_url).query)
        request = Server(config=self._config()).parse_authn_request(
            query["SAMLRequest"][0], BINDING_HTTP_REDIRECT
        )
        message = request.message
        return {
            "id": message.id,
            "acs": message.assertion_consumer_service_url,
            "sp": message.issuer.text,
            "login_hint": query.get("login_hint", [""])[0],
        }

    def response(
        self,
        *,
        acs: str,
        sp: str,
        email: str,
        in_response_to: str | None,
        attributes: dict[str, list[str]] | None = None,
        name_id: str | None = None,
        sign_response: bool = True,
        sign_assertion: bool = True,
        sign_alg: str = SHA256,
        digest_alg: str = DIGEST_SHA256,
        recipient: str | None = None,
        xml: bool = False,
    ) -> str:
        """A response as the IdP signs it: base64 (as posted), or the XML to tamper with."""
        identity = {"email": [email]} if attributes is None else attributes
        farg: dict[str, Any] | None = None
        if recipient is not None:
            farg = {
                "assertion": {
                    "subject": {
                        "subject_confirmation": {
                            "method": "urn:oasis:names:tc:SAML:2.0:cm:bearer",
                            "subject_confirmation_data": {
                                "recipient": recipient,
                                "in_response_to": in_response_to,
                            },
                        }
                    }
                }
            }
        message = Server(config=self._config()).create_authn_response(
            identity,
            in_response_to=in_response_to,
            destination=acs,
            sp_entity_id=sp,
            name_id=NameID(format=NAMEID_FORMAT_EMAILADDRESS, text=name_id or email),
            userid=email,
            authn={"class_ref": PASSWORD},
            sign_response=sign_response,
            sign_assertion=sign_assertion,
            sign_alg=sign_alg,
            digest_alg=digest_alg,
            farg=farg,
        )
        text = str(message)
        return text if xml else encode(text)


RESPONSE_NODE = "urn:oasis:names:tc:SAML:2.0:protocol:Response"
ASSERTION_NODE = "urn:oasis:names:tc:SAML:2.0:assertion:Assertion"


def resign(idp: Idp, xml: str) -> str:
    """Sign a changed response again with the IdP's key (the assertion, then the response):
    what an IdP that signs something odd sends, genuinely signed."""
    for node, pattern in (
        (ASSERTION_NODE, r'<\w+:Assertion [^>]*ID="([^"]+)"'),
        (RESPONSE_NODE, r'<\w+:Response [^>]*ID="([^"]+)"'),
    ):
        node_id = re.search(pattern, xml).group(1)
        source = Path(idp._folder, "unsigned.xml")
        source.write_text(xml)
        subprocess.run(
            [
                shutil.which("xmlsec1") or "/usr/bin/xmlsec1",
                "--sign",
                "--privkey-pem",
                f"{idp._folder}/key.pem,{idp._folder}/cert.pem",
                "--id-attr:ID",
                node,
                "--node-id",
                node_id,
                "--output",
                str(Path(idp._folder, "signed.xml")),
                str(source),
            ],
            check=True,
            capture_output=True,
            timeout=20,
        )
        xml = Path(idp._folder, "signed.xml").read_text()
    return xml


def encode(xml: str) -> str:
    return base64.b64encode(xml.encode()).decode()


def answer(idp: Idp, redirect_url: str, email: str, **kwargs: Any) -> tuple[str, str]:
    """Answer the AuthnRequest in ``redirect_url`` as ``email``: the ACS URL and the response."""
    request = idp.read_request(redirect_url)
    return request["acs"], idp.response(
        acs=request["acs"], sp=request["sp"], email=email, in_response_to=request["id"], **kwargs
    )


LOGIN_PAGE = """<!doctype html><html lang="en"><head><title>Test IdP: sign in</title></head>
<body><main><h1>Test IdP</h1><form method="post" action="/sso/login">
<input type="hidden" name="request" value="{request}">
<label for="email">Email</label> <input id="email" name="email" value="{hint}">
<label for="groups">Groups</label> <input id="groups" name="groups" value="">
<button type="submit">Sign in</button></form></main></body></html>"""
POST_PAGE = """<!doctype html><html lang="en"><head><title>Test IdP: back</title></head>
<body><form method="post" action="{acs}"><input type="hidden" name="SAMLResponse"
value="{response}"><button type="submit">Continue</button></form>
<script>document.forms[0].submit()</script></body></html>"""


@contextmanager
def running(host: str = "127.0.0.1") -> Iterator[Idp]:
    """The IdP on loopback over HTTP: its metadata (and entity id) at 127.0.0.1, its sign-in
    page at ``host`` (a browser that maps that name to loopback sees another site than
    Tenantry's, so the POST back is cross-site, as a real IdP's is). It trusts any SP whose
    entity id (Tenantry's metadata URL) it can fetch."""
    idp: Idp

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _send(self, body: str, content_type: str = "text/html") -> None:
            data = body.encode()
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path.startswith("/metadata"):
                return self._send(idp.metadata(), "application/samlmetadata+xml")
            redirect = f"{idp.sso_url}?{urlsplit(self.path).query}"
            request = idp.read_request(redirect) if "SAMLRequest" in self.path else None
            if request is None:
                return self._send("<p>No SAMLRequest.</p>")
            return self._send(
                LOGIN_PAGE.format(
                    request=html.escape(redirect), hint=html.escape(request["login_hint"])
                )
            )

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            form = parse_qs(self.rfile.read(length).decode())
            redirect = form["request"][0]
            request = idp.read_request(redirect)
            email = form["email"][0]
            groups = [g.strip() for g in form.get("groups", [""])[0].split(",") if g.strip()]
            idp.trust(requests.get(request["sp"], timeout=5).content)
            response = idp.response(
                acs=request["acs"],
                sp=request["sp"],
                email=email,
                in_response_to=request["id"],
                attributes={"email": [email], "groups": groups} if groups else None,
            )
            return self._send(POST_PAGE.format(acs=html.escape(request["acs"]), response=response))

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port = server.server_address[1]
    idp = Idp(entity_id=f"http://127.0.0.1:{port}/metadata", sso_url=f"http://{host}:{port}/sso")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield idp
    finally:
        server.shutdown()
        server.server_close()
