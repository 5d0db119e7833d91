"""A customer's SSO connections over the API: set up, change, activate (only after a passing
test), deactivate, remove. The client secret goes in and never comes out; another
organization's and another customer's connections are 404; refusals say why."""

from __future__ import annotations

import pytest

from audit.models import AuditEntry
from customers.identity.sso.models import SsoConnection
from customers.identity.sso.services import sso_connection_create, sso_connection_test_recorded
from tests.factories import make_customer
from tests.idp import saml_idp

pytestmark = pytest.mark.django_db

SECRET = "the-providers-client-secret-4d1f"


def body(**changes):
    return {
        "name": "Okta",
        "issuer": "https://acme.okta.example",
        "client_id": "0oa1tenantry",
        "client_secret": SECRET,
        "group_roles": {"it-admins": "superuser"},
        **changes,
    }


def test_set_up_change_activate_deactivate_and_remove(api, customer):
    base = f"/customer/{customer.pk}/sso-connections"
    created = api.post(base, body())
    assert created.status_code == 201, created.content
    connection = created.json()
    assert connection["status"] == "draft"
    assert connection["client_secret_set"] is True
    assert connection["redirect_uri"].endswith(f"/sso/oidc/{connection['id']}/callback/")
    assert SECRET not in created.content.decode()
    assert api.get(base).json() == [connection]
    one = f"{base}/{connection['id']}"
    assert api.get(one).json() == connection

    refused = api.post(f"{one}/activate")
    assert refused.status_code == 409
    assert "Test “Okta” first" in refused.json()["detail"]

    row = SsoConnection.objects.for_customer(customer).get()
    sso_connection_test_recorded(connection=row, actor=None, passed=True, result="ok")
    assert api.post(f"{one}/activate").json()["status"] == "active"
    renamed = api.patch(one, {"name": "Okta (prod)", "default_role": "engineer"})
    assert renamed.json()["name"] == "Okta (prod)"
    assert renamed.json()["status"] == "active"
    rekeyed = api.patch(one, {"client_secret": "a-brand-new-secret"})
    assert rekeyed.json()["status"] == "draft"  # the test no longer holds
    assert api.post(f"{one}/deactivate").json()["status"] == "draft"
    assert api.delete(one).status_code == 204
    assert api.get(base).json() == []

    entries = AuditEntry.objects.for_organization(customer.organization).filter(
        action__startswith="sso_connection."
    )
    assert {e.actor_type for e in entries.exclude(action="sso_connection.tested")} == {"token"}
    assert SECRET not in str(list(entries.values()))
    assert "a-brand-new-secret" not in str(list(entries.values()))


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"issuer": "not a url"}, "Enter a valid URL"),
        ({"group_roles": {"x": "god"}}, "superuser"),
        ({"default_role": "owner"}, "superuser"),
        ({"name": ""}, "at least 1"),
        ({"name": "a\nb"}, "pattern"),
        ({"client_id": "x" * 256}, "at most 255"),
    ],
)
def test_bad_settings_are_422_with_the_reason(api, customer, changes, says):
    response = api.post(f"/customer/{customer.pk}/sso-connections", body(**changes))
    assert response.status_code == 422
    assert says in str(response.json())
    assert not SsoConnection.objects.for_customer(customer).exists()


def test_the_same_name_twice_is_409(api, customer):
    api.post(f"/customer/{customer.pk}/sso-connections", body())
    again = api.post(f"/customer/{customer.pk}/sso-connections", body())
    assert again.status_code == 409


def test_a_customer_key_reaches_its_own_customers_connections_only(
    customer_api, customer, org, owner
):
    assert customer_api.post(f"/customer/{customer.pk}/sso-connections", body()).status_code == 201
    other = make_customer(org, actor=owner, name="Widget")
    theirs = sso_connection_create(
        customer=other, actor=owner, name="Entra", issuer="https://e.example", client_id="c"
    )
    assert customer_api.get(f"/customer/{other.pk}/sso-connections").status_code == 404
    for path in (
        f"/customer/{other.pk}/sso-connections/{theirs.pk}",
        f"/customer/{customer.pk}/sso-connections/{theirs.pk}",
    ):
        assert customer_api.get(path).status_code == 404
        assert customer_api.patch(path, {"name": "x"}).status_code == 404
        assert customer_api.post(f"{path}/activate").status_code == 404
        assert customer_api.delete(path).status_code == 404
    assert SsoConnection.objects.for_customer(other).get().name == "Entra"


def test_another_organizations_customer_is_404(other_api, customer, owner):
    theirs = sso_connection_create(
        customer=customer, actor=owner, name="Okta", issuer="https://o.example", client_id="c"
    )
    base = f"/customer/{customer.pk}/sso-connections"
    assert other_api.get(base).status_code == 404
    assert other_api.post(base, body(name="Mine")).status_code == 404
    assert other_api.post(f"{base}/{theirs.pk}/deactivate").status_code == 404
    assert other_api.delete(f"{base}/{theirs.pk}").status_code == 404
    assert other_api.get(f"{base}/not-a-uuid").status_code == 404
    assert SsoConnection.objects.for_customer(customer).count() == 1


def test_a_saml_connection_from_metadata_shows_tenantrys_side(api, customer):
    idp = saml_idp.Idp()
    base = f"/customer/{customer.pk}/sso-connections"
    created = api.post(
        base, {"name": "Entra", "protocol": "saml", "idp_metadata_xml": idp.metadata()}
    )
    assert created.status_code == 201, created.content
    connection = created.json()
    assert connection["protocol"] == "saml"
    assert connection["idp_entity_id"] == idp.entity_id
    assert connection["idp_sso_url"] == idp.sso_url
    assert connection["idp_certificate_expires_at"] is not None
    assert connection["redirect_uri"] is None
    assert connection["acs_url"].endswith(f"/sso/saml/{connection['id']}/acs/")
    assert connection["sp_entity_id"].endswith(f"/sso/saml/{connection['id']}/metadata/")
    one = f"{base}/{connection['id']}"
    rolled = api.patch(one, {"idp_certificate": saml_idp.key_pair()[1]})
    assert rolled.status_code == 200
    moved = api.patch(one, {"idp_sso_url": "https://idp.example.test/new"})
    assert moved.json()["idp_sso_url"] == "https://idp.example.test/new"


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"idp_metadata_xml": "<nope"}, "not well-formed XML"),
        ({"idp_certificate": "hello"}, "not an X.509 certificate"),
        ({"idp_metadata_url": "http://idp.example/metadata"}, "must be https://"),
    ],
)
def test_bad_saml_settings_are_refused_with_the_reason(api, customer, changes, says, settings):
    settings.SSO_ALLOW_PRIVATE = False
    response = api.post(
        f"/customer/{customer.pk}/sso-connections", {"name": "S", "protocol": "saml", **changes}
    )
    assert response.status_code in (400, 422)
    assert says in str(response.json())
    assert not SsoConnection.objects.for_customer(customer).exists()


def test_a_saml_draft_needs_only_a_name_and_cannot_be_activated_untested(api, customer):
    base = f"/customer/{customer.pk}/sso-connections"
    created = api.post(base, {"name": "Okta", "protocol": "saml"})
    assert created.status_code == 201, created.content
    connection = created.json()
    assert connection["status"] == "draft"
    assert connection["acs_url"].endswith(f"/sso/saml/{connection['id']}/acs/")
    refused = api.post(f"{base}/{connection['id']}/activate")
    assert refused.status_code == 409
