"""Every customers URL: another organization's customer is 404, viewers can't write, and
mutating URLs refuse GET."""

from __future__ import annotations

import uuid

import pytest
from django.urls import reverse

from audit.models import AuditEntry
from customers.urls import console_patterns
from tests.factories import make_connection

pytestmark = pytest.mark.django_db

# Pages that show a form: GET reads, POST writes.
READ_ONLY = {"list", "create", "detail", "edit", "domains", "sso", "sso_connection"}
CUSTOMER_URLS = [p.name for p in console_patterns if "customer_id" in str(p.pattern)]
MUTATING = [name for name in CUSTOMER_URLS if name not in READ_ONLY]


def url_for(name, customer, connection=None, invitation=None, domain=None, sso=None, link=None):
    kwargs = {"customer_id": customer.pk}
    if name.startswith("domain_"):
        kwargs["domain_id"] = domain.pk if domain else uuid.uuid4()
    if name == "sso_setup_link_revoke":
        kwargs["link_id"] = link.pk if link else uuid.uuid4()
    elif name.startswith("sso_") and name != "sso_setup_link_send":
        kwargs["connection_id"] = sso.pk if sso else uuid.uuid4()
    if name == "connection_revoke":
        kwargs["connection_id"] = connection.pk if connection else uuid.uuid4()
    if "invitation" in name:
        kwargs["invitation_id"] = invitation.pk if invitation else uuid.uuid4()
    return reverse(f"customers:{name}", kwargs=kwargs)


def test_every_customer_url_is_covered():
    assert set(CUSTOMER_URLS) == {
        "detail",
        "edit",
        "suspend",
        "reactivate",
        "delete",
        "restore",
        "revoke_connections",
        "replace_admin",
        "connection_revoke",
        "invitation_resend",
        "invitation_revoke",
        "domains",
        "domain_check",
        "domain_remove",
        "sso",
        "sso_connection",
        "sso_test",
        "sso_activate",
        "sso_deactivate",
        "sso_delete",
        "sso_setup_link_send",
        "sso_setup_link_revoke",
    }


def setup_link_of(customer, owner):
    from customers.identity.domains.models import VerifiedDomain
    from customers.identity.sso.setup_links import setup_link_create

    VerifiedDomain.objects.create(
        organization_id=customer.organization_id,
        customer=customer,
        domain="x.example",
        token="t",
        status="verified",
    )
    return setup_link_create(customer=customer, email="it@x.example", actor=owner)[0]


def sso_connection_of(customer):
    from customers.identity.sso.services import sso_connection_create

    return sso_connection_create(
        customer=customer, actor=None, name="Okta", issuer="https://i.example", client_id="c"
    )


@pytest.mark.parametrize("name", CUSTOMER_URLS)
@pytest.mark.parametrize("method", ["get", "post"])
def test_another_organizations_customer_is_404(
    owner_client, foreign_customer, outsider, name, method
):
    from customers.identity.domains.services import domain_add

    connection = make_connection(foreign_customer)
    invitation = foreign_customer.invitations.first()
    domain = domain_add(customer=foreign_customer, domain="foreign.example", actor=None)
    sso = sso_connection_of(foreign_customer)
    link = setup_link_of(foreign_customer, outsider)
    url = url_for(name, foreign_customer, connection, invitation, domain, sso, link)

    response = getattr(owner_client, method)(url)

    assert response.status_code in (404, 405)
    if method == "post" or name in READ_ONLY:
        assert response.status_code == 404


@pytest.mark.parametrize("name", CUSTOMER_URLS)
def test_a_random_uuid_is_404_the_same_way(owner_client, org, name):
    class Missing:
        pk = uuid.uuid4()

    response = owner_client.post(url_for(name, Missing))
    assert response.status_code == 404


@pytest.mark.parametrize("name", ["connection_revoke", "invitation_resend", "invitation_revoke"])
def test_a_child_of_another_customer_is_404(owner_client, org, owner, customer, name):
    from tests.factories import make_customer

    other = make_customer(org, actor=owner, admin_email="x@other.test")
    connection = make_connection(other)
    response = owner_client.post(url_for(name, customer, connection, other.invitations.first()))
    assert response.status_code == 404


@pytest.mark.parametrize("name", [*MUTATING, "edit", "domains", "sso", "sso_connection"])
def test_viewers_get_403_on_every_mutating_url_and_it_is_audited(
    viewer_client, org, owner, customer, name
):
    connection = make_connection(customer)
    sso = sso_connection_of(customer)
    link = setup_link_of(customer, owner)
    url = url_for(name, customer, connection, customer.admin_invitation, sso=sso, link=link)

    response = viewer_client.post(url, {"confirm_slug": customer.slug, "email": "a@b.test"})

    assert response.status_code == 403
    assert (
        AuditEntry.objects.for_organization(org)
        .filter(action="permission.denied", outcome="denied")
        .exists()
    )
    customer.refresh_from_db()
    assert customer.status == "pending_admin_activation"
    assert customer.version == 1


def test_viewers_cannot_open_the_create_form(viewer_client, org):
    assert viewer_client.get("/settings/customers/new").status_code == 403


@pytest.mark.parametrize("name", MUTATING)
def test_mutating_urls_refuse_get(owner_client, owner, customer, name):
    connection = make_connection(customer)
    sso = sso_connection_of(customer)
    link = setup_link_of(customer, owner)
    url = url_for(name, customer, connection, customer.admin_invitation, sso=sso, link=link)
    assert owner_client.get(url).status_code == 405


def test_viewers_see_no_mutating_control_on_the_detail_page(viewer_client, customer):
    content = viewer_client.get(url_for("detail", customer)).content.decode()
    assert "Danger Zone" not in content
    assert "Resend invite" not in content
    assert "/edit" not in content
    assert "Copy" in content  # reading tools stay


def test_pages_need_sign_in(client, customer):
    response = client.get(url_for("detail", customer))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]
