"""Forged and broken SAML responses, each refused with the check it fails: a missing or
broken signature on the response or the assertion, signature wrapping, comment injection in
the NameID, another audience, destination or recipient, another request's InResponseTo, an
unsolicited response, times out of range, SHA-1 and unknown algorithms, oversized or
DTD-laden XML, an expired certificate, and a replayed assertion (raced on PostgreSQL). The
genuine response, signed by pysaml2's IdP, is the control."""

from __future__ import annotations

import base64
import datetime
import re
import zlib

import pytest
import time_machine

from customers.identity.sso import saml, saml_shape
from customers.identity.sso.idtoken import SsoCheckFailed
from customers.identity.sso.models import SamlAssertionSeen, SsoConnection
from customers.identity.sso.saml_services import saml_assertion_accepted
from customers.identity.sso.services import sso_connection_create
from tests.conftest import requires_postgres
from tests.factories import make_customer
from tests.idp import saml_forgery, saml_idp
from tests.threads import race

EMAIL = "ann@acme.test"


@pytest.fixture(autouse=True)
def _xmlsec():
    saml_idp.require()


@pytest.fixture(scope="module")
def idp():
    return saml_idp.Idp()


@pytest.fixture
def connection(org, owner, idp):
    customer = make_customer(org, actor=owner, name="Acme Corp")
    return new_connection(customer, owner, idp, "Acme SAML")


def new_connection(customer, owner, idp, name, **settings) -> SsoConnection:
    connection = sso_connection_create(
        customer=customer,
        actor=owner,
        name=name,
        protocol="saml",
        idp_entity_id=idp.entity_id,
        idp_sso_url=idp.sso_url,
        idp_certificate=settings.pop("certificate", idp.certificate),
        **settings,
    )
    idp.trust(saml.sp_metadata(connection))
    return connection


def signed(idp, connection, request_id, **kwargs) -> str:
    kwargs.setdefault("email", EMAIL)
    return idp.response(
        acs=kwargs.pop("acs", saml.acs_url(connection)),
        sp=kwargs.pop("sp", saml.entity_id(connection)),
        in_response_to=request_id,
        **kwargs,
    )


def request_id_of(connection) -> str:
    request_id, _url = saml.authn_request(connection)
    return request_id


def refused(connection, encoded, request_id) -> str:
    with pytest.raises(SsoCheckFailed) as failure:
        saml.check_response(connection, encoded, request_id)
    return failure.value.check


def test_the_genuine_response_is_accepted(idp, connection):
    request_id = request_id_of(connection)
    assertion = saml.check_response(connection, signed(idp, connection, request_id), request_id)
    assert assertion.claims["email"] == EMAIL
    assert assertion.in_response_to == request_id
    assert assertion.expires_at > datetime.datetime.now(datetime.UTC)


@pytest.mark.parametrize(
    ("change", "check"),
    [
        ({"sign_response": False}, "signature"),
        ({"sign_assertion": False}, "signature"),
        ({"sign_response": False, "sign_assertion": False}, "signature"),
        ({"sign_alg": saml_idp.SHA1, "digest_alg": saml_idp.DIGEST_SHA1}, "algorithm"),
        ({"digest_alg": saml_idp.DIGEST_SHA1}, "algorithm"),
        ({"acs": "https://attacker.example/acs"}, "destination"),
        ({"recipient": "https://attacker.example/acs"}, "recipient"),
    ],
)
def test_a_response_signed_wrongly_or_addressed_elsewhere_is_refused(
    idp, connection, change, check
):
    request_id = request_id_of(connection)
    assert refused(connection, signed(idp, connection, request_id, **change), request_id) == check


def test_a_response_signed_by_another_key_is_refused(connection):
    impostor = saml_idp.Idp()  # same entity id, its own key
    impostor.trust(saml.sp_metadata(connection))
    request_id = request_id_of(connection)
    assert refused(connection, signed(impostor, connection, request_id), request_id) == "signature"


def test_an_assertion_meant_for_another_connection_is_refused(idp, connection, owner):
    other = new_connection(connection.customer, owner, idp, "Second")
    request_id = request_id_of(connection)
    encoded = signed(idp, connection, request_id, sp=saml.entity_id(other))
    assert refused(connection, encoded, request_id) == "audience"


