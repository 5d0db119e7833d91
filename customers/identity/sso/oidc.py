"""OpenID Connect as a relying party: the provider's discovery document and keys, the
authorization URL (state, nonce and PKCE), and the code's exchange for an ID token whose
signature and claims are all checked.

authlib builds and parses the protocol's messages; idtoken.py checks the token. Every HTTP
request goes through the platform's checked transport (public addresses only, pinned, no
redirects followed), because the issuer is a URL a customer typed. Each failure is an
``SsoCheckFailed`` naming the check in plain words, for the connection test to show.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from authlib.common.security import generate_token
from authlib.integrations.base_client.errors import OAuthError
from authlib.oauth2.client import OAuth2Client
from authlib.oauth2.rfc6749.errors import OAuth2Error
from django.conf import settings
from django.core.cache import cache
from joserfc.errors import (
    JoseError,
)
from joserfc.jwk import KeySet

from customers.identity.sso.idtoken import Identity, SsoCheckFailed, verify_id_token
from customers.platform.outbound.safety import UnsafeDestination
from customers.platform.outbound.transport import send

SCOPE = "openid email profile"
DOCUMENT_BYTES = 256 * 1024
DISCOVERY_CACHE_SECONDS = 300
FAILURE_CACHE_SECONDS = 30
TIMEOUT_SECONDS = 5.0
JSON_HEADERS = {"Accept": "application/json"}


@dataclass(frozen=True)
class Provider:
    """What discovery says about a provider."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    scopes_supported: tuple[str, ...] = ()
    userinfo_endpoint: str = ""
    # RFC 9207: the provider says it names itself in every answer (iss), so one without it
    # did not come from it.
    sends_iss: bool = False

    @property
    def scope(self) -> str:
        """What to ask for: a groups claim too where the provider offers a "groups" scope
        (Okta does; Google refuses scopes it does not know)."""
        return SCOPE + (" groups" if "groups" in self.scopes_supported else "")


@dataclass(frozen=True)
class Flow:
    """One sign-in on its way to the provider: kept in the session until the callback."""

    state: str
    nonce: str
    verifier: str
    started: float = field(default_factory=time.time)


def _allow_private() -> bool:
    return bool(settings.SSO_ALLOW_PRIVATE)


def _get_json(url: str, check: str, what: str) -> Any:
    try:
        status, body = send(
            "GET",
            url,
            None,
            JSON_HEADERS,
            allow_private=_allow_private(),
            limit=DOCUMENT_BYTES,
            timeout=TIMEOUT_SECONDS,
        )
    except UnsafeDestination as refusal:
        raise SsoCheckFailed(check, f"Tenantry cannot reach {url}: {refusal}") from None
    except OSError as error:
        raise SsoCheckFailed(
            check, f"Could not fetch {what} from {url}: {error.strerror or error}."
        ) from None
    if status != 200:
        raise SsoCheckFailed(check, f"{url} answered HTTP {status} instead of {what}.")
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        raise SsoCheckFailed(check, f"{url} did not answer with {what} as JSON.") from None


