"""Read auditing, opt-in per organization: opening a customer's page, and support staff opening
a record in the admin, write a "*.viewed" entry; the customer's page lists who viewed it."""

from __future__ import annotations

import pytest
from django.test import Client

from audit.models import AuditEntry
from tests.factories import UserFactory, make_customer, make_seat

pytestmark = pytest.mark.django_db


@pytest.fixture
def watched(org):
    org.audit_reads = True
    org.save()
    return org


def views(org, action="customer.viewed"):
    return AuditEntry.objects.for_organization(org).filter(action=action)


def test_nothing_is_recorded_while_it_is_off(org, owner, owner_client):
    customer = make_customer(org, actor=owner)
    page = owner_client.get(customer.get_absolute_url())
    assert page.status_code == 200
    assert not views(org).exists()
    assert "Viewed recently by" not in page.content.decode()


def test_opening_a_customer_is_recorded_and_listed(watched, owner, viewer, owner_client, client):
    customer = make_customer(watched, actor=owner)
    client.force_login(viewer)
    client.get(customer.get_absolute_url())
    page = owner_client.get(customer.get_absolute_url()).content.decode()

    entries = list(views(watched))
    assert {e.actor_label for e in entries} == {owner.email, viewer.email}
    assert {e.customer_id for e in entries} == {customer.pk}
    assert "Viewed recently by" in page
    assert viewer.email in page
    # Views are listed apart, not in the page's audit trail.
    assert "<code>customer.viewed</code>" not in page


def test_fragments_the_page_reloads_are_not_views(watched, owner, owner_client):
    customer = make_customer(watched, actor=owner)
    owner_client.get(customer.get_absolute_url(), HTTP_HX_REQUEST="true")
    assert not views(watched).exists()


def test_the_detail_page_stays_within_its_query_budget_with_reads_on(
    watched, owner, owner_client, django_assert_max_num_queries
):
    customer = make_customer(watched, actor=owner)
    owner_client.get(customer.get_absolute_url())
    with django_assert_max_num_queries(40):
        owner_client.get(customer.get_absolute_url())


def test_support_staff_opening_records_in_the_admin_is_recorded(watched, owner, support_group):
    customer = make_customer(watched, actor=owner)
    seat = make_seat(customer, role="user")
    support = UserFactory(email="support@tenantry.test", is_staff=True)
    support.groups.add(support_group)
    client = Client()
    client.force_login(support)
    assert client.get(f"/admin/customers/customer/{customer.pk}/change/").status_code == 200
    assert client.get(f"/admin/customers/customeruser/{seat.pk}/change/").status_code == 200

    opened = views(watched, "customer.viewed").get()
    assert opened.actor_label == support.email
    assert opened.message == "Opened in the support admin"
    assert views(watched, "customeruser.viewed").get().customer_id == customer.pk
    # Reading the trail itself is not a view of anything.
    entry = AuditEntry.objects.for_organization(watched).first()
    client.get(f"/admin/audit/auditentry/{entry.pk}/change/")
    assert not views(watched, "auditentry.viewed").exists()


def test_the_audit_export_is_always_recorded(org, owner_client):
    b"".join(owner_client.get("/settings/audit-log/export.csv").streaming_content)
    assert views(org, "audit_log.exported").exists()