def test_an_answer_to_another_request_or_to_none_is_refused(idp, connection):
    request_id = request_id_of(connection)
    other = signed(idp, connection, "id-some-other-request")
    assert refused(connection, other, request_id) == "InResponseTo"
    unsolicited = signed(idp, connection, None)
    assert refused(connection, unsolicited, None) == "InResponseTo"


def test_an_unsolicited_response_is_accepted_only_where_allowed(idp, org, owner):
    customer = make_customer(org, actor=owner, name="Open Co")
    connection = new_connection(customer, owner, idp, "Dashboard", allow_idp_initiated=True)
    assertion = saml.check_response(connection, signed(idp, connection, None), None)
    assert assertion.claims["email"] == EMAIL
    # Even so, a response that answers some request is not taken as unsolicited.
    assert refused(connection, signed(idp, connection, "id-x"), None) == "InResponseTo"


def test_a_tampered_email_breaks_the_signature(idp, connection):
    request_id = request_id_of(connection)
    xml = signed(idp, connection, request_id, xml=True)
    forged = saml_idp.encode(xml.replace(EMAIL, "boss@acme.test"))
    assert refused(connection, forged, request_id) == "signature"


def _assertion(xml: str) -> str:
    return re.search(r"<(\w+):Assertion .*?</\1:Assertion>", xml, re.S).group(0)


def test_signature_wrapping_is_refused(idp, connection):
    request_id = request_id_of(connection)
    xml = signed(idp, connection, request_id, xml=True)
    original = _assertion(xml)
    evil = re.sub(r'ID="[^"]+"', 'ID="id-evil"', original, count=1).replace(EMAIL, "boss@acme.test")
    evil = re.sub(r"<ns2:Signature.*?</ns2:Signature>", "", evil, flags=re.S)
    variants = {
        # An unsigned assertion beside the signed one, before it.
        "before": xml.replace(original, evil + original),
        # The signed assertion hidden in the evil one's place of the Subject.
        "nested": xml.replace(
            original, evil.replace("</ns1:Subject>", original + "</ns1:Subject>")
        ),
        # The evil assertion carries the signed one's ID.
        "same id": xml.replace(original, original.replace(EMAIL, "boss@acme.test")),
        # The signed response wrapped inside a new, unsigned one that carries the evil one.
        "wrapped": _wrapped(xml, evil),
    }
    accepted = []
    for name, forged in variants.items():
        try:
            saml.check_response(connection, saml_idp.encode(forged), request_id)
        except SsoCheckFailed:
            continue
        accepted.append(name)
    assert accepted == []


def _wrapped(xml: str, evil: str) -> str:
    body = re.sub(r"^<\?xml[^>]*>\s*", "", xml)
    start = re.match(r"<ns0:Response [^>]*>", body).group(0)
    outer = re.sub(r' ID="[^"]+"', ' ID="id-wrapper"', start)
    return outer + "<ns0:Extensions>" + body + "</ns0:Extensions>" + evil + "</ns0:Response>"


def test_a_comment_in_the_name_id_does_not_cut_the_email_short(idp, connection):
    """The classic: a comment splits the signed NameID so a naive reader sees a prefix."""
    request_id = request_id_of(connection)
    long_email = "ann@acme.test.attacker.example"
    xml = signed(idp, connection, request_id, email=long_email, xml=True)
    forged = xml.replace(f">{long_email}<", ">ann@acme.test<!---->.attacker.example<")
    assertion = saml.check_response(connection, saml_idp.encode(forged), request_id)
    assert assertion.claims["NameID"] == long_email  # the whole text, never the prefix
    assert assertion.claims["email"] == long_email


@pytest.mark.parametrize(("minutes", "words"), [(20, "expired"), (-20, "not valid yet")])
def test_a_response_outside_its_times_is_refused(idp, connection, minutes, words):
    request_id = request_id_of(connection)
    encoded = signed(idp, connection, request_id)
    later = datetime.datetime.now(datetime.UTC) + datetime.timedelta(minutes=minutes)
    with time_machine.travel(later), pytest.raises(SsoCheckFailed) as failure:
        saml.check_response(connection, encoded, request_id)
    assert failure.value.check == "clock skew"
    assert words in str(failure.value)


