"""A customer's admin proves a domain in Chromium: Portal → Domains, add it, publish the TXT
record the page shows (on a DNS server on loopback), Check now, verified."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from customers.services import invite_accept
from tests.e2e.conftest import sign_in
from tests.factories import PASSWORD, UserFactory, make_customer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_customer_admin_proves_a_domain(page, org, owner, dns_zone):
    customer = make_customer(org, actor=owner, name="John-Acme", admin_email="john@acme.ai")
    invite_accept(invitation=customer.admin_invitation, actor=UserFactory(email="john@acme.ai"))
    sign_in(page, "john@acme.ai", PASSWORD)
    page.get_by_role("link", name="Domains").click()
    page.get_by_label("Domain", exact=True).fill("Acme.Example")
    page.get_by_role("button", name="Add domain").click()

    row = page.get_by_role("row", name="acme.example")
    expect(row).to_contain_text("Pending")
    name = row.locator("code").nth(0).inner_text()
    value = row.locator("code").nth(1).inner_text()
    assert name == "_tenantry-challenge.acme.example"

    row.get_by_role("button", name="Check now").click()
    expect(page.locator("#messages")).to_contain_text("No TXT record")

    dns_zone.publish(name, value)
    page.get_by_role("row", name="acme.example").get_by_role("button", name="Check now").click()
    expect(page.locator("#messages")).to_contain_text("acme.example is verified.")
    expect(page.get_by_role("row", name="acme.example")).to_contain_text("Verified")
