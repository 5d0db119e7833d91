"""Sign in, sign out, password reset and login throttling."""

from __future__ import annotations

import pytest
from django.core import mail
from django.test import Client

from audit.models import AuditEntry
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def sign_in(client: Client, email: str, password: str, ip: str = "198.51.100.7"):
    return client.post(
        "/accounts/login/", {"username": email, "password": password}, REMOTE_ADDR=ip
    )


def test_it_signs_in_with_the_email_in_any_case(client, owner, org):
    response = sign_in(client, owner.email.upper(), PASSWORD)

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.get("/").status_code == 200
    entry = AuditEntry.objects.for_organization(org).get(action="login.succeeded")
    assert entry.actor_user_id == owner.pk
    assert entry.ip_address == "198.51.100.7"


def test_a_failed_sign_in_is_audited_with_a_clear_message(client, owner, org):
    response = sign_in(client, owner.email, "wrong")

    assert response.status_code == 200
    assert "don&#x27;t match an account" in response.content.decode()
    entry = AuditEntry.objects.for_organization(org).get(action="login.failed")
    assert entry.outcome == "failure"
    assert entry.actor_label == owner.email


def test_an_unknown_email_is_audited_without_an_organization(client, db):
    sign_in(client, "nobody@example.com", "x")

    entry = AuditEntry.objects.unscoped().get(action="login.failed")
    assert entry.organization_id is None
    assert entry.resource_label == "nobody@example.com"


def test_pages_need_a_signed_in_user(client, db):
    response = client.get("/settings/api-keys/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


def test_sign_out_needs_post_and_ends_the_session(owner_client, org):
    assert owner_client.get("/accounts/logout/").status_code == 405
    response = owner_client.post("/accounts/logout/")
    assert response.status_code == 302
    assert owner_client.get("/").status_code == 302
    assert AuditEntry.objects.for_organization(org).filter(action="logout").exists()


def test_password_reset_links_come_from_site_url_not_the_host_header(client, owner, settings):
    settings.SITE_URL = "https://console.tenantry.example"
    settings.ALLOWED_HOSTS = ["evil.example", "testserver"]

    client.post("/accounts/password-reset/", {"email": owner.email}, HTTP_HOST="evil.example")

    assert len(mail.outbox) == 1
    body = mail.outbox[0].body
    assert "https://console.tenantry.example/accounts/reset/" in body
    assert "evil.example" not in body
    assert "evil.example" not in mail.outbox[0].alternatives[0][0]


def test_password_reset_round_trip(client, owner):
    client.post("/accounts/password-reset/", {"email": owner.email})
    link = next(line for line in mail.outbox[0].body.splitlines() if "/accounts/reset/" in line)
    path = link.split("://", 1)[1].split("/", 1)[1]

    form_page = client.get("/" + path, follow=True)
    assert form_page.status_code == 200
    response = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "a-brand-new-passphrase", "new_password2": "a-brand-new-passphrase"},
    )
    assert response.status_code == 302
    assert sign_in(Client(), owner.email, "a-brand-new-passphrase").status_code == 302


class TestThrottling:
    @pytest.fixture(autouse=True)
    def _low_limit(self, settings):
        settings.AXES_FAILURE_LIMIT = 3

    def test_repeated_failures_lock_the_address_out(self, client, owner):
        for _ in range(3):
            sign_in(client, owner.email, "wrong", ip="203.0.113.5")

        response = sign_in(client, owner.email, PASSWORD, ip="203.0.113.5")

        assert response.status_code == 429
        assert b"Too many sign-in attempts" in response.content

    def test_an_attacker_cannot_lock_the_real_user_out_from_their_own_address(self, owner):
        attacker = Client()
        for _ in range(5):
            sign_in(attacker, owner.email, "guess", ip="203.0.113.66")

        victim = Client()
        response = sign_in(victim, owner.email, PASSWORD, ip="198.51.100.20")

        assert response.status_code == 302

    def test_spraying_many_accounts_from_one_address_is_throttled(self, client, owner, viewer):
        for email in ["a@example.com", "b@example.com", viewer.email]:
            sign_in(client, email, "wrong", ip="203.0.113.77")

        assert sign_in(client, owner.email, PASSWORD, ip="203.0.113.77").status_code == 429

    def test_the_client_address_honours_trusted_proxies(self, client, owner, settings):
        settings.TRUSTED_PROXY_COUNT = 1
        for n in range(3):
            # The attacker forges the left part of X-Forwarded-For differently each time;
            # our proxy appends their real address on the right.
            client.post(
                "/accounts/login/",
                {"username": owner.email, "password": "wrong"},
                REMOTE_ADDR="10.0.0.2",
                HTTP_X_FORWARDED_FOR=f"1.2.3.{n}, 203.0.113.99",
            )
        response = client.post(
            "/accounts/login/",
            {"username": owner.email, "password": PASSWORD},
            REMOTE_ADDR="10.0.0.2",
            HTTP_X_FORWARDED_FOR="9.9.9.9, 203.0.113.99",
        )
        assert response.status_code == 429


class TestPasswordResetThrottle:
    @pytest.fixture(autouse=True)
    def _low_limit(self, settings):
        settings.AXES_FAILURE_LIMIT = 3

    def test_requests_past_the_limit_per_address_send_nothing(self, client, owner, org):
        answers = [
            client.post("/accounts/password-reset/", {"email": owner.email}).status_code
            for _ in range(6)
        ]
        assert answers == [302, 302, 302, 429, 429, 429]
        assert len(mail.outbox) == 3
        refused = client.post("/accounts/password-reset/", {"email": owner.email})
        assert "Too many password reset requests" in refused.content.decode()
        assert f'value="{owner.email}"' in refused.content.decode()  # what was typed stays
        # One denied entry for the window, not one per refused request.
        throttled = AuditEntry.objects.for_organization(org).filter(
            action="password_reset.throttled"
        )
        assert throttled.count() == 1
        assert throttled.get().outcome == "denied"

    def test_one_email_is_limited_across_addresses(self, owner):
        for n in range(3):
            Client(REMOTE_ADDR=f"198.51.100.{n}").post(
                "/accounts/password-reset/", {"email": owner.email}
            )
        late = Client(REMOTE_ADDR="198.51.100.99").post(
            "/accounts/password-reset/", {"email": owner.email}
        )
        assert late.status_code == 429
        assert len(mail.outbox) == 3

    def test_other_addresses_and_emails_are_not_affected(self, client, owner, viewer):
        for _ in range(4):
            client.post("/accounts/password-reset/", {"email": owner.email})
        other = Client(REMOTE_ADDR="198.51.100.7").post(
            "/accounts/password-reset/", {"email": viewer.email}
        )
        assert other.status_code == 302
