"""Security settings of seed 002, enforced: IP allow-list, forced 2FA, forced SSO, suspension."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.models import AuditEntry
from customers.models import Customer
from customers.platform.net import normalise_ip_allow_list
from customers.services import customer_suspend, customer_update
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def set_customer(customer, **changes):
    customer.refresh_from_db()
    if changes.get("force_sso"):
        usable_sso_connection(customer)  # forcing SSO needs an active, tested connection
    return customer_update(customer=customer, actor=None, expected_version=None, changes=changes)


def usable_sso_connection(customer):
    from customers.identity.sso.services import (
        sso_connection_activate,
        sso_connection_create,
        sso_connection_test_recorded,
    )

    connection = sso_connection_create(
        customer=customer, actor=None, name="Okta", issuer="https://i.example", client_id="c"
    )
    sso_connection_test_recorded(connection=connection, actor=None, passed=True, result="ok")
    return sso_connection_activate(connection=connection, actor=None)


class TestAllowListParsing:
    @pytest.mark.parametrize(
        ("raw", "normalised"),
        [
            ("", ""),
            ("203.0.113.7", "203.0.113.7/32"),
            ("10.0.0.0/8, 192.168.1.0/24", "10.0.0.0/8, 192.168.1.0/24"),
            ("2001:db8::/32", "2001:db8::/32"),
            ("2001:DB8::1", "2001:db8::1/128"),
            ("::ffff:192.0.2.1", "192.0.2.1/32"),  # IPv4-mapped IPv6 becomes IPv4
            ("::ffff:192.0.2.0/120", "192.0.2.0/24"),
            (" 10.0.0.1 ,\n10.0.0.2", "10.0.0.1/32, 10.0.0.2/32"),
        ],
    )
    def test_valid_entries(self, raw, normalised):
        assert normalise_ip_allow_list(raw) == normalised

    @pytest.mark.parametrize(
        ("raw", "message"),
        [
            ("10.0.0.1/8", "host bits set; did you mean 10.0.0.0/8"),
            ("010.0.0.1", "no leading zeros"),
            ("256.1.1.1", "not an IPv4/IPv6"),
            ("10.0.0.0/33", "not an IPv4/IPv6"),
            ("example.com", "not an IPv4/IPv6"),
            ("2001:db8::1/64", "host bits set"),
        ],
    )
    def test_bad_entries_get_a_message_each(self, raw, message):
        with pytest.raises(ValidationError) as error:
            normalise_ip_allow_list(f"192.0.2.1, {raw}")
        assert message in error.value.messages[0]

    def test_the_model_refuses_a_bad_list_from_any_path(self, portal_admin):
        seat, _ = portal_admin
        with pytest.raises(ValidationError):
            set_customer(seat.customer, ip_whitelist="not-an-ip")


class TestAllowListEnforcement:
    @pytest.mark.parametrize(
        ("allow", "address", "allowed"),
        [
            ("", "198.51.100.1", True),
            ("198.51.100.0/24", "198.51.100.77", True),
            ("198.51.100.0/24", "198.51.101.1", False),
            ("2001:db8::/32", "2001:db8:1::5", True),
            ("2001:db8::/32", "2001:db9::5", False),
            ("192.0.2.1", "::ffff:192.0.2.1", True),  # a mapped peer address counts as IPv4
            ("2001:db8::/32", "198.51.100.1", False),
        ],
    )
    def test_portal_requests_from_outside_get_a_clear_403(
        self, portal_admin, org, allow, address, allowed
    ):
        seat, client = portal_admin
        set_customer(seat.customer, ip_whitelist=allow)
        response = client.get("/portal/", REMOTE_ADDR=address)
        if allowed:
            assert response.status_code == 200
        else:
            assert response.status_code == 403
            assert "only allows access from listed addresses" in response.content.decode()
            assert (
                AuditEntry.objects.for_organization(org)
                .filter(action="portal.ip_denied", outcome="denied")
                .exists()
            )

    def test_a_forged_x_forwarded_for_does_not_get_in(self, portal_admin, settings):
        seat, client = portal_admin
        set_customer(seat.customer, ip_whitelist="198.51.100.0/24")
        settings.TRUSTED_PROXY_COUNT = 1
        # The client forges the left part; our proxy appends the real peer on the right.
        forged = client.get(
            "/portal/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="198.51.100.5, 203.0.113.9"
        )
        assert forged.status_code == 403
        real = client.get(
            "/portal/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="203.0.113.9, 198.51.100.5"
        )
        assert real.status_code == 200

    def test_without_trusted_proxies_the_header_is_ignored(self, portal_admin):
        seat, client = portal_admin
        set_customer(seat.customer, ip_whitelist="198.51.100.0/24")
        response = client.get(
            "/portal/", REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR="198.51.100.5"
        )
        assert response.status_code == 403


class TestForced2FA:
    def test_users_without_a_device_set_one_up_before_anything_else(self, org, portal_admin):
        seat, client = portal_admin
        set_customer(seat.customer, force_2fa=True)
        client = Client()
        client.post("/accounts/login/", {"username": seat.user.email, "password": PASSWORD})

        assert client.get("/portal/users/")["Location"] == "/portal/two-factor/setup/"
        setup = client.get("/portal/two-factor/setup/")
        assert b"<svg" in setup.content  # the QR code is drawn here, not fetched
        device = TOTPDevice.objects.get(user=seat.user)
        bad = client.post("/portal/two-factor/setup/", {"code": "000000"})
        assert b"not right" in bad.content
        again = client.post("/portal/two-factor/setup/", {"code": "000000"})  # no waiting yet
        assert again.status_code == 429
        assert b"Too many wrong codes" in again.content
        # A wrong code makes the next try wait a moment (django-otp's throttling).
        with time_machine.travel(timezone.now() + timedelta(seconds=5)):
            good = client.post("/portal/two-factor/setup/", {"code": f"{totp(device.bin_key):06d}"})

        assert good["Location"] == "/portal/"
        assert client.get("/portal/users/").status_code == 200
        seat.refresh_from_db()
        assert seat.two_factor_enabled
        assert AuditEntry.objects.for_organization(org).filter(action="two_factor.enabled")

    def test_a_user_with_a_device_enters_a_code_on_each_sign_in(self, portal_admin):
        seat, _ = portal_admin
        device = TOTPDevice.objects.create(user=seat.user, name="phone", confirmed=True)
        set_customer(seat.customer, force_2fa=True)
        client = Client()
        client.post("/accounts/login/", {"username": seat.user.email, "password": PASSWORD})
        assert client.get("/portal/")["Location"] == "/portal/two-factor/verify/"
        assert client.post("/portal/two-factor/verify/", {"code": "123"}).status_code == 422
        assert client.post("/portal/two-factor/verify/", {"code": "123"}).status_code == 429
        with time_machine.travel(timezone.now() + timedelta(seconds=5)):
            response = client.post(
                "/portal/two-factor/verify/", {"code": f"{totp(device.bin_key):06d}"}
            )
        assert response["Location"] == "/portal/"
        assert client.get("/portal/").status_code == 200

    def test_an_enrolled_device_asks_for_the_code_even_when_2fa_is_not_forced(self, portal_admin):
        seat, _ = portal_admin
        device = TOTPDevice.objects.create(user=seat.user, name="phone", confirmed=True)
        assert not seat.customer.force_2fa
        client = Client()
        client.post("/accounts/login/", {"username": seat.user.email, "password": PASSWORD})
        for page in ("/portal/", "/portal/api-tokens/", "/portal/settings/"):
            assert client.get(page)["Location"] == "/portal/two-factor/verify/"
        with time_machine.travel(timezone.now() + timedelta(seconds=5)):
            client.post("/portal/two-factor/verify/", {"code": f"{totp(device.bin_key):06d}"})
        assert client.get("/portal/").status_code == 200

    def test_without_a_device_or_forced_2fa_no_code_is_asked(self, portal_admin):
        seat, _ = portal_admin
        client = Client()
        client.post("/accounts/login/", {"username": seat.user.email, "password": PASSWORD})
        assert client.get("/portal/").status_code == 200

    def test_existing_sessions_without_2fa_end_when_it_is_switched_on(self, portal_admin):
        seat, _ = portal_admin
        client = Client()
        client.post("/accounts/login/", {"username": seat.user.email, "password": PASSWORD})
        assert client.get("/portal/").status_code == 200

        with time_machine.travel(timezone.now() + timedelta(minutes=5)):
            set_customer(seat.customer, force_2fa=True)
            response = client.get("/portal/")
            assert response.status_code == 302
            assert response["Location"].startswith("/accounts/login/")
            # Signed out: the session is gone.
            assert client.get("/portal/")["Location"].startswith("/accounts/login/")


class TestSignInRefusals:
    def test_forced_sso_refuses_password_sign_in_naming_sso(self, portal_admin, org):
        seat, _ = portal_admin
        set_customer(seat.customer, force_sso=True)
        response = Client().post(
            "/accounts/login/", {"username": seat.user.email, "password": PASSWORD}
        )
        assert response.status_code == 200
        assert "requires single sign-on (SSO)" in response.content.decode()
        assert AuditEntry.objects.for_organization(org).filter(action="login.refused").exists()

    def test_forced_sso_ends_an_open_portal_session_on_its_next_request(self, portal_admin, org):
        seat, client = portal_admin
        assert client.get("/portal/api-tokens/").status_code == 200
        set_customer(seat.customer, force_sso=True)
        response = client.get("/portal/api-tokens/")
        assert response.status_code == 403
        assert "requires single sign-on (SSO)" in response.content.decode()
        # Signed out: the next request goes to the sign-in page.
        assert client.get("/portal/")["Location"].startswith("/accounts/login/")
        refused = AuditEntry.objects.for_organization(org).filter(action="login.refused")
        assert refused.get().outcome == "denied"

    def test_a_suspended_customers_users_are_told_why(self, portal_admin, owner):
        seat, client = portal_admin
        customer_suspend(customer=seat.customer, actor=owner)
        response = Client().post(
            "/accounts/login/", {"username": seat.user.email, "password": PASSWORD}
        )
        assert "John-Acme is suspended" in response.content.decode()
        # A session that was already open is refused at the portal's door.
        blocked = client.get("/portal/")
        assert blocked.status_code == 403
        assert b"is suspended" in blocked.content

    def test_a_deleted_customers_users_are_told_why(self, portal_admin, owner):
        from customers.services import customer_delete

        seat, client = portal_admin
        customer_delete(customer=seat.customer, actor=owner)
        assert b"is deleted" in client.get("/portal/").content

    def test_a_locked_user_is_told_why(self, portal_admin):
        from tests.factories import make_seat

        seat, _ = portal_admin
        member = make_seat(seat.customer, locked=True)
        client = Client()
        client.force_login(member.user)
        response = client.get("/portal/")
        assert response.status_code == 403
        assert b"locked" in response.content

    def test_saas_admins_who_are_also_customer_users_still_reach_the_console(
        self, portal_admin, org
    ):
        from tests.factories import MembershipFactory

        seat, _ = portal_admin
        MembershipFactory(user=seat.user, organization=org)
        set_customer(seat.customer, force_sso=True)
        response = Client().post(
            "/accounts/login/", {"username": seat.user.email, "password": PASSWORD}
        )
        assert response.status_code == 302


def test_customer_is_not_reachable_through_a_stale_object(portal_admin):
    seat, _ = portal_admin
    assert Customer.objects.for_customer(seat.customer).get() == seat.customer


class TestPortalAffordances:
    def test_the_settings_page_shows_your_address_beside_the_allow_list(self, portal_admin):
        _, client = portal_admin
        content = client.get("/portal/settings/", REMOTE_ADDR="198.51.100.23").content.decode()
        assert "Your current address is <code>198.51.100.23</code>" in content

    def test_two_factor_setup_is_linked_and_does_not_claim_it_is_required(self, portal_admin):
        _, client = portal_admin
        home = client.get("/portal/").content.decode()
        assert 'href="/portal/two-factor/setup/"' in home
        setup = client.get("/portal/two-factor/setup/").content.decode()
        assert "requires it" not in setup
