"""/portal/: a customer's own users, their own customer only."""

from __future__ import annotations

import uuid

import pytest
from django.test import Client
from django.urls import reverse

from audit.models import AuditEntry
from customers.models import ApiToken, CustomerUser
from customers.services import api_token_create
from customers.urls import portal_patterns
from tests.factories import UserFactory, make_connection, make_seat

pytestmark = pytest.mark.django_db

PAGES = ["home", "settings", "users", "connections", "usage", "tokens", "domains", "sso"]
OBJECT_URLS = {
    "user_role": "seat_id",
    "user_lock": "seat_id",
    "user_unlock": "seat_id",
    "user_remove": "seat_id",
    "user_break_glass": "seat_id",
    "invitation_resend": "invitation_id",
    "invitation_revoke": "invitation_id",
    "connection_revoke": "connection_id",
    "token_revoke": "token_id",
    "domain_check": "domain_id",
    "domain_remove": "domain_id",
    "sso_test": "sso_id",
    "sso_activate": "sso_id",
    "sso_deactivate": "sso_id",
    "sso_delete": "sso_id",
}
# Pages about one object: GET shows it, POST changes it.
OBJECT_PAGES = {"sso_connection": "sso_id"}


def object_url(name, ids):
    """The URL of ``name`` for the object ``ids`` holds for it."""
    key = {**OBJECT_URLS, **OBJECT_PAGES}[name]
    kwarg = "connection_id" if key == "sso_id" else key
    return reverse(f"portal:{name}", kwargs={kwarg: ids[key]})


def test_every_portal_url_is_covered():
    names = {p.name for p in portal_patterns}
    assert names == {*PAGES, *OBJECT_URLS, *OBJECT_PAGES, "two_factor_setup", "two_factor_verify"}


@pytest.mark.parametrize("name", PAGES)
def test_every_page_renders_for_the_customer_admin(portal_admin, name):
    _, client = portal_admin
    response = client.get(reverse(f"portal:{name}"))
    assert response.status_code == 200
    assert b"John-Acme" in response.content


def targets(customer, owner):
    """One object of ``customer`` per object URL."""
    seat = make_seat(customer, role="engineer")
    connection = make_connection(customer)
    invitation = customer.invitations.first()
    token, _ = api_token_create(
        organization=customer.organization, customer=customer, name="t", actor=owner
    )
    from customers.identity.domains.services import domain_add

    domain = domain_add(customer=customer, domain=f"{customer.slug}.example", actor=None)
    from customers.identity.sso.services import sso_connection_create

    sso = sso_connection_create(
        customer=customer, actor=None, name="Okta", issuer="https://i.example", client_id="c"
    )
    return {
        "sso_id": sso.pk,
        "domain_id": domain.pk,
        "seat_id": seat.pk,
        "invitation_id": invitation.pk,
        "connection_id": connection.pk,
        "token_id": token.pk,
    }


@pytest.mark.parametrize("name", [*OBJECT_URLS, *OBJECT_PAGES])
def test_another_customers_objects_are_404_in_the_same_organization(
    portal_admin, other_customer_admin, owner, name
):
    _, client = portal_admin
    other_seat, _ = other_customer_admin
    ids = targets(other_seat.customer, owner)
    url = object_url(name, ids)
    assert client.post(url, {"role": "user"}).status_code == 404


@pytest.mark.parametrize("name", [*OBJECT_URLS, *OBJECT_PAGES])
def test_another_organizations_objects_are_404(portal_admin, foreign_seat, outsider, name):
    _, client = portal_admin
    ids = targets(foreign_seat.customer, outsider)
    url = object_url(name, ids)
    assert client.post(url, {"role": "user"}).status_code == 404


@pytest.fixture
def foreign_seat(other_org, outsider):
    from tests.factories import make_customer

    return make_seat(make_customer(other_org, actor=outsider, admin_email="z@z.test"))


@pytest.mark.parametrize("name", [*OBJECT_URLS, *OBJECT_PAGES])
def test_random_ids_are_404(portal_admin, name):
    _, client = portal_admin
    url = object_url(name, {key: uuid.uuid4() for key in [*OBJECT_URLS.values(), "sso_id"]})
    assert client.post(url).status_code == 404


@pytest.mark.parametrize("name", OBJECT_URLS)
def test_object_urls_refuse_get(portal_admin, owner, name):
    seat, client = portal_admin
    ids = targets(seat.customer, owner)
    url = object_url(name, ids)
    assert client.get(url).status_code == 405


