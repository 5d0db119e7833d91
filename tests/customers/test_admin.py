"""The Django admin for support staff."""

from __future__ import annotations

import pytest
from django.test import Client

from audit.models import AuditEntry
from customers.admin import CustomerAdmin, EstimatedCountPaginator
from customers.models import Customer
from tests.factories import UserFactory, make_connection, make_seat

pytestmark = pytest.mark.django_db


@pytest.fixture
def support(support_group):
    user = UserFactory(email="support@tenantry.test", is_staff=True)
    user.groups.add(support_group)
    client = Client()
    client.force_login(user)
    client.user = user
    return client


def test_the_support_group_can_view_everything_and_change_customers_only(support_group):
    group = support_group
    codenames = set(group.permissions.values_list("codename", flat=True))
    assert {"view_customer", "change_customer", "view_auditentry", "view_apitoken"} <= codenames
    assert not {c for c in codenames if c.startswith("delete_")}
    assert "change_auditentry" not in codenames
    assert "change_apitoken" not in codenames


@pytest.mark.parametrize(
    "path",
    [
        "/admin/",
        "/admin/customers/customer/",
        "/admin/customers/customeruser/",
        "/admin/customers/invitation/",
        "/admin/customers/connection/",
        "/admin/customers/organization/",
        "/admin/customers/membership/",
        "/admin/customers/apitoken/",
        "/admin/audit/auditentry/",
        "/admin/customers/customer/?q=acme",
        "/admin/customers/customer/?status__exact=active",
    ],
)
def test_admin_pages_load_for_support(support, customer, path):
    make_seat(customer)
    make_connection(customer)
    assert support.get(path).status_code == 200


def test_support_sees_every_organizations_customers(support, customer, foreign_customer):
    content = support.get("/admin/customers/customer/").content.decode()
    assert "John-Acme" in content
    assert "Theirs" in content


def test_change_pages_load_and_hide_secrets(support, customer, org, owner):
    from customers.services import api_token_create

    token, secret = api_token_create(organization=org, name="k", actor=owner)
    invitation = customer.admin_invitation
    for path in [
        f"/admin/customers/customer/{customer.pk}/change/",
        f"/admin/customers/invitation/{invitation.pk}/change/",
        f"/admin/customers/apitoken/{token.pk}/change/",
    ]:
        content = support.get(path).content.decode()
        assert invitation.token_hash not in content
        assert token.token_hash not in content
        assert secret not in content


