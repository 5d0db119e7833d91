"""Single sign-on in Chromium, against a real OpenID Connect provider (oidc-provider under
Node, on loopback): a customer's admin connects it in the portal, tests it with a round trip
and activates it; then a colleague who never had an account types their email, signs in at
the provider and lands in the portal."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from customers.identity.domains.models import VerifiedDomain
from customers.identity.sso.models import SsoConnection
from customers.models import CustomerUser
from customers.services import invite_accept
from tests.e2e.conftest import sign_in
from tests.factories import PASSWORD, UserFactory, make_customer
from tests.idp import oidc_provider

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ACCOUNTS = {"grace@acme.ai": {"given_name": "Grace", "family_name": "Hopper"}}


def at_the_provider(page, email: str) -> None:
    """The provider's own sign-in form (its development login: any email, any password)."""
    page.locator("input[name=login]").fill(email)
    page.locator("input[name=password]").fill("any password")
    page.get_by_role("button", name="Sign-in").click()


def test_an_admin_connects_their_provider_and_a_colleague_signs_in(
    page, browser, live_server, settings, org, owner
):
    settings.SITE_URL = live_server.url
    settings.SSO_ALLOW_PRIVATE = True
    customer = make_customer(org, actor=owner, name="John-Acme", admin_email="john@acme.ai")
    invite_accept(invitation=customer.admin_invitation, actor=UserFactory(email="john@acme.ai"))
    VerifiedDomain.objects.create(
        organization=org, customer=customer, domain="acme.ai", token="t", status="verified"
    )
    with oidc_provider.running(live_server.url, accounts=ACCOUNTS) as provider:
        sign_in(page, "john@acme.ai", PASSWORD)
        page.get_by_role("link", name="SSO").click()
        page.get_by_label("Name", exact=True).fill("Acme IdP")
        page.get_by_label("Issuer URL").fill(provider.issuer)
        page.get_by_label("Client ID").fill(provider.client_id)
        page.get_by_label("Client secret").fill(provider.client_secret)
        page.get_by_role("button", name="Save as draft").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Acme IdP")
        connection = SsoConnection.objects.for_customer(customer).get()
        callback = f"{live_server.url}/sso/oidc/{connection.pk}/callback/"
        expect(page.locator("#sso-redirect-uri")).to_have_text(callback)

        page.get_by_role("button", name="Test connection").click()
        at_the_provider(page, "john@acme.ai")
        expect(page.locator("#sso-test-result")).to_contain_text("Test passed.")
        expect(page.locator("#sso-test-result")).to_contain_text("signed in john@acme.ai")
        page.get_by_role("button", name="Activate").click()
        expect(page.locator("#messages")).to_contain_text("is active")

        colleague = browser.new_context(base_url=live_server.url)
        other = colleague.new_page()
        other.goto("/accounts/login/")
        other.get_by_label("Email").fill("grace@acme.ai")
        other.get_by_role("button", name="Continue").click()
        at_the_provider(other, "grace@acme.ai")
        expect(other.get_by_role("heading", level=1)).to_contain_text("John-Acme")
        colleague.close()
    grace = CustomerUser.objects.for_customer(customer).get(user__email="grace@acme.ai")
    assert grace.user.name == "Grace Hopper"