def test_oversized_malformed_and_dtd_responses_are_refused(idp, connection):
    request_id = request_id_of(connection)
    assert refused(connection, "A" * 300_000, request_id) == "size"
    assert refused(connection, "not base64 at all!", request_id) == "format"
    bomb = '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa">]><r>&a;</r>'
    assert refused(connection, saml_idp.encode(bomb), request_id) == "format"
    other_message = saml_idp.encode(
        '<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"/>'
    )
    assert refused(connection, other_message, request_id) == "format"


def test_an_expired_certificate_is_refused_in_words(connection, owner):
    expired_idp = saml_idp.Idp(days=-1)
    current = new_connection(
        connection.customer, owner, expired_idp, "Old", certificate=expired_idp.certificate
    )
    request_id = request_id_of(current)
    with pytest.raises(SsoCheckFailed) as failure:
        saml.check_response(current, signed(expired_idp, current, request_id), request_id)
    assert failure.value.check == "certificate"
    assert "expired on" in str(failure.value)


def test_a_replayed_assertion_is_refused(idp, connection):
    request_id = request_id_of(connection)
    assertion = saml.check_response(connection, signed(idp, connection, request_id), request_id)
    saml_assertion_accepted(connection, assertion)
    with pytest.raises(SsoCheckFailed) as failure:
        saml_assertion_accepted(connection, assertion)
    assert failure.value.check == "replay"


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_eight_simultaneous_replays_of_one_assertion_let_one_through(idp, connection):
    request_id = request_id_of(connection)
    assertion = saml.check_response(connection, signed(idp, connection, request_id), request_id)

    errors = race(8, lambda n: saml_assertion_accepted(connection, assertion))
    assert len(errors) == 7
    assert all(isinstance(e, SsoCheckFailed) and e.check == "replay" for e in errors)
    seen = SamlAssertionSeen.objects.for_worker().filter(assertion_id=assertion.assertion_id)
    assert seen.count() == 1


def test_the_decoded_response_of_a_failure_is_read_unverified(idp, connection):
    request_id = request_id_of(connection)
    encoded = signed(idp, connection, request_id, sign_response=False)
    with pytest.raises(SsoCheckFailed) as failure:
        saml.check_response(connection, encoded, request_id)
    assert failure.value.details["unverified"] is True
    assert failure.value.details["name_id"] == EMAIL
    assert base64.b64decode(encoded)  # what was checked is what the IdP sent


def _now(seconds: int = 0) -> str:
    moment = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=seconds)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_a_forgery_made_of_two_genuine_signatures_is_refused(idp, connection):
    """Two responses the IdP once signed (for anyone, anywhere) and a made-up assertion."""
    first = signed(idp, connection, "id-old-1", email="mallory@acme.test", xml=True)
    second = signed(idp, connection, "id-old-2", email="mallory@acme.test", xml=True)
    request_id = request_id_of(connection)
    forged = saml_forgery.forge(
        first,
        second,
        idp_entity=idp.entity_id,
        acs=saml.acs_url(connection),
        audience=saml.entity_id(connection),
        in_response_to=request_id,
        email="boss@acme.test",
        not_before=_now(-5),
        not_after=_now(240),
    )
    assert refused(connection, saml_idp.encode(forged), request_id) == "signature"


def test_a_signature_with_an_xpath_transform_is_refused_before_xmlsec_runs(idp, connection):
    request_id = request_id_of(connection)
    xml = signed(idp, connection, request_id, xml=True)
    expensive = saml_forgery.xpath_first_signature(xml, depth=2000)
    with time_machine.travel(datetime.datetime.now(datetime.UTC), tick=False):
        # Frozen time: the refusal comes before any work that would take a clock to notice.
        assert refused(connection, saml_idp.encode(expensive), request_id) == "signature"


BOSS_NAME_ID = (
    '<saml:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">'
    "boss@acme.test</saml:NameID>"
)
BOSS_EMAIL = (
    '<saml:Attribute Name="email"><saml:AttributeValue>boss@acme.test</saml:AttributeValue>'
    "</saml:Attribute>"
)


def in_prefix(xml: str, text: str) -> str:
    """``text`` written with saml: for the assertion namespace, in the prefix ``xml`` uses
    (pysaml2's output names it ns1 or saml, as ElementTree's registry has it)."""
    prefix = re.search(r"<(\w+):Assertion ", xml).group(1)
    return text.replace("saml:", f"{prefix}:")