def _string(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _strings(value: Any) -> tuple[str, ...]:
    return tuple(v for v in value if isinstance(v, str)) if isinstance(value, list) else ()


def check_issuer(url: str, *, what: str = "The issuer") -> None:
    """HTTPS only (the client secret, the code and the signing keys travel over it), unless
    private providers are allowed (development, and the tests' provider on loopback)."""
    if not url.startswith("https://") and not _allow_private():
        raise SsoCheckFailed("discovery", f"{what} must be an https:// URL: {url[:200]}")


def discover(issuer: str) -> Provider:
    """The provider's endpoints from its discovery document, which must name the same issuer
    (OpenID Connect Discovery §4.3), cached for a few minutes. A failure is remembered for
    half a minute: the public sign-in start cannot make Tenantry wait on a dead provider for
    every request."""
    check_issuer(issuer)
    key = "sso:oidc:discovery:" + hashlib.sha256(issuer.encode()).hexdigest()
    cached = cache.get(key)
    if cached and "failed" in cached:
        raise SsoCheckFailed(cached["failed"], cached["message"])
    if cached:
        return Provider(**cached)
    try:
        provider = _discover(issuer)
    except SsoCheckFailed as failure:
        cache.set(key, {"failed": failure.check, "message": str(failure)}, FAILURE_CACHE_SECONDS)
        raise
    cache.set(key, provider.__dict__, DISCOVERY_CACHE_SECONDS)
    return provider


def _discover(issuer: str) -> Provider:
    url = issuer.rstrip("/") + "/.well-known/openid-configuration"
    document = _get_json(url, "discovery", "the discovery document")
    if not isinstance(document, dict) or not all(
        isinstance(document.get(k), str)
        for k in ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri")
    ):
        raise SsoCheckFailed(
            "discovery",
            f"{url} is not a discovery document (it needs issuer, authorization_endpoint, "
            "token_endpoint and jwks_uri).",
        )
    if document.get("issuer") != issuer:
        raise SsoCheckFailed(
            "issuer",
            f"The provider calls itself “{document.get('issuer')}”, not “{issuer}”. Use "
            "exactly the issuer its discovery document names.",
        )
    provider = Provider(
        issuer=issuer,
        authorization_endpoint=document["authorization_endpoint"],
        token_endpoint=document["token_endpoint"],
        jwks_uri=document["jwks_uri"],
        scopes_supported=_strings(document.get("scopes_supported")),
        sends_iss=document.get("authorization_response_iss_parameter_supported") is True,
        userinfo_endpoint=_string(document.get("userinfo_endpoint")),
    )
    endpoints = (provider.authorization_endpoint, provider.token_endpoint, provider.jwks_uri)
    for endpoint in (
        *endpoints,
        *([provider.userinfo_endpoint] if provider.userinfo_endpoint else []),
    ):
        check_issuer(endpoint, what="an endpoint of the discovery document")
    return provider


class _Response:
    """What authlib reads of a token endpoint's answer."""

    def __init__(self, status: int, body: bytes) -> None:
        self.status_code = status
        self.body = body

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except RecursionError:
            raise ValueError("nested too deeply") from None

    def raise_for_status(self) -> None:
        if self.status_code >= 400:
            raise SsoCheckFailed("token", f"The token endpoint answered HTTP {self.status_code}.")


class _Transport:
    """authlib's HTTP session, sending through the checked transport."""

    def post(self, url: str, data: dict[str, str], headers: dict[str, str], auth: Any) -> _Response:
        uri, headers, body = auth.prepare("POST", url, dict(headers), urlencode(data))
        try:
            status, answer = send(
                "POST",
                uri,
                body.encode(),
                headers,
                allow_private=_allow_private(),
                limit=DOCUMENT_BYTES,
                timeout=TIMEOUT_SECONDS,
            )
        except UnsafeDestination as refusal:
            raise SsoCheckFailed("token", f"Tenantry cannot reach {uri}: {refusal}") from None
        except OSError as error:
            raise SsoCheckFailed("token", f"The token endpoint failed: {error}.") from None
        return _Response(status, answer)


def _client(
    client_id: str, client_secret: str, redirect_uri: str, scope: str = SCOPE
) -> OAuth2Client:
    return OAuth2Client(
        _Transport(),
        client_id=client_id,
        client_secret=client_secret,
        scope=scope,
        redirect_uri=redirect_uri,
        code_challenge_method="S256",
    )


def authorization_url(
    provider: Provider, client_id: str, redirect_uri: str, login_hint: str = ""
) -> tuple[str, Flow]:
    """Where to send the person's browser, and the flow to keep until they come back."""
    flow = Flow(state=generate_token(32), nonce=generate_token(32), verifier=generate_token(64))
    extra = {"login_hint": login_hint} if login_hint else {}
    url, _state = _client(client_id, "", redirect_uri, provider.scope).create_authorization_url(
        provider.authorization_endpoint,
        state=flow.state,
        code_verifier=flow.verifier,
        nonce=flow.nonce,
        **extra,
    )
    return url, flow


def _exchange(
    provider: Provider, client_id: str, client_secret: str, redirect_uri: str, code: str, flow: Flow
) -> tuple[str, str]:
    """The code for tokens at the token endpoint: the ID token's compact form and the access
    token (empty when none came)."""
    client = _client(client_id, client_secret, redirect_uri)
    try:
        token = client.fetch_token(
            provider.token_endpoint,
            grant_type="authorization_code",
            code=code,
            code_verifier=flow.verifier,
            headers={
                "Accept": "application/json",
                "Content-Type": "application/x-www-form-urlencoded;charset=UTF-8",
            },
        )
    except (OAuth2Error, OAuthError) as error:
        words = getattr(error, "description", "") or getattr(error, "error", "") or str(error)
        hint = " Check the client secret." if "client" in str(error).lower() else ""
        raise SsoCheckFailed("token", f"The provider refused the code: {words}.{hint}") from None
    except ValueError:
        raise SsoCheckFailed("token", "The token endpoint did not answer with JSON.") from None
    id_token, access_token = token.get("id_token"), token.get("access_token")
    if not isinstance(id_token, str):
        raise SsoCheckFailed("token", "The provider's answer has no ID token (scope openid?).")
    return id_token, access_token if isinstance(access_token, str) else ""


def _keys(provider: Provider) -> KeySet:
    document = _get_json(provider.jwks_uri, "signature", "the signing keys")
    try:
        return KeySet.import_key_set(document)
    except (JoseError, ValueError, TypeError, KeyError):
        raise SsoCheckFailed(
            "signature", "The provider's signing keys could not be read."
        ) from None


def complete(
    provider: Provider,
    *,
    client_id: str,
    client_secret: str,
    redirect_uri: str,
    code: str,
    flow: Flow,
) -> Identity:
    """The callback's work: exchange the code and check the ID token it brings; then, where
    the provider keeps the person's claims at its userinfo endpoint (as OpenID Connect allows,
    and Entra ID and oidc-provider do by default), add those."""
    id_token, access_token = _exchange(provider, client_id, client_secret, redirect_uri, code, flow)
    identity = verify_id_token(
        id_token, _keys(provider), issuer=provider.issuer, client_id=client_id, nonce=flow.nonce
    )
    if provider.userinfo_endpoint and access_token:
        extra = _userinfo(provider, access_token, identity.claims["sub"])
        identity = Identity(claims={**extra, **identity.claims}, header=identity.header)
    return identity


def _userinfo(provider: Provider, access_token: str, subject: str) -> dict[str, Any]:
    """The userinfo endpoint's claims, which must be about the ID token's subject (OpenID
    Connect Core §5.3.2); the ID token's own claims win over them."""
    try:
        status, body = send(
            "GET",
            provider.userinfo_endpoint,
            None,
            {**JSON_HEADERS, "Authorization": f"Bearer {access_token}"},
            allow_private=_allow_private(),
            limit=DOCUMENT_BYTES,
            timeout=TIMEOUT_SECONDS,
        )
        claims = json.loads(body) if status == 200 else None
    except (UnsafeDestination, OSError, ValueError, RecursionError):
        claims = None
    if not isinstance(claims, dict):
        raise SsoCheckFailed("userinfo", "The provider's userinfo endpoint did not answer.")
    if claims.get("sub") != subject:
        raise SsoCheckFailed(
            "userinfo", "The userinfo endpoint answered about someone else (its sub differs)."
        )
    return claims
