"""request.organization, the switcher, and what a user without an organization sees."""

from __future__ import annotations

import pytest
from django.test import Client

from audit.models import AuditEntry
from customers.models import Membership
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_the_home_page_shows_the_current_organization(owner_client, org):
    response = owner_client.get("/")
    assert response.status_code == 200
    assert response.context["current_organization"] == org
    assert b"Acme SaaS" in response.content


def test_a_user_in_no_organization_sees_a_clear_page(db):
    client = Client()
    client.force_login(UserFactory())
    response = client.get("/")
    assert response.status_code == 403
    assert b"not in an organization yet" in response.content


def test_a_user_in_several_organizations_switches(owner_client, owner, other_org):
    MembershipFactory(user=owner, organization=other_org, role=Membership.Role.VIEWER)
    page = owner_client.get("/")
    assert b'id="org-switch"' in page.content

    response = owner_client.post(
        "/organizations/switch/", {"organization": str(other_org.pk), "next": "/settings/api-keys/"}
    )

    assert response.status_code == 302
    assert response["Location"] == "/settings/api-keys/"
    assert owner_client.get("/").context["current_organization"] == other_org


def test_switching_to_an_organization_you_are_not_in_is_refused(owner_client, org, other_org):
    owner_client.post("/organizations/switch/", {"organization": str(other_org.pk)})
    assert owner_client.get("/").context["current_organization"] == org


def test_switch_ignores_an_offsite_next(owner_client, org):
    response = owner_client.post(
        "/organizations/switch/", {"organization": str(org.pk), "next": "https://evil.example/"}
    )
    assert response["Location"] == "/"


def test_switch_requires_post(owner_client):
    assert owner_client.get("/organizations/switch/").status_code == 405


def test_a_viewer_is_refused_write_views_and_the_attempt_is_audited(viewer_client, org):
    response = viewer_client.post("/settings/api-keys/", {"name": "nope"})

    assert response.status_code == 403
    entry = AuditEntry.objects.for_organization(org).get(action="permission.denied")
    assert entry.outcome == "denied"
    assert entry.resource_label == "POST /settings/api-keys/"


def test_the_overview_counts_customers_by_status_and_shows_recent_changes(owner_client, org, owner):
    from customers.services import customer_suspend
    from tests.factories import make_customer

    make_customer(org, actor=owner, name="One")
    customer_suspend(customer=make_customer(org, actor=owner, name="Two"), actor=owner)
    response = owner_client.get("/")
    counts = {status: n for status, _, n in response.context["status_counts"]}
    assert counts == {"pending_admin_activation": 1, "active": 0, "suspended": 1, "deleted": 0}
    assert b"customer.suspended" in response.content


@pytest.mark.parametrize(
    "next_url",
    ["-1", "%", "😀", "javascript:alert(1)", "//evil.example/", "home", "/\\evil.example"],
)
def test_switch_accepts_only_local_paths_as_next(owner_client, org, next_url):
    response = owner_client.post(
        "/organizations/switch/", {"organization": str(org.pk), "next": next_url}
    )
    assert response.status_code == 302
    assert response["Location"] == "/"


@pytest.mark.parametrize(
    ("here", "lands"),
    [
        ("/settings/customers/{pk}/", "/settings/customers/"),
        ("/settings/customers/{pk}/edit", "/settings/customers/"),
        ("/settings/billing/customer-limits/{pk}/seats/", "/settings/billing/customer-limits/"),
        ("/activity/executions/42/", "/activity/executions/"),
        ("/settings/customers/?status=active&q=acme", "/settings/customers/"),
        ("/settings/billing/", "/settings/billing/"),
    ],
)
def test_switching_on_a_page_about_one_row_lands_on_its_section(
    owner_client, org, other_org, owner, here, lands
):
    from customers.services import membership_add
    from tests.factories import make_customer

    membership_add(organization=other_org, user=owner, role="owner")
    customer = make_customer(org, actor=owner)
    response = owner_client.post(
        "/organizations/switch/",
        {"organization": str(other_org.pk), "next": here.format(pk=customer.pk)},
    )
    assert response["Location"] == lands
    assert owner_client.get(response["Location"]).status_code == 200