def test_a_change_in_the_admin_goes_through_the_service_and_is_audited(support, customer, org):
    url = f"/admin/customers/customer/{customer.pk}/change/"
    form = support.get(url).context["adminform"].form
    data = {
        name: ("" if value is None else value)
        for name, value in ((n, form[n].value()) for n in form.fields)
        if not isinstance(value, bool) or value
    }
    data.update(
        {
            "phone_number": "+49 30 1234567",
            **{
                f"{inline}-{key}": value
                for inline in ("users", "invitations", "connections")
                for key, value in (
                    ("TOTAL_FORMS", "0"),
                    ("INITIAL_FORMS", "0"),
                    ("MIN_NUM_FORMS", "0"),
                    ("MAX_NUM_FORMS", "1000"),
                )
            },
        }
    )

    response = support.post(url, data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    customer.refresh_from_db()
    assert customer.phone_number == "+49 30 1234567"
    assert customer.version == 2
    entry = AuditEntry.objects.for_organization(org).get(action="customer.updated")
    assert entry.actor_user_id == support.user.pk
    assert entry.changes == {"phone_number": ["", "+49 30 1234567"]}


def test_admin_actions_ask_first_then_use_the_lifecycle_services(support, customer, org):
    chosen = {"action": "lifecycle_suspend", "_selected_action": [str(customer.pk)]}
    asked = support.post("/admin/customers/customer/", chosen)
    assert asked.status_code == 200
    page = asked.content.decode()
    assert "Suspend 1 customer?" in page
    assert "This affects <strong>1 customer</strong>" in page
    assert customer.name in page
    assert page.count("Suspend 1 customer?") == 2  # the <title> and one h1
    assert "cannot be suspended" not in page
    customer.refresh_from_db()
    assert customer.status != "suspended"  # nothing until "Yes"
    response = support.post(
        "/admin/customers/customer/", {**chosen, "confirmed": "yes"}, follow=True
    )
    assert response.status_code == 200
    customer.refresh_from_db()
    assert customer.status == "suspended"
    assert (
        AuditEntry.objects.for_organization(org).get(action="customer.suspended").actor_user_id
        == support.user.pk
    )


def test_customers_cannot_be_hard_deleted_in_the_admin(support, customer):
    assert support.post(f"/admin/customers/customer/{customer.pk}/delete/").status_code == 403
    assert Customer.objects.for_organization(customer.organization).filter(pk=customer.pk)


def test_a_membership_change_in_the_admin_is_audited(support, org, owner):
    from customers.models import Membership

    membership = Membership.objects.get(user=owner)
    support.user.is_superuser = True
    support.user.save()
    response = support.post(
        f"/admin/customers/membership/{membership.pk}/change/",
        {"user": str(owner.pk), "organization": str(org.pk), "role": "viewer"},
    )
    assert response.status_code == 302
    entry = AuditEntry.objects.for_organization(org).get(action="membership.updated_by_support")
    assert entry.changes == {"role": ["owner", "viewer"]}


def test_the_changelist_avoids_a_double_count():
    assert CustomerAdmin.show_full_result_count is False
    assert CustomerAdmin.paginator is EstimatedCountPaginator


def test_the_estimated_paginator_counts_for_real_when_filtered(customer, org):
    queryset = Customer.objects.unscoped().filter(name="John-Acme")
    assert EstimatedCountPaginator(queryset, 10).count == 1


@pytest.mark.parametrize(
    "query",
    [{"q": "a\x00b"}, {"status__exact": "\x00"}, {"q": "x " * 30_000}, {"plan_name": "\x00"}],
)
def test_nul_and_huge_searches_in_admin_lists_are_400_not_500(support, customer, query):
    response = support.get("/admin/customers/customer/", query)
    assert response.status_code == 400
    assert "“" in response.content.decode()  # the parameter is named


def test_long_but_sane_admin_searches_work(support, customer):
    assert support.get("/admin/customers/customer/", {"q": "acme " * 39}).status_code == 200


@pytest.mark.parametrize("selected", ["", "not-a-uuid", "1; DROP TABLE x"])
def test_an_action_posted_with_ids_that_are_not_ids_is_refused_not_a_500(
    support, customer, selected
):
    response = support.post(
        "/admin/customers/customer/",
        {"action": "lifecycle_suspend", "_selected_action": selected},
    )
    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.status != "suspended"


def test_support_sees_a_customers_invitations_and_connections_inline(support, customer):
    make_connection(customer, app="Slack", account_label="acme-workspace")
    content = support.get(f"/admin/customers/customer/{customer.pk}/change/").content.decode()
    assert "acme-workspace" in content
    invitation = customer.invitations.first()
    assert invitation.email in content
    assert invitation.token_hash not in content


def test_a_customers_page_has_its_lifecycle_steps_and_each_asks_first(support, customer, org):
    change = f"/admin/customers/customer/{customer.pk}/change/"
    page = support.get(change).content.decode()
    suspend = f"/admin/customers/customer/{customer.pk}/lifecycle/suspend/"
    assert f'href="{suspend}"' in page
    assert "/lifecycle/reactivate/" not in page  # not suspended: no such step
    asked = support.get(suspend)
    assert asked.status_code == 200
    assert "Suspend 1 customer?" in asked.content.decode()
    customer.refresh_from_db()
    assert customer.status != "suspended"
    done = support.post(suspend, {"confirmed": "yes"})
    assert done["Location"] == change
    customer.refresh_from_db()
    assert customer.status == "suspended"
    assert "/lifecycle/reactivate/" in support.get(change).content.decode()
    again = support.get(suspend).content.decode()  # said before it is refused
    assert "1 of them cannot be suspended in their status" in again
    assert (
        support.get(f"/admin/customers/customer/{customer.pk}/lifecycle/nope/").status_code == 404
    )
