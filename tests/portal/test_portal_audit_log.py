"""/portal/audit-log/: a customer's admins read their own customer's history, with the Audit
Log's filters and CSV export; another customer's entries are never there (404 by id, absent
from lists), and the organization staff's addresses are hidden."""

from __future__ import annotations

import csv
import io

import pytest
from django.test import Client, RequestFactory

from audit.models import AuditEntry
from audit.trail.services import record
from customers.services import customer_update
from tests.factories import UserFactory, make_seat

pytestmark = pytest.mark.django_db
URL = "/portal/audit-log/"


def staff_request():
    return RequestFactory().get("/", REMOTE_ADDR="198.51.100.7", HTTP_USER_AGENT="staff-browser")


def test_the_admin_sees_the_organizations_actions_and_their_own(
    portal_admin, owner, other_customer_admin
):
    seat, client = portal_admin
    customer = seat.customer
    customer_update(
        customer=customer, actor=owner, changes={"billing_ref": "PO-42"}, expected_version=None
    )
    other = other_customer_admin[0].customer
    record(action="customer.updated", organization=customer.organization, resource=other)

    response = client.get(URL)
    assert response.status_code == 200
    page = response.content.decode()
    assert "customer.updated" in page
    assert "PO-42" in page
    assert "invite.accepted" in page  # their own action
    shown = response.context["page"].rows
    assert {entry.customer_id for entry in shown} == {customer.pk}
    assert all(entry.organization_id == customer.organization_id for entry in shown)


def test_staff_addresses_are_hidden_and_their_own_are_shown(portal_admin, owner):
    seat, client = portal_admin
    customer = seat.customer
    record(
        action="customer.updated",
        organization=customer.organization,
        actor=owner,
        resource=customer,
        request=staff_request(),
    )
    own = RequestFactory().get("/", REMOTE_ADDR="203.0.113.50")
    record(
        action="connection.revoked",
        organization=customer.organization,
        actor=seat.user,
        resource=customer,
        request=own,
    )
    page = client.get(URL).content.decode()
    assert "198.51.100.7" not in page
    assert "203.0.113.50" in page

    export = client.get(URL + "export.csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(export.streaming_content).decode())))
    addresses = {row["Action"]: row["IP address"] for row in rows}
    assert addresses["customer.updated"] == ""
    assert addresses["connection.revoked"] == "203.0.113.50"
    assert (
        "staff-browser" not in b"".join(client.get(URL + "export.csv").streaming_content).decode()
    )


def test_filters_and_export_keep_to_the_customer(portal_admin, owner, other_customer_admin):
    seat, client = portal_admin
    customer, other = seat.customer, other_customer_admin[0].customer
    for each in (customer, other):
        customer_update(
            customer=each, actor=owner, changes={"billing_ref": "PO"}, expected_version=None
        )
    response = client.get(URL, {"action": "customer.updated"})
    assert [e.customer_id for e in response.context["page"].rows] == [customer.pk]
    export = client.get(URL + "export.csv", {"action": "customer"})
    text = b"".join(export.streaming_content).decode()
    assert "customer.updated" in text
    assert str(other.pk) not in text
    exported = AuditEntry.objects.for_customer(customer).get(action="audit_log.exported")
    assert exported.actor_user_id == seat.user_id


def test_htmx_gets_just_the_results(portal_admin):
    _, client = portal_admin
    response = client.get(URL, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="results")
    body = response.content.decode()
    assert body.lstrip().startswith('<section id="results"')
    assert 'href="/portal/audit-log/export.csv' in body
    empty = client.get(
        URL, {"action": "no.such"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="results"
    ).content.decode()
    assert 'href="/portal/audit-log/">Clear the filters' in empty


def test_a_bad_filter_says_so_and_never_500s(portal_admin):
    _, client = portal_admin
    response = client.get(URL, {"date_after": "2026-13-40", "outcome": "exploded"})
    assert response.status_code == 200
    assert response.context["page"].rows == []


def test_only_the_customers_admins_may_read_it(portal_admin):
    seat, _ = portal_admin
    member = make_seat(seat.customer, role="engineer")
    client = Client()
    client.force_login(member.user)
    assert client.get(URL).status_code == 403
    assert client.get(URL + "export.csv").status_code == 403
    denied = AuditEntry.objects.for_customer(seat.customer).filter(action="permission.denied")
    assert {entry.actor_user_id for entry in denied} == {member.user_id}
    assert denied.count() == 2


def test_the_organizations_people_and_strangers_have_no_portal_audit_log(owner_client):
    assert owner_client.get(URL).status_code == 403  # no seat: the "not a customer" page
    stranger = Client()
    stranger.force_login(UserFactory())
    assert stranger.get(URL).status_code == 403


def test_an_entry_opens_in_full_and_another_customers_is_a_404(
    portal_admin, other_customer_admin, owner
):
    seat, client = portal_admin
    mine = record(
        action="customer.updated",
        organization=owner.memberships.first().organization,
        actor=owner,
        resource=seat.customer,
        changes={"billing_ref": ["", "PO-7"]},
        request=staff_request(),
    )
    page = client.get(f"{URL}{mine.pk}/")
    assert page.status_code == 200
    assert "PO-7" in page.content.decode()
    assert "198.51.100.7" not in page.content.decode()
    assert f'href="{URL}{mine.pk}/"' in client.get(URL).content.decode()

    other = other_customer_admin[0].customer
    theirs = record(action="customer.updated", organization=other.organization, resource=other)
    assert client.get(f"{URL}{theirs.pk}/").status_code == 404
    unrelated = record(action="plan_limit.changed", organization=other.organization)
    assert client.get(f"{URL}{unrelated.pk}/").status_code == 404  # the organization's own
    assert client.get(f"{URL}999999999/").status_code == 404


def test_another_organizations_entry_is_a_404(portal_admin, outsider, other_org):
    _, client = portal_admin
    entry = record(action="customer.updated", organization=other_org, actor=outsider)
    assert client.get(f"{URL}{entry.pk}/").status_code == 404


def test_the_organizations_reads_stay_out_of_the_customers_log(portal_admin, owner, owner_client):
    seat, client = portal_admin
    organization = seat.customer.organization
    organization.audit_reads = True
    organization.save()
    owner_client.get(seat.customer.get_absolute_url())
    viewed = AuditEntry.objects.for_customer(seat.customer).get(action="customer.viewed")
    assert "<code>customer.viewed</code>" not in client.get(URL).content.decode()
    assert client.get(f"{URL}{viewed.pk}/").status_code == 404
