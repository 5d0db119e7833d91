"""The ID token's checks, against tokens an attacker would forge: no signature, a signature by
the client secret or by another key, someone else's audience or issuer, a replayed nonce, a
token from the wrong time. Each is refused with the check it failed, in plain words."""

from __future__ import annotations

import base64
import json
import time

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet, OctKey, RSAKey

from customers.identity.sso.idtoken import LEEWAY_SECONDS, SsoCheckFailed, verify_id_token

ISSUER = "https://idp.example.com"
CLIENT = "tenantry-client"
NONCE = "n-0S6_WzA2Mj"

PROVIDER_KEY = RSAKey.generate_key(2048, parameters={"kid": "provider"})
ATTACKER_KEY = RSAKey.generate_key(2048, parameters={"kid": "provider"})
KEYS = KeySet([PROVIDER_KEY])


def claims(**overrides):
    now = int(time.time())
    base = {
        "iss": ISSUER,
        "sub": "248289761001",
        "aud": CLIENT,
        "exp": now + 300,
        "iat": now,
        "nonce": NONCE,
        "email": "ada@acme.example",
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def signed(payload, key=PROVIDER_KEY, alg="RS256"):
    return jwt.encode({"alg": alg, "kid": "provider"}, payload, key)


def check(token):
    return verify_id_token(token, KEYS, issuer=ISSUER, client_id=CLIENT, nonce=NONCE)


def refused(token) -> SsoCheckFailed:
    with pytest.raises(SsoCheckFailed) as caught:
        check(token)
    return caught.value


def b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_a_token_signed_by_the_provider_for_this_sign_in_passes():
    identity = check(signed(claims()))
    assert identity.claims["email"] == "ada@acme.example"
    assert identity.header["alg"] == "RS256"


def test_alg_none_is_refused_as_a_signature_failure():
    token = f"{b64({'alg': 'none'})}.{b64(claims())}."
    failure = refused(token)
    assert failure.check == "signature"
    assert "“none”" in str(failure)


def test_a_token_signed_with_the_client_secret_hs256_is_refused():
    # The secret is shared with the customer's IT staff: an HMAC over it proves nothing.
    secret = OctKey.import_key("the-client-secret-that-the-it-team-also-holds")
    token = jwt.encode({"alg": "HS256"}, claims(), secret)
    assert refused(token).check == "signature"


def test_a_token_signed_by_another_key_with_the_providers_key_id_is_refused():
    failure = refused(signed(claims(), key=ATTACKER_KEY))
    assert failure.check == "signature"
    assert "does not match" in str(failure)


def test_a_payload_swapped_under_a_genuine_signature_is_refused():
    genuine = signed(claims())
    header, _payload, signature = genuine.split(".")
    forged = ".".join([header, b64(claims(email="ceo@acme.example")), signature])
    assert refused(forged).check == "signature"


def test_a_token_for_another_client_is_refused_as_the_audience():
    failure = refused(signed(claims(aud="some-other-app")))
    assert failure.check == "audience"
    assert "client ID" in str(failure)


def test_a_token_for_several_audiences_needs_this_client_as_the_authorized_party():
    assert refused(signed(claims(aud=[CLIENT, "other"]))).check == "azp"
    assert refused(signed(claims(aud=[CLIENT, "other"], azp="other"))).check == "azp"
    check(signed(claims(aud=[CLIENT, "other"], azp=CLIENT)))


def test_a_token_from_another_issuer_is_refused():
    failure = refused(signed(claims(iss="https://evil.example.com")))
    assert failure.check == "iss"


def test_a_replayed_token_from_another_sign_in_fails_its_nonce():
    assert refused(signed(claims(nonce="an-earlier-sign-in"))).check == "nonce"
    assert refused(signed(claims(nonce=None))).check == "nonce"


def test_an_expired_token_is_a_clock_skew_failure_beyond_the_leeway():
    now = int(time.time())
    failure = refused(signed(claims(exp=now - LEEWAY_SECONDS - 5, iat=now - 900)))
    assert failure.check == "clock skew"
    assert "expired" in str(failure)
    check(signed(claims(exp=now - LEEWAY_SECONDS + 30, iat=now - 900)))  # within the leeway


def test_a_token_issued_in_the_future_is_a_clock_skew_failure():
    now = int(time.time())
    failure = refused(signed(claims(iat=now + LEEWAY_SECONDS + 60, exp=now + 900)))
    assert failure.check == "clock skew"


def test_a_missing_subject_is_refused():
    assert refused(signed(claims(sub=None))).check == "sub"


def test_garbage_is_refused_without_an_exception_escaping():
    for junk in ["", "a.b", "a.b.c", "....", "eyJ.eyJ.sig", "x" * 5000]:
        assert refused(junk).check == "signature"


def test_the_failure_carries_the_decoded_token_for_the_connection_test():
    failure = refused(signed(claims(aud="some-other-app")))
    assert failure.details["claims"]["aud"] == "some-other-app"
    assert failure.details["header"]["alg"] == "RS256"
