"""SAML single sign-on in Chromium, against pysaml2's IdP on loopback at another site (a
name Chromium maps to loopback, while Tenantry is 127.0.0.1, so the IdP's POST back is
cross-site and carries no session cookie, as a real IdP's): a customer's admin connects it
by its metadata URL, tests it, activates it, keeps a break-glass account and forces SSO; a
colleague with no account signs in through the IdP and is provisioned; a password is
refused; the break-glass admin still signs in, with a password and a second factor."""

from __future__ import annotations

import base64

import pytest
from django_otp.oath import totp
from playwright.sync_api import expect

from customers.identity.domains.models import VerifiedDomain
from customers.identity.sso.models import SsoConnection
from customers.models import CustomerUser
from customers.services import invite_accept
from tests.e2e.conftest import IDP_HOST, sign_in
from tests.factories import PASSWORD, UserFactory, make_customer, make_seat
from tests.idp import saml_idp

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def at_the_idp(page, email: str, expected_hint: str = "") -> None:
    """The IdP's sign-in page: the email (the hint Tenantry sent, if any), then Sign in."""
    if expected_hint:
        expect(page.get_by_label("Email")).to_have_value(expected_hint)
    page.get_by_label("Email").fill(email)
    page.get_by_role("button", name="Sign in").click()


def test_an_admin_connects_a_saml_idp_forces_sso_and_keeps_a_way_in(
    page, browser, live_server, settings, org, owner
):
    saml_idp.require()
    settings.SITE_URL = live_server.url
    settings.SSO_ALLOW_PRIVATE = True
    customer = make_customer(org, actor=owner, name="John-Acme", admin_email="john@acme.ai")
    invite_accept(invitation=customer.admin_invitation, actor=UserFactory(email="john@acme.ai"))
    make_seat(customer, email="ops@acme.ai", role="engineer")
    VerifiedDomain.objects.create(
        organization=org, customer=customer, domain="acme.ai", token="t", status="verified"
    )
    with saml_idp.running(host=IDP_HOST) as idp:
        # Setup: 1 sign in, 2 open SSO, 3 choose SAML, 4 name it, 5 give the metadata URL, 6 save.
        sign_in(page, "john@acme.ai", PASSWORD)
        page.get_by_role("link", name="SSO").click()
        page.get_by_label("SAML 2.0").check()
        expect(page.get_by_label("Issuer URL")).to_be_hidden()  # only SAML's settings now
        page.get_by_label("Name", exact=True).fill("Acme SAML")
        page.get_by_label("IdP metadata URL").fill(idp.entity_id)
        page.get_by_role("button", name="Save as draft").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Acme SAML")
        connection = SsoConnection.objects.for_customer(customer).get()
        acs = f"{live_server.url}/sso/saml/{connection.pk}/acs/"
        expect(page.locator("#sso-acs-url")).to_have_text(acs)
        expect(page.get_by_text("expires on")).to_be_visible()

        # 7 Test connection, 8 sign in at the IdP (cross-site POST back, posted again), 9 activate.
        posts = []
        page.on("request", lambda r: posts.append(r.method) if r.url == acs else None)
        page.get_by_role("button", name="Test connection").click()
        at_the_idp(page, "john@acme.ai")
        expect(page.locator("#sso-test-result")).to_contain_text("Test passed.")
        assert posts == ["POST", "POST"]  # the IdP's, without the cookie; then Tenantry's own
        expect(page.locator("#sso-test-result")).to_contain_text("signed in john@acme.ai")
        page.get_by_role("button", name="Activate").click()
        expect(page.locator("#messages")).to_contain_text("is active")

        page.get_by_role("link", name="Users").click()
        page.get_by_role("button", name="Make break-glass john@acme.ai").click()
        expect(page.get_by_text("Break-glass", exact=True)).to_be_visible()
        page.get_by_role("link", name="Settings").click()
        page.get_by_label("Force SSO").check()
        page.get_by_role("button", name="Save settings").click()
        page.context.clear_cookies()

        # A colleague with no account: email, Continue, sign in at the IdP, in the portal.
        colleague = browser.new_context(base_url=live_server.url)
        other = colleague.new_page()
        other.goto("/accounts/login/")
        other.get_by_label("Email").fill("grace@acme.ai")
        other.get_by_role("button", name="Continue").click()
        at_the_idp(other, "grace@acme.ai", expected_hint="grace@acme.ai")
        expect(other.get_by_role("heading", level=1)).to_contain_text("John-Acme")
        colleague.close()

        # A password is refused now, and points to SSO.
        page.goto("/accounts/login/?password=1")
        page.get_by_label("Email").fill("ops@acme.ai")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_text("requires single sign-on")).to_be_visible()

        # The break-glass admin still signs in: a password, then a second factor.
        page.goto("/accounts/login/?password=1")
        page.get_by_label("Email").fill("john@acme.ai")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("heading", level=1)).to_have_text(
            "Set up two-factor authentication"
        )
        key = page.locator("p.help code").inner_text().replace(" ", "")
        code = totp(base64.b32decode(key + "=" * (-len(key) % 8)))
        page.locator("#id_code").fill(f"{code:06d}")
        page.get_by_role("button", name="Turn on two-factor").click()
        expect(page.get_by_role("heading", level=1)).to_contain_text("John-Acme")
    grace = CustomerUser.objects.for_customer(customer).get(user__email="grace@acme.ai")
    assert grace.role == CustomerUser.Role.USER
    customer.refresh_from_db()
    assert customer.force_sso
