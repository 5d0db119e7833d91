"""The ID token's checks: a signature by one of the provider's keys with an allowed
algorithm, then its issuer, audience, authorized party, nonce and times (joserfc verifies,
authlib's CodeIDToken validates the claims). A failure names the check in plain words."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import (
    BadSignatureError,
    ClaimError,
    ExpiredTokenError,
    JoseError,
    MissingClaimError,
)
from joserfc.jwk import KeySet

# Asymmetric signatures only: "none" and the HMAC family (keyed with the client secret, which
# the customer's IT staff also hold) are refused, as is anything unlisted.
ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512")
# How far the provider's clock may be from ours.
LEEWAY_SECONDS = 120


class SsoCheckFailed(Exception):
    """One check of a sign-in failed. ``check`` names it (shown as the test's failing step);
    the message says, in plain words, what was wrong and what to do."""

    def __init__(self, check: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.check = check
        self.details = details or {}
        # The identity provider's signature held, so the provider said this (SAML): what an
        # anonymous sender cannot make up.
        self.signed = False


@dataclass(frozen=True)
class Identity:
    """What a checked ID token says about the person."""

    claims: dict[str, Any]
    header: dict[str, Any]


def _unverified_header(id_token: str) -> dict[str, Any]:
    """The token's header, read before its signature is checked: only to report what it says."""
    try:
        head = id_token.split(".")[0]
        head += "=" * (-len(head) % 4)
        header = json.loads(base64.urlsafe_b64decode(head))
    except (ValueError, IndexError):
        return {}
    return header if isinstance(header, dict) else {}


CLAIM_WORDS = {
    "iss": "The ID token was issued by someone other than this connection's issuer.",
    "aud": "The ID token is meant for another client (audience): check the client ID.",
    "nonce": "The ID token does not answer this sign-in (nonce): it may be a replay.",
    "azp": "The ID token was issued to another client (authorized party).",
    "exp": "The ID token has expired: check that the provider's clock is right.",
    "nbf": "The ID token is not valid yet: the provider's clock is ahead of ours.",
    "iat": "The ID token was issued in the future: the provider's clock is ahead of ours.",
}
CLAIM_CHECKS = {"exp": "clock skew", "nbf": "clock skew", "iat": "clock skew", "aud": "audience"}


def verify_id_token(
    id_token: str, keys: KeySet, *, issuer: str, client_id: str, nonce: str, now: int | None = None
) -> Identity:
    """The token's claims once its signature (by one of the provider's keys, with an allowed
    algorithm), issuer, audience, nonce and times have all been checked."""
    header = _unverified_header(id_token)
    if header.get("alg") not in ALGORITHMS:
        raise SsoCheckFailed(
            "signature",
            f"The ID token is signed with “{header.get('alg')}”; Tenantry accepts only "
            f"{', '.join(ALGORITHMS)}.",
            {"header": header},
        )
    try:
        token = jwt.decode(id_token, keys, algorithms=list(ALGORITHMS))
    except BadSignatureError:
        raise SsoCheckFailed(
            "signature",
            "The ID token's signature does not match the provider's keys.",
            {"header": header},
        ) from None
    except JoseError as error:
        raise SsoCheckFailed(
            "signature",
            f"The ID token could not be verified: {error.description or error}.",
            {"header": header},
        ) from None
    claims = CodeIDToken(
        token.claims,
        token.header,
        options={
            "iss": {"essential": True, "value": issuer},
            "aud": {"essential": True, "value": client_id},
            "nonce": {"essential": True, "value": nonce},
        },
        params={"nonce": nonce, "client_id": client_id},
    )
    try:
        claims.validate(now=now, leeway=LEEWAY_SECONDS)
    except (ExpiredTokenError, ClaimError) as error:
        name = getattr(error, "claim", "exp").split(",")[0]
        words = CLAIM_WORDS.get(name)
        if isinstance(error, MissingClaimError) or not words:
            words = f"The ID token has no valid “{name}” claim."
        raise SsoCheckFailed(
            CLAIM_CHECKS.get(name, name), words, {"claims": token.claims, "header": header}
        ) from None
    return Identity(claims=dict(token.claims), header=dict(token.header))