ODD_SUBJECTS = {
    "no conditions": (r"<saml:Conditions .*?</saml:Conditions>", "", "audience"),
    "two name ids": (r"(</saml:NameID>)", r"\1" + BOSS_NAME_ID, "format"),
    "email twice": (r"(<saml:AttributeStatement>)", r"\1" + BOSS_EMAIL, "format"),
    "xml in a value": (
        rf"({EMAIL})(</saml:AttributeValue>)",
        r"\1<b xmlns='urn:x'>.x</b>\2",
        "format",
    ),
}


@pytest.mark.parametrize("case", ODD_SUBJECTS)
def test_odd_but_genuinely_signed_subjects_are_refused(idp, connection, case):
    pattern, replacement, check = ODD_SUBJECTS[case]
    request_id = request_id_of(connection)
    xml = signed(idp, connection, request_id, xml=True)
    changed = re.sub(in_prefix(xml, pattern), in_prefix(xml, replacement), xml, count=1, flags=re.S)
    assert changed != xml
    forged = saml_idp.resign(idp, changed)
    assert refused(connection, saml_idp.encode(forged), request_id) == check


def test_two_attributes_that_both_claim_to_be_the_email_are_refused(idp, connection):
    request_id = request_id_of(connection)
    nickname = (
        '<saml:Attribute Name="urn:custom:nickname" FriendlyName="email">'
        "<saml:AttributeValue>boss@acme.test</saml:AttributeValue></saml:Attribute>"
    )
    xml = signed(idp, connection, request_id, xml=True)
    statement = in_prefix(xml, "<saml:AttributeStatement>")
    xml = saml_idp.resign(idp, xml.replace(statement, statement + in_prefix(xml, nickname)))
    assert refused(connection, saml_idp.encode(xml), request_id) == "format"


def test_a_response_that_is_xml_one_way_and_deflate_the_other_is_refused(
    idp, connection, monkeypatch
):
    """What is checked is what pysaml2 reads: the XML view passes the layout checks, and the
    inflated view is the two-signature forgery."""
    request_id = request_id_of(connection)
    cover = signed(idp, connection, request_id, xml=True)
    hidden = saml_forgery.forge(
        signed(idp, connection, "id-old-1", xml=True),
        signed(idp, connection, "id-old-2", xml=True),
        idp_entity=idp.entity_id,
        acs=saml.acs_url(connection),
        audience=saml.entity_id(connection),
        in_response_to=request_id,
        email="boss@acme.test",
        not_before=_now(-5),
        not_after=_now(240),
    )
    both = saml_forgery.polyglot(cover, hidden)
    assert zlib.decompress(both, -15).strip().startswith(b"<ns0:Response")  # it is both
    encoded = base64.b64encode(both).decode()
    assert refused(connection, encoded, request_id) == "format"
    # Even past that check, pysaml2 reads the XML Tenantry checked, not the inflated one.
    monkeypatch.setattr(saml_shape, "_inflates", lambda xml: False)
    with pytest.raises(SsoCheckFailed) as failure:
        saml.check_response(connection, encoded, request_id)
    assert "boss@acme.test" not in str(failure.value.details)
    assert failure.value.check != "replay"


def test_a_deflated_response_is_refused_though_pysaml2_would_inflate_it(idp, connection):
    request_id = request_id_of(connection)
    xml = signed(idp, connection, request_id, xml=True).encode()
    deflated = zlib.compressobj(9, zlib.DEFLATED, -15)
    squeezed = deflated.compress(xml) + deflated.flush()
    assert refused(connection, base64.b64encode(squeezed).decode(), request_id) == "format"


def test_entras_claim_names_are_read_as_the_default_ones(idp, connection):
    entra = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/"
    attributes = {
        f"{entra}emailaddress": [EMAIL],
        f"{entra}givenname": ["Ann"],
        f"{entra}surname": ["Lee"],
        "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups": ["it-admins", "staff"],
    }
    request_id = request_id_of(connection)
    encoded = signed(idp, connection, request_id, attributes=attributes, name_id="ann-upn")
    claims = saml.check_response(connection, encoded, request_id).claims
    assert claims["email"] == EMAIL
    assert (claims["given_name"], claims["family_name"]) == ("Ann", "Lee")
    assert claims["groups"] == ["it-admins", "staff"]
