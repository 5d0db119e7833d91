"""A customer's domains over the API: an organization key for any of its customers, a customer
key for its own only; another organization's, another customer's are 404; refusals are 422 and
409 with the reason."""

from __future__ import annotations

import pytest

from customers.identity.domains.models import VerifiedDomain
from customers.identity.domains.services import domain_add
from tests.factories import make_customer

pytestmark = pytest.mark.django_db


def test_add_list_verify_and_remove(api, customer, dns_zone):
    base = f"/customer/{customer.pk}/domains"
    created = api.post(base, {"domain": "Acme.Example"})
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["domain"] == "acme.example"
    assert body["status"] == "pending"
    assert body["record_name"] == "_tenantry-challenge.acme.example"
    assert api.get(base).json() == [body]

    checked = api.post(f"{base}/{body['id']}/verify")
    assert checked.status_code == 200
    assert checked.json()["status"] == "pending"
    assert checked.json()["last_result"].startswith("No TXT record")

    dns_zone.publish(body["record_name"], body["record_value"])
    verified = api.post(f"{base}/{body['id']}/verify").json()
    assert verified["status"] == "verified"
    assert verified["verified_at"] is not None

    assert api.delete(f"{base}/{body['id']}").status_code == 204
    assert api.get(base).json() == []


@pytest.mark.parametrize(
    ("domain", "status", "says"),
    [
        ("gmail.com", 422, "public mail service"),
        ("https://acme.example", 422, "Enter a domain name"),
        ("a\nb.example", 422, "Enter a domain name"),
        ("x" * 254, 422, "253"),
    ],
)
def test_refusals_say_why(api, customer, domain, status, says):
    response = api.post(f"/customer/{customer.pk}/domains", {"domain": domain})
    assert response.status_code == status
    assert says in str(response.json())


def test_the_same_domain_twice_is_409(api, customer):
    api.post(f"/customer/{customer.pk}/domains", {"domain": "acme.example"})
    again = api.post(f"/customer/{customer.pk}/domains", {"domain": "acme.example"})
    assert again.status_code == 409
    assert "already has acme.example" in again.json()["detail"]


def test_a_customer_key_reaches_its_own_customers_domains_only(customer_api, customer, org, owner):
    mine = customer_api.post(f"/customer/{customer.pk}/domains", {"domain": "acme.example"})
    assert mine.status_code == 201
    other = make_customer(org, actor=owner, name="Widget")
    theirs = domain_add(customer=other, domain="widget.example", actor=owner)
    assert customer_api.get(f"/customer/{other.pk}/domains").status_code == 404
    path = f"/customer/{other.pk}/domains/{theirs.pk}"
    assert customer_api.delete(path).status_code == 404
    assert customer_api.post(f"{path}/verify").status_code == 404
    # Nor through its own customer's path.
    assert customer_api.delete(f"/customer/{customer.pk}/domains/{theirs.pk}").status_code == 404
    assert VerifiedDomain.objects.for_customer(other).exists()


def test_another_organizations_customer_is_404(other_api, customer, owner):
    claim = domain_add(customer=customer, domain="acme.example", actor=owner)
    base = f"/customer/{customer.pk}/domains"
    assert other_api.get(base).status_code == 404
    assert other_api.post(base, {"domain": "x.example"}).status_code == 404
    assert other_api.post(f"{base}/{claim.pk}/verify").status_code == 404
    assert other_api.delete(f"{base}/{claim.pk}").status_code == 404
    assert VerifiedDomain.objects.for_customer(customer).count() == 1


def test_a_failed_domain_is_409_until_added_again(api, customer, owner):
    from datetime import timedelta

    from customers.identity.domains.services import domain_verify

    claim = domain_add(customer=customer, domain="acme.example", actor=owner)
    domain_verify(domain=claim, actor=owner, now=claim.created_at + timedelta(days=31))
    response = api.post(f"/customer/{customer.pk}/domains/{claim.pk}/verify")
    assert response.status_code == 409
    assert "not verified within 30 days" in response.json()["detail"]
