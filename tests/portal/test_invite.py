"""Invitation links: /invite/<token>/ (SPEC §4)."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.utils import timezone

from audit.models import AuditEntry
from customers.models import Customer, CustomerUser, Invitation
from customers.services import invite_resend, invite_revoke
from tests.factories import PASSWORD, UserFactory
from tests.portal.conftest import invite_token

pytestmark = pytest.mark.django_db


def open_link(client: Client, token: str):
    return client.get(f"/invite/{token}/", follow=True)


def accept_as_new(client: Client, token: str, password: str = "a-long-new-passphrase"):
    open_link(client, token)
    return client.post(
        "/invite/accept/", {"name": "John Admin", "password1": password, "password2": password}
    )


class TestTheEmail:
    def test_html_and_text_with_who_what_expiry_and_a_site_url_link(self, invited, settings):
        customer, token = invited
        message = mail.outbox[-1]
        assert message.to == ["john@acme.ai"]
        html = message.alternatives[0][0]
        for part in (message.body, html):
            assert "John-Acme" in part
            assert "Acme SaaS" in part
            assert f"{settings.SITE_URL}/invite/{token}/" in part
            assert customer.admin_invitation.expires_at.strftime("%Y-%m-%d") in part

    def test_the_token_is_random_long_and_stored_only_as_a_hash(self, invited):
        customer, token = invited
        assert len(token) >= 43  # 32 random bytes, base64url
        invitation = customer.admin_invitation
        assert invitation.token_hash == hashlib.sha256(token.encode()).hexdigest()
        assert token not in str(Invitation.objects.for_customer(customer).values().get())

    def test_the_send_is_audited(self, invited, org):
        assert AuditEntry.objects.for_organization(org).filter(action="invite.sent").exists()


class TestTheLink:
    def test_the_token_leaves_the_url_at_once(self, invited, client):
        _, token = invited
        response = client.get(f"/invite/{token}/")
        assert response.status_code == 302
        assert response["Location"] == "/invite/accept/"
        assert token not in response["Location"]
        assert response["Referrer-Policy"] == "no-referrer"
        assert "no-store" in response["Cache-Control"]
        page = client.get("/invite/accept/")
        assert "no-store" in page["Cache-Control"]
        assert b"Join John-Acme" in page.content

    def test_a_new_person_sets_name_and_password_and_the_customer_turns_active(
        self, invited, client, org, owner
    ):
        customer, token = invited
        response = accept_as_new(client, token)

        assert response.status_code == 302
        assert response["Location"] == "/portal/"
        customer.refresh_from_db()
        assert customer.status == "active"
        assert customer.admin_display == "john@acme.ai (Active)"
        seat = CustomerUser.objects.for_customer(customer).get()
        assert seat.role == "superuser"
        assert seat.user.name == "John Admin"
        assert client.get("/portal/").status_code == 200
        actions = set(AuditEntry.objects.for_organization(org).values_list("action", flat=True))
        assert {"invite.accepted", "customer.activated", "customer.admin_changed"} <= actions
        # The SaaS admin's list shows them as active.
        owner_client = Client()
        owner_client.force_login(owner)
        assert b"john@acme.ai (Active)" in owner_client.get("/settings/customers/").content

    def test_password_validators_apply_and_input_is_kept(self, invited, client):
        _, token = invited
        response = accept_as_new(client, token, password="123")
        assert response.status_code == 422
        content = response.content.decode()
        assert "too short" in content
        assert 'value="John Admin"' in content

    def test_an_existing_user_signs_in_and_accepts(self, invited, client):
        customer, token = invited
        UserFactory(email="john@acme.ai")
        page = open_link(client, token)
        assert b"Sign in and accept" in page.content
        wrong = client.post("/invite/accept/", {"password": "nope"})
        assert b"not right" in wrong.content
        response = client.post("/invite/accept/", {"password": PASSWORD})
        assert response.status_code == 302
        customer.refresh_from_db()
        assert customer.status == "active"

    def test_someone_signed_in_with_another_email_is_refused_and_it_is_not_used_up(
        self, invited, org
    ):
        customer, token = invited
        stranger = Client()
        stranger.force_login(UserFactory(email="mallory@evil.test"))

        response = open_link(stranger, token)

        assert response.status_code == 403
        assert "signed in as mallory@evil.test" in response.content.decode()
        invitation = Invitation.objects.for_customer(customer).get()
        assert invitation.status == "pending"
        entry = AuditEntry.objects.for_organization(org).get(action="invite.accepted")
        assert entry.outcome == "denied"
        # The right person can still use it.
        assert accept_as_new(Client(), token).status_code == 302

    def test_it_works_once(self, invited, client):
        _, token = invited
        accept_as_new(client, token)
        again = open_link(Client(), token)
        assert again.status_code == 410
        assert b"not valid" in again.content

    def test_unknown_and_used_links_look_the_same(self, invited, client):
        _, token = invited
        accept_as_new(client, token)
        used = open_link(Client(), token)
        unknown = open_link(Client(), "x" * 43)

        def strip(response):  # per-request tokens differ; the page must not
            return re.sub(
                r'nonce="[^"]+"|value="[^"]+"|"X-CSRFToken": "[^"]+"', "", response.content.decode()
            )

        assert used.status_code == unknown.status_code == 410
        assert strip(used) == strip(unknown)

    def test_expired_links_say_so(self, invited, client):
        _, token = invited
        with time_machine.travel(timezone.now() + timedelta(days=7, minutes=1)):
            response = open_link(client, token)
        assert response.status_code == 410
        assert b"has expired" in response.content

    def test_a_link_still_works_just_before_it_expires(self, invited, client):
        _, token = invited
        with time_machine.travel(timezone.now() + timedelta(days=6, hours=23)):
            assert accept_as_new(client, token).status_code == 302

    def test_resend_kills_the_old_link(
        self, invited, client, owner, django_capture_on_commit_callbacks
    ):
        customer, old = invited
        with django_capture_on_commit_callbacks(execute=True):
            invite_resend(invitation=customer.admin_invitation, actor=owner)
        new = invite_token(mail.outbox[-1])
        assert new != old
        assert open_link(client, old).status_code == 410
        assert accept_as_new(Client(), new).status_code == 302

    def test_revoked_links_say_so(self, invited, client, owner):
        customer, token = invited
        invite_revoke(invitation=customer.admin_invitation, actor=owner)
        response = open_link(client, token)
        assert b"withdrawn" in response.content

    def test_a_deleted_customers_invite_cannot_be_accepted(self, invited, client, owner):
        from customers.services import customer_delete

        customer, token = invited
        customer_delete(customer=customer, actor=owner)
        response = accept_as_new(client, token)
        assert response.status_code == 409
        assert (
            Customer.objects.for_organization(customer.organization).get(pk=customer.pk).status
            == "deleted"
        )


class TestForcedSsoInTheInviteFlow:
    def test_a_new_person_accepts_but_is_not_signed_in(self, invited, client, org):
        customer, token = invited
        Customer.objects.for_organization(org).filter(pk=customer.pk).update(force_sso=True)
        response = accept_as_new(client, token)
        assert response.status_code == 403
        content = response.content.decode()
        assert "Invitation accepted" in content
        assert "requires single sign-on (SSO)" in content
        assert CustomerUser.objects.for_customer(customer).count() == 1
        # No session: the portal and its API-token page send them to sign in.
        for page in ("/portal/", "/portal/api-tokens/"):
            assert client.get(page)["Location"].startswith("/accounts/login/")
        assert AuditEntry.objects.for_organization(org).filter(action="login.refused").exists()

    def test_an_existing_user_accepting_a_reinvitation_is_not_signed_in(
        self, invited, client, org, owner
    ):
        customer, token = invited
        UserFactory(email="john@acme.ai")
        Customer.objects.for_organization(org).filter(pk=customer.pk).update(force_sso=True)
        client.get(f"/invite/{token}/")
        response = client.post("/invite/accept/", {"password": PASSWORD})
        assert response.status_code == 403
        assert "_auth_user_id" not in client.session
        assert client.get("/portal/")["Location"].startswith("/accounts/login/")


@pytest.mark.django_db(transaction=True)  # emails go on a real commit, as in production
class TestEmailThatCannotBeSent:
    @pytest.fixture
    def broken_email(self, settings):
        settings.EMAIL_BACKEND = "tests.portal.test_invite.FailingBackend"

    def test_the_customer_is_kept_the_page_says_so_and_resend_works(
        self, broken_email, owner_client, org, settings
    ):
        from billing.models import Plan

        plan = Plan.objects.for_organization(org).get(name="Free")
        response = owner_client.post(
            "/settings/customers/new",
            {"name": "Unlucky", "slug": "unlucky", "plan": plan.pk, "admin_email": "u@u.test"},
            follow=True,
        )
        assert response.status_code == 200
        assert "its email could not be sent" in response.content.decode()
        customer = Customer.objects.for_organization(org).get(slug="unlucky")
        failed = AuditEntry.objects.for_organization(org).get(action="invite.email_failed")
        assert failed.outcome == "failure"

        settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
        resent = owner_client.post(
            f"/settings/customers/{customer.pk}/invitations/{customer.admin_invitation_id}/resend",
            follow=True,
        )
        assert "Sent a new invitation" in resent.content.decode()
        assert mail.outbox[-1].to == ["u@u.test"]

    def test_the_api_answers_201_not_500(self, broken_email, org, owner):
        from customers.services import api_token_create
        from tests.api.conftest import ApiClient

        api = ApiClient(api_token_create(organization=org, name="t", actor=owner)[1])
        response = api.post("/customers", {"name": "Unlucky", "admin_email": "u@u.test"})
        assert response.status_code == 201


class TestHeaderInjection:
    @pytest.mark.parametrize("name", ["Acme\r\nBcc: victim@x.test", "Tab\there", "Line\u2028sep"])
    def test_names_with_control_characters_are_refused_by_the_console(
        self, owner_client, org, name
    ):
        from billing.models import Plan

        plan = Plan.objects.for_organization(org).get(name="Free")
        response = owner_client.post(
            "/settings/customers/new",
            {"name": name, "slug": "x", "plan": plan.pk, "admin_email": "a@a.test"},
        )
        assert response.status_code == 422
        assert "single line" in response.content.decode()
        assert not Customer.objects.for_organization(org).filter(slug="x").exists()

    def test_and_by_the_api_naming_the_field(self, org, owner):
        from customers.services import api_token_create
        from tests.api.conftest import ApiClient

        api = ApiClient(api_token_create(organization=org, name="t", actor=owner)[1])
        response = api.post("/customers", {"name": "A\r\nB", "admin_email": "a@a.test"})
        assert response.status_code == 422
        assert "name" in json.dumps(response.json())
        assert not Customer.objects.for_organization(org).exists()

    def test_subjects_are_plain_text(self, org, owner, django_capture_on_commit_callbacks):
        from tests.factories import make_customer

        with django_capture_on_commit_callbacks(execute=True):
            make_customer(org, actor=owner, name="X<script>&Co", admin_email="x@x.test")
        assert mail.outbox[-1].subject == ("You're invited to administer X<script>&Co on Acme SaaS")


class FailingBackend:
    """An email backend whose server is down."""

    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise ConnectionRefusedError("SMTP server down")
