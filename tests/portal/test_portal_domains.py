"""The portal's Domains page: a customer's admins add, check and remove their own domains;
other seats and other customers get 403 and 404."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from customers.identity.domains.models import VerifiedDomain
from customers.identity.domains.services import domain_add
from tests.factories import make_seat


def publish(zone, claim: VerifiedDomain) -> None:
    zone.publish(claim.record_name, claim.record_value)


def test_a_customer_admin_adds_checks_and_removes_a_domain(dns_zone, portal_admin):
    seat, client = portal_admin
    response = client.post(reverse("portal:domains"), {"domain": "john-acme.example"})
    assert response.status_code == 302
    claim = VerifiedDomain.objects.for_customer(seat.customer).get()
    page = client.get(reverse("portal:domains")).content.decode()
    assert claim.record_name in page
    assert claim.record_value in page
    publish(dns_zone, claim)
    response = client.post(reverse("portal:domain_check", args=[claim.pk]), follow=True)
    assert "john-acme.example is verified." in response.content.decode()
    response = client.post(reverse("portal:domain_remove", args=[claim.pk]), follow=True)
    assert "Removed john-acme.example." in response.content.decode()


def test_a_refused_domain_keeps_what_was_typed_with_the_reason(portal_admin):
    _, client = portal_admin
    response = client.post(reverse("portal:domains"), {"domain": "outlook.com"})
    assert response.status_code == 422
    page = response.content.decode()
    assert "outlook.com is a public mail service" in page
    assert 'value="outlook.com"' in page


@pytest.mark.parametrize("typed", ["\x00", "é" * 300, "a.b\nc", "%00.com", "<script>.com"])
def test_nasty_input_gets_a_message_not_an_error(portal_admin, typed):
    _, client = portal_admin
    assert client.post(reverse("portal:domains"), {"domain": typed}).status_code == 422


def test_a_non_admin_seat_can_neither_see_nor_change_domains(portal_admin):
    seat, _ = portal_admin
    claim = domain_add(customer=seat.customer, domain="acme.example", actor=None)
    member = make_seat(seat.customer, role="user")
    client = Client()
    client.force_login(member.user)
    assert client.get(reverse("portal:domains")).status_code == 403
    assert client.post(reverse("portal:domain_remove", args=[claim.pk])).status_code == 403
    assert VerifiedDomain.objects.for_customer(seat.customer).exists()


def test_another_customers_domain_is_404_in_the_portal(portal_admin, other_customer_admin):
    _, client = portal_admin
    other_seat, _ = other_customer_admin
    theirs = domain_add(customer=other_seat.customer, domain="widget.example", actor=None)
    for name in ("portal:domain_check", "portal:domain_remove"):
        assert client.post(reverse(name, args=[theirs.pk])).status_code == 404
    assert VerifiedDomain.objects.for_customer(other_seat.customer).exists()