def test_pages_show_only_the_own_customers_rows(portal_admin, other_customer_admin):
    seat, client = portal_admin
    other, _ = other_customer_admin
    make_connection(other.customer, app="Slack", account_label="widget.slack.com")
    make_connection(seat.customer, app="Shopify", account_label="john.myshopify.com")
    connections = client.get("/portal/connections/").content.decode()
    assert "john.myshopify.com" in connections
    assert "widget.slack.com" not in connections
    users = client.get("/portal/users/").content.decode()
    assert "john@acme.ai" in users
    assert "w@widget.test" not in users


@pytest.mark.parametrize("name", [*OBJECT_URLS, *OBJECT_PAGES])
def test_a_non_admin_user_cannot_change_anything(portal_admin, owner, org, name):
    seat, _ = portal_admin
    ids = targets(seat.customer, owner)
    member = make_seat(seat.customer, role="engineer")
    client = Client()
    client.force_login(member.user)
    url = object_url(name, ids)
    assert client.post(url, {"role": "user"}).status_code == 403
    assert (
        AuditEntry.objects.for_organization(org)
        .filter(action="permission.denied", outcome="denied")
        .exists()
    )


def test_a_non_admin_sees_settings_read_only(portal_admin):
    seat, _ = portal_admin
    member = make_seat(seat.customer, role="billing")
    client = Client()
    client.force_login(member.user)
    page = client.get("/portal/settings/").content.decode()
    assert "Only an admin" in page
    assert "disabled" in page
    assert client.post("/portal/settings/", {"phone_number": "1"}).status_code == 403


class TestSettings:
    def data(self, customer, **changes):
        from customers.records.forms import PortalCustomerForm

        customer.refresh_from_db()  # what the page would show now
        form = PortalCustomerForm(instance=customer)
        data = {"version": customer.version}
        for name in form.editable_fields:
            value = form[name].value()
            data[f"initial-{name}"] = "" if value is None else str(value)
            if isinstance(value, bool):
                if value:
                    data[name] = "on"
            else:
                data[name] = "" if value is None else str(value)
        data.update(changes)
        return data

    def test_the_admin_edits_the_allowed_fields(self, portal_admin, org):
        seat, client = portal_admin
        response = client.post(
            "/portal/settings/",
            self.data(
                seat.customer,
                phone_number="+1 555 0100",
                billing_ref="PO-1",
                billing_contact=str(seat.pk),
            ),
        )
        assert response.status_code == 302
        customer = seat.customer
        customer.refresh_from_db()
        assert customer.phone_number == "+1 555 0100"
        assert customer.billing_contact == seat
        entry = AuditEntry.objects.for_organization(org).get(action="customer.updated")
        assert entry.actor_user_id == seat.user_id

    def test_plan_and_entitlements_cannot_be_posted(self, portal_admin, org):
        from billing.models import Plan

        seat, client = portal_admin
        enterprise = Plan.objects.for_organization(org).get(name="Enterprise")
        client.post(
            "/portal/settings/",
            self.data(seat.customer, plan=str(enterprise.pk), can_upload_vcl="on", name="Hacked"),
        )
        customer = seat.customer
        customer.refresh_from_db()
        assert customer.plan.name == "Free"
        assert not customer.can_upload_vcl
        assert customer.name == "John-Acme"

    def test_an_allow_list_that_excludes_the_saver_is_refused(self, portal_admin):
        seat, client = portal_admin
        response = client.post(
            "/portal/settings/",
            self.data(seat.customer, ip_whitelist="203.0.113.0/24"),
            REMOTE_ADDR="198.51.100.7",
        )
        assert response.status_code == 422
        assert "would lock you out" in response.content.decode()
        assert "198.51.100.7" in response.content.decode()
        ok = client.post(
            "/portal/settings/",
            self.data(seat.customer, ip_whitelist="198.51.100.0/24"),
            REMOTE_ADDR="198.51.100.7",
        )
        assert ok.status_code == 302


class TestUsers:
    def test_invite_a_teammate(self, portal_admin, django_capture_on_commit_callbacks):
        from django.core import mail

        seat, client = portal_admin
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post("/portal/users/", {"email": "eng@acme.ai", "role": "engineer"})
        assert response.status_code == 302
        assert mail.outbox[-1].to == ["eng@acme.ai"]
        invitation = seat.customer.invitations.get(email="eng@acme.ai")
        assert invitation.role == "engineer"
        assert not invitation.is_admin_invite

    def test_change_role_lock_unlock_remove(self, portal_admin):
        seat, client = portal_admin
        member = make_seat(seat.customer, role="user")
        client.post(f"/portal/users/{member.pk}/role", {"role": "billing"})
        client.post(f"/portal/users/{member.pk}/lock")
        member.refresh_from_db()
        assert (member.role, member.locked) == ("billing", True)
        client.post(f"/portal/users/{member.pk}/unlock")
        member.refresh_from_db()
        assert not member.locked
        client.post(f"/portal/users/{member.pk}/remove")
        assert not CustomerUser.objects.for_customer(seat.customer).filter(pk=member.pk).exists()

    @pytest.mark.parametrize(
        ("path", "data"),
        [("role", {"role": "user"}), ("lock", {}), ("remove", {})],
    )
    def test_the_last_admin_is_protected(self, portal_admin, org, path, data):
        seat, client = portal_admin
        response = client.post(f"/portal/users/{seat.pk}/{path}", data, follow=True)
        assert "last admin" in response.content.decode()
        seat.refresh_from_db()
        assert seat.role == "superuser"
        assert not seat.locked
        assert AuditEntry.objects.for_organization(org).filter(outcome="failure").exists()

    def test_with_a_second_admin_the_first_can_step_down(self, portal_admin):
        seat, client = portal_admin
        make_seat(seat.customer, role="superuser")
        client.post(f"/portal/users/{seat.pk}/role", {"role": "engineer"})
        seat.refresh_from_db()
        assert seat.role == "engineer"


class TestTokens:
    def test_create_shows_the_secret_once_and_lists_it(self, portal_admin):
        seat, client = portal_admin
        response = client.post("/portal/api-tokens/", {"name": "ci"}, follow=True)
        secret = response.context["new_secret"]
        token = ApiToken.objects.for_customer(seat.customer).get()
        assert token.customer_id == seat.customer_id
        assert secret not in client.get("/portal/api-tokens/").content.decode()
        client.post(f"/portal/api-tokens/{token.pk}/revoke")
        token.refresh_from_db()
        assert token.revoked_at is not None

    def test_customer_tokens_stay_out_of_the_organizations_key_list(
        self, portal_admin, owner_client
    ):
        portal_admin[1].post("/portal/api-tokens/", {"name": "customer-ci"})
        assert b"customer-ci" not in owner_client.get("/settings/api-keys/").content


def test_connections_can_be_revoked(portal_admin, org):
    seat, client = portal_admin
    connection = make_connection(seat.customer)
    client.post(f"/portal/connections/{connection.pk}/revoke")
    connection.refresh_from_db()
    assert connection.status == "revoked"


def test_a_person_in_both_moves_between_console_and_portal(portal_admin, org):
    from customers.models import Membership
    from tests.factories import MembershipFactory

    seat, client = portal_admin
    MembershipFactory(user=seat.user, organization=org, role=Membership.Role.ADMIN)
    console = client.get("/settings/customers/").content.decode()
    assert 'href="/portal/"' in console
    portal = client.get("/portal/").content.decode()
    assert 'href="/"' in portal


def test_a_customer_user_without_organization_lands_in_the_portal(portal_admin):
    _, client = portal_admin
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/portal/"


def test_people_without_a_seat_get_a_clear_page(db):
    client = Client()
    client.force_login(UserFactory())
    response = client.get("/portal/")
    assert response.status_code == 403
    assert b"not a user of any customer" in response.content


def test_a_portal_token_is_created_once_and_its_secret_shown_once(portal_admin):
    from customers.models import ApiToken

    seat, client = portal_admin
    assert client.post("/portal/api-tokens/", {"name": "ci"}).status_code == 302
    assert client.get("/portal/api-tokens/").context["new_secret"]
    assert client.get("/portal/api-tokens/").context["new_secret"] is None
    assert ApiToken.objects.for_customer(seat.customer).count() == 1


@pytest.mark.parametrize(("step", "undo"), [("suspend", "reactivated"), ("delete", "restored")])
def test_a_closed_portal_says_how_it_is_reopened(portal_admin, owner, step, undo):
    from customers import services

    seat, client = portal_admin
    getattr(services, f"customer_{step}")(customer=seat.customer, actor=owner)
    page = client.get("/portal/").content.decode()
    assert f"to have it {undo}" in page


def test_the_console_and_the_portal_name_things_alike(portal_admin, owner_client):
    """One name per thing on both sides: "Audit Log" (the seed's), "API keys" (never "API
    tokens"), whoever reads it."""
    _, client = portal_admin
    pages = [client.get(url) for url in ("/portal/", "/portal/api-tokens/", "/portal/audit-log/")]
    pages += [owner_client.get(url) for url in ("/", "/settings/api-keys/", "/settings/audit-log/")]
    for response in pages:
        assert response.status_code == 200
        text = response.content.decode()
        assert "Audit Log" in text
        assert "API keys" in text
        for other in ("Audit log", "API token", "Api token"):
            assert other not in text, (response.wsgi_request.path, other)
